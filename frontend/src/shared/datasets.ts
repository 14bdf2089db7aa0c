// The data catalogue's answers under their generated names, and what both front ends read out of
// a dataset's free-form parts (its Table Schema and its quality report). No texts here: each app
// words them in its own catalogue.
import type { Schemas } from "./types";

export type DatasetSummary = Schemas["DatasetSummary"];
export type Dataset = Schemas["DatasetOut"];
export type DatasetPage = Schemas["DatasetPage"];
export type DistributionOut = Schemas["DistributionOut"];
export type PreviewOut = Schemas["PreviewOut"];
export type UploadOut = Schemas["UploadOut"];
export type CatalogueVocabularies = Schemas["Vocabularies"];

/** A column of a Table Schema, as the server keeps it. */
export interface SchemaField {
  name: string;
  type: string;
  title?: string;
  description?: string;
  constraints?: { required?: boolean };
}

/** One cell problem of an upload's report (the row counts the header as row 1). */
export interface RowError {
  row: number | null;
  field: string | null;
  code: string;
  message: string;
}

/** The quality report the catalogue keeps per dataset (quality.py); every part may be missing. */
export interface Quality {
  completeness: number | null;
  fieldCompleteness: Record<string, number | null>;
  schemaErrors: number;
  stale: boolean;
  ageSeconds: number | null;
  maxAgeSeconds: number | null;
  blankedValues: number;
  checkedAt: string | null;
}

export function schemaFields(dataset: Pick<Dataset, "table_schema">): SchemaField[] {
  const fields = (dataset.table_schema as { fields?: unknown }).fields;
  return Array.isArray(fields) ? (fields as SchemaField[]).filter((f) => f && typeof f.name === "string") : [];
}

function numberOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

export function qualityOf(dataset: Pick<Dataset, "quality" | "stale">): Quality {
  const q = dataset.quality as Record<string, unknown>;
  const errors = q.schema_errors;
  return {
    completeness: numberOr(q.completeness, null),
    fieldCompleteness: (q.field_completeness && typeof q.field_completeness === "object"
      ? q.field_completeness
      : {}) as Record<string, number | null>,
    // The report keeps either a count or the list of problems found.
    schemaErrors: Array.isArray(errors) ? errors.length : numberOr(errors, 0),
    stale: dataset.stale,
    ageSeconds: numberOr(q.age_seconds, null),
    maxAgeSeconds: numberOr(q.max_age_seconds, null),
    blankedValues: numberOr(q.blanked_values, 0),
    checkedAt: typeof q.checked_at === "string" ? q.checked_at : null,
  };
}

export function rowErrors(upload: Pick<UploadOut, "errors">): RowError[] {
  return upload.errors.map((e) => ({
    row: typeof e.row === "number" ? e.row : null,
    field: typeof e.field === "string" ? e.field : null,
    code: String(e.code ?? ""),
    message: String(e.message ?? ""),
  }));
}

/** A distribution's download link on this site. The server writes absolute links with the city's
 * public address; the apps are served by that same server, so the path alone always reaches it
 * (also behind a proxy or on a test port). */
export function downloadHref(url: string): string {
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

/** The columns of a preview, DataStore style ({id, type}), without the row number it adds. */
export function previewColumns(preview: PreviewOut | null): string[] {
  return (preview?.fields ?? []).map((f) => String(f.id ?? f.name ?? "")).filter((c) => c && c !== "_id");
}

/** A cell of a preview row as text. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** "title"/"title_zh" in the reader's language. */
export function titleOf(d: Pick<DatasetSummary, "title" | "title_zh">, locale: string): string {
  return locale === "zh-CN" && d.title_zh ? d.title_zh : d.title;
}

export function descriptionOf(d: Pick<DatasetSummary, "description" | "description_zh">, locale: string): string {
  return locale === "zh-CN" && d.description_zh ? d.description_zh : d.description;
}

/** When the rows were last refreshed (or the entry changed, for a dataset never built). */
export function updatedAt(d: Pick<DatasetSummary, "refreshed_at" | "modified_at">): string {
  return d.refreshed_at || d.modified_at;
}
