// A small typed client for the CityLoop API. Errors arrive as RFC 7807 problems.

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
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

export async function api<T>(
  path: string,
  init: RequestInit & { json?: unknown; idempotencyKey?: string } = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (init.idempotencyKey) headers.set("Idempotency-Key", init.idempotencyKey);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  const response = await fetch(path, { ...init, headers, body });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, data ?? { type: "", title: response.statusText, status: response.status, detail: response.statusText });
  }
  return data as T;
}

export async function login(username: string, password: string): Promise<{ access_token: string; user: User }> {
  const form = new URLSearchParams({ username, password });
  const result = await api<{ access_token: string; user: User }>("/api/v1/auth/token", {
    method: "POST",
    body: form,
  });
  setToken(result.access_token);
  return result;
}

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: string;
  department_code: string | null;
}

export async function uploadPhoto(file: Blob, name = "photo.jpg"): Promise<{ id: string; url: string; thumbnail_url: string; location_hint?: { lat: number; lon: number } }> {
  const form = new FormData();
  form.append("file", file, name);
  return api("/api/v1/media", { method: "POST", body: form });
}
