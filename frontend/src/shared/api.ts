// The typed client both front ends use. Paths, parameters, bodies and answers come from the
// generated OpenAPI types (api-types.ts), so `get("/api/v1/cases/{case_id}", { path: { case_id } })`
// is a StaffCase without anyone writing that down. Errors arrive as RFC 7807 problems (ApiError).
import type { paths } from "./api-types";
import type { MediaAnswer, User } from "./types";
import { locale } from "./i18n";

export interface Problem {
  type: string;
  title: string;
  status: number;
  /** In the language the request asked for (Accept-Language, or the account's setting). */
  detail: string;
  /** The message code of the detail and its parameters, for a front end's own text. */
  code?: string;
  params?: Record<string, string>;
  field?: string;
  errors?: { field?: string; message?: string }[];
}

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly problem: Problem,
  ) {
    super(problem.detail || problem.title);
  }
}

const TOKEN_KEY = "cityloop.token";

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

let unauthorized: (() => void) | null = null;

/** Called on every 401 answer (the console signs out when its token has expired). */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

// ------------------------------------------------------------------ types from the OpenAPI paths

type Method = "get" | "post" | "put" | "patch" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The paths that answer this method. */
export type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends { responses: unknown } ? P : never;
}[keyof paths];

type Content<R> = R extends { content: infer C } ? C[keyof C] : null;
type Success<O> = O extends { responses: infer R }
  ? R extends { 200: infer A }
    ? Content<A>
    : R extends { 201: infer A }
      ? Content<A>
      : null
  : never;

/** What a successful call of this path and method answers. */
export type Answer<P extends keyof paths, M extends Method> = Success<Operation<P, M>>;

type PathPart<O> = O extends { parameters: { path: infer X } } ? { path: X } : { path?: undefined };
type QueryPart<O> = O extends { parameters: { query: infer X } }
  ? { query: X }
  : O extends { parameters: { query?: infer X } }
    ? { query?: X }
    : { query?: undefined };
type JsonPart<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? { json: B }
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? { json?: B }
    : { json?: undefined };

/** The options of one call: path and query parameters and a JSON body as the route declares
 * them, or a raw body (forms, uploads), plus an Idempotency-Key for intake routes. */
export type Options<O> = PathPart<O> &
  QueryPart<O> &
  JsonPart<O> & { body?: BodyInit; headers?: HeadersInit; idempotencyKey?: string; signal?: AbortSignal };

type Required<O> = O extends { parameters: { path: object } }
  ? true
  : O extends { parameters: { query: object } }
    ? true
    : O extends { requestBody: object }
      ? true
      : false;
type Args<O> = Required<O> extends true ? [options: Options<O>] : [options?: Options<O>];

// ------------------------------------------------------------------ the calls

type Query = Record<string, string | number | boolean | readonly (string | number)[] | null | undefined>;

/** `/api/v1/cases/{case_id}` with `{ case_id: 7 }` → `/api/v1/cases/7`, then `?a=1&b=x&b=y`. */
export function buildUrl(path: string, params?: Record<string, string | number>, query?: Query): string {
  let url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`${path}: no value for {${name}}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  if (text) url += `?${text}`;
  return url;
}

async function send(method: string, path: string, options: Record<string, unknown> = {}): Promise<unknown> {
  const url = buildUrl(
    path,
    options.path as Record<string, string | number> | undefined,
    options.query as Query | undefined,
  );
  const headers = new Headers(options.headers as HeadersInit | undefined);
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  // The server writes its lines (errors, timeline, questions) in the language the app shows.
  headers.set("Accept-Language", locale.value);
  if (options.idempotencyKey) headers.set("Idempotency-Key", String(options.idempotencyKey));
  let body = options.body as BodyInit | undefined;
  if (options.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(options.json);
  }
  const response = await fetch(url, {
    method: method.toUpperCase(),
    headers,
    body,
    signal: options.signal as AbortSignal | undefined,
  });
  const text = await response.text();
  const data: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401) unauthorized?.();
    const fallback = { type: "", title: response.statusText, status: response.status, detail: response.statusText };
    throw new ApiError(response.status, (data as Problem | null) ?? fallback);
  }
  return data;
}

export function get<P extends PathsWith<"get">>(path: P, ...[options]: Args<Operation<P, "get">>): Promise<Answer<P, "get">> {
  return send("get", path, options) as Promise<Answer<P, "get">>;
}

export function post<P extends PathsWith<"post">>(path: P, ...[options]: Args<Operation<P, "post">>): Promise<Answer<P, "post">> {
  return send("post", path, options) as Promise<Answer<P, "post">>;
}

export function put<P extends PathsWith<"put">>(path: P, ...[options]: Args<Operation<P, "put">>): Promise<Answer<P, "put">> {
  return send("put", path, options) as Promise<Answer<P, "put">>;
}

export function patch<P extends PathsWith<"patch">>(path: P, ...[options]: Args<Operation<P, "patch">>): Promise<Answer<P, "patch">> {
  return send("patch", path, options) as Promise<Answer<P, "patch">>;
}

export function del<P extends PathsWith<"delete">>(path: P, ...[options]: Args<Operation<P, "delete">>): Promise<Answer<P, "delete">> {
  return send("delete", path, options) as Promise<Answer<P, "delete">>;
}

// ------------------------------------------------------------------ sign-in and photos

export async function login(username: string, password: string, totpCode?: string): Promise<Answer<"/api/v1/auth/token", "post">> {
  const form = new URLSearchParams({ username, password });
  if (totpCode) form.set("totp_code", totpCode);
  const result = await post("/api/v1/auth/token", { body: form });
  setToken(result.access_token);
  return result;
}

export type { User };

export async function uploadPhoto(file: Blob, name = "photo.jpg"): Promise<MediaAnswer> {
  const form = new FormData();
  form.append("file", file, name);
  return await post("/api/v1/media", { body: form });
}

// ------------------------------------------------------------------ downloads

/** Fetch a file route with the sign-in and hand it to the browser as a download (an <a download>
 * of the bytes), under the name the server gives in Content-Disposition. */
export async function downloadFile(path: PathsWith<"get">, params?: Record<string, string | number>, query?: Query): Promise<void> {
  const headers = new Headers();
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  headers.set("Accept-Language", locale.value);
  const response = await fetch(buildUrl(path, params, query), { headers });
  if (!response.ok) {
    if (response.status === 401) unauthorized?.();
    const text = await response.text();
    const fallback = { type: "", title: response.statusText, status: response.status, detail: response.statusText };
    throw new ApiError(response.status, text ? (JSON.parse(text) as Problem) : fallback);
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "");
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = named?.[1] ?? "download";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Revoked on the next turn: the click has handed the bytes to the browser by then.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
