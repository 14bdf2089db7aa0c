// The city's configuration screens (admins): the API's shapes for departments, categories,
// routing rules, "test a point" and version histories, and the version-aware error text.
import type { components } from "../shared/api-types";
import { ApiError } from "../shared/api";
import { t } from "./i18n";
import { problemText } from "./stores/session";

type S = components["schemas"];
export type AdminCategory = S["AdminCategory"];
export type AdminDepartment = S["AdminDepartment"];
export type RoutingRule = S["RoutingRuleOut"];
export type PointTest = S["PointTestOut"];
export type ConfigVersion = S["ConfigVersionOut"];
export type CalendarDay = S["CalendarDayOut"];
export type CategoryInput = S["CategoryCreate"];
export type AttributeInput = S["AttributeIn"];

/** The problem as a person reads it; a stale edit says who won and that a reload is needed. */
export function configError(error: unknown): string {
  if (error instanceof ApiError && error.problem.type.endsWith("/stale-version")) {
    const current = (error.problem as unknown as { current_version?: number }).current_version;
    return t("config.stale", { n: current ?? "?" });
  }
  return problemText(error);
}

/** The field a problem names (a 4xx naming `sla[0].response_minutes`, `default_department` …). */
export function problemFieldOf(error: unknown): string {
  return error instanceof ApiError ? (error.problem.field ?? "") : "";
}
