// The console's side of data sharing (一网共享): the API's shapes for grants, shared datasets and
// lookups; a row filter typed in the approval form read back into JSON; a refusal in the
// reader's language (the server sends both).
import { ApiError } from "../shared/api";
import type { components } from "../shared/api-types";
import { locale } from "./i18n";
import { problemText } from "./stores/session";

type Schemas = components["schemas"];
export type Grant = Schemas["GrantOut"];
export type GrantEvent = Schemas["GrantEventOut"];
export type FieldChoice = Schemas["FieldChoice"];
export type SharedDataset = Schemas["SharedDatasetOut"];
export type Lookup = Schemas["LookupOut"];

/** Every status a grant takes (sharing/workflow.py's Status). */
export const GRANT_STATUSES = ["requested", "approved", "refused", "revoked", "expired"] as const;

/** One line of the approval form's row filter: a field and its allowed values, comma-separated. */
export interface FilterLine {
  field: string;
  values: string;
}

function typed(text: string, type: string): string | number | boolean {
  if (type === "integer" || type === "number") {
    const n = Number(text);
    return Number.isFinite(n) && text !== "" ? n : text; // the server names a bad value
  }
  if (type === "boolean") return text === "true" ? true : text === "false" ? false : text;
  return text;
}

/** The filter lines as the API's row_filter: one value as itself, several as a list. */
export function rowFilter(lines: FilterLine[], choices: FieldChoice[]): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  for (const line of lines) {
    if (!line.field) continue;
    const type = choices.find((c) => c.name === line.field)?.type ?? "string";
    const values = line.values.split(",").map((v) => v.trim()).filter(Boolean).map((v) => typed(v, type));
    filter[line.field] = values.length === 1 ? values[0] : values;
  }
  return filter;
}

/** A row filter as one line of text: `district = RV01; goods = fruit, flowers`. */
export function filterText(filter: Record<string, unknown>): string {
  return Object.entries(filter)
    .map(([field, value]) => `${field} = ${Array.isArray(value) ? value.join(", ") : String(value)}`)
    .join("; ");
}

/** A date picked in the form (YYYY-MM-DD) as the end of that day, local time, in ISO 8601. */
export function endOfDay(day: string): string {
  return new Date(`${day}T23:59:59`).toISOString();
}

/** The day a year from today, for the expiry field's default (YYYY-MM-DD). */
export function aYearAhead(now = new Date()): string {
  const next = new Date(now);
  next.setFullYear(next.getFullYear() + 1);
  return next.toISOString().slice(0, 10);
}

/** A problem in the reader's language: sharing's refusals carry a Chinese detail too. */
export function sharingProblem(error: unknown): string {
  if (error instanceof ApiError && locale.value.startsWith("zh")) {
    const chinese = (error.problem as { detail_zh?: string }).detail_zh;
    if (chinese) return chinese;
  }
  return problemText(error);
}
