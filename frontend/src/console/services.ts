// The console's side of one-stop services (一网通办): the API's shapes for applications, the
// catalogue and the counter, what a staff member may do to an application, the form read back
// from its schema in the reader's language, and a material's bytes for the review screen.
import type { components } from "../shared/api-types";
import { getToken, type User } from "../shared/api";
import { locale } from "./i18n";

type Schemas = components["schemas"];
export type QueueItem = Schemas["QueueItem"];
export type StaffApplication = Schemas["StaffApplication"];
export type ApplicationStep = Schemas["Step"];
export type ApplicationMaterial = Schemas["Material"];
export type StaffApplicationRow = Schemas["ApplicationStaffTimelineRow"];
export type ServiceSummary = Schemas["ServiceSummary"];
export type ServiceGuide = Schemas["ServiceGuide"];
export type ServiceVersionInfo = Schemas["ServiceVersionInfo"];
export type ServiceDefinitionText = Schemas["ServiceDefinitionText"];
export type CitizenRow = Schemas["CitizenRow"];
export type CounterCitizen = Schemas["CounterCitizen"];

/** Every status an application takes (services/workflow.py's Status). */
export const APPLICATION_STATUSES = [
  "draft",
  "submitted",
  "under_review",
  "supplement_requested",
  "approved",
  "issued",
  "denied",
  "not_accepted",
  "withdrawn",
] as const;

/** The step decisions, each POSTed to …/steps/{id}/{decision}. */
export type StepDecision = "approve" | "deny" | "request_supplement";

// The server's role sets (services/workflow.py), repeated only to decide which buttons to show:
// the server still checks every action and its refusal is shown as it comes.
const DEPARTMENT_ROLES = new Set(["handler", "worker", "admin"]);
const SUPERVISING_ROLES = new Set(["supervisor", "admin"]);
const FEE_ROLES = new Set(["handler", "worker", "hotline", "admin"]);
const FEE_STATUSES = new Set(["submitted", "under_review", "supplement_requested", "approved"]);

export interface StaffActions {
  accept: boolean; // accept and not-accept (受理 / 不予受理)
  decide: Set<number>; // step ids this user decides
  allowSupplement: Set<number>; // step ids a supervisor may give one more supplement request
  fee: boolean;
  revoke: boolean;
  any: boolean;
}

function ownsDepartment(user: User, department: string): boolean {
  return DEPARTMENT_ROLES.has(user.role) && (user.role === "admin" || user.department_code === department);
}

/** What this staff member may do to the application now. */
export function staffActions(application: StaffApplication, user: User | null): StaffActions {
  const none: StaffActions = { accept: false, decide: new Set(), allowSupplement: new Set(), fee: false, revoke: false, any: false };
  if (!user) return none;
  const reviewing = application.status === "under_review";
  const active = application.steps.filter((s) => s.status === "active");
  const found: StaffActions = {
    accept: application.status === "submitted" && ownsDepartment(user, application.department.code),
    decide: new Set(reviewing ? active.filter((s) => ownsDepartment(user, s.department.code)).map((s) => s.id) : []),
    allowSupplement: new Set(reviewing && SUPERVISING_ROLES.has(user.role) ? active.map((s) => s.id) : []),
    fee: FEE_ROLES.has(user.role) && application.fee_cents > 0 && !application.fee_paid_at && FEE_STATUSES.has(application.status),
    // A revoked licence leaves the application issued; its timeline tells it was revoked.
    revoke:
      application.status === "issued" &&
      Boolean(application.licence_id) &&
      !application.staff_timeline.some((r) => r.action === "revoke_licence") &&
      ownsDepartment(user, application.department.code),
    any: false,
  };
  found.any = found.accept || found.decide.size > 0 || found.allowSupplement.size > 0 || found.fee || found.revoke;
  return found;
}

// ------------------------------------------------------------------ the form, read back

type JsonSchema = Record<string, unknown>;

export interface FormLine {
  key: string;
  label: string;
  value: string;
  children?: FormLine[];
}

function titled(node: JsonSchema | undefined, fallback: string): string {
  if (!node) return fallback;
  const zh = node["x-title-zh"];
  if (locale.value === "zh-CN" && typeof zh === "string" && zh) return zh;
  return typeof node.title === "string" && node.title ? node.title : fallback;
}

/** A value in words: a choice's title rather than its code, yes/no, lists joined. */
function valueText(node: JsonSchema | undefined, value: unknown, yes: string, no: string): string {
  if (value === null || value === undefined || value === "") return "—";
  const choices = (node?.oneOf ?? node?.anyOf) as JsonSchema[] | undefined;
  if (Array.isArray(choices)) {
    const choice = choices.find((c) => c && c.const === value);
    if (choice) return titled(choice, String(value));
  }
  if (typeof value === "boolean") return value ? yes : no;
  if (Array.isArray(value)) {
    const items = node?.items as JsonSchema | undefined;
    return value.map((v) => valueText(items, v, yes, no)).join(", ") || "—";
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The fields a JSON Forms UI schema lays out, in its order ("#/properties/<field>" scopes). */
function laidOut(ui: unknown, found: string[] = []): string[] {
  if (!ui || typeof ui !== "object") return found;
  const node = ui as { scope?: unknown; elements?: unknown };
  const match = typeof node.scope === "string" ? /^#\/properties\/([^/]+)$/.exec(node.scope) : null;
  if (match?.[1]) found.push(match[1]);
  if (Array.isArray(node.elements)) for (const element of node.elements) laidOut(element, found);
  return found;
}

/** The form's answers in the order the applicant saw them (the UI schema's, then the schema's),
 * labelled by the schema's titles in the reader's language; answers the schema does not name
 * come last under their own keys. */
export function formLines(
  schema: JsonSchema | null | undefined,
  form: Record<string, unknown>,
  yes: string,
  no: string,
  ui: unknown = null,
): FormLine[] {
  const properties = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  const keys = [...new Set([...laidOut(ui).filter((k) => k in properties), ...Object.keys(properties), ...Object.keys(form)])];
  return keys.map((key) => {
    const node = properties[key];
    const value = form[key];
    const nested = node?.type === "object" && value && typeof value === "object" && !Array.isArray(value);
    return {
      key,
      label: titled(node, key),
      value: nested ? "" : valueText(node, value, yes, no),
      children: nested ? formLines(node, value as Record<string, unknown>, yes, no) : undefined,
    };
  });
}

// ------------------------------------------------------------------ materials

/** A material's bytes as an object URL: the route needs the bearer token, which an <iframe> or
 * <img> cannot send. The caller revokes the URL when it is done. */
export async function materialUrl(applicationId: number, materialId: number): Promise<string> {
  const headers = new Headers();
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(`/api/v1/staff/applications/${applicationId}/materials/${materialId}`, { headers });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const blob = await response.blob();
  // Only a PDF or an image is shown in place; anything else the browser would only download.
  const shown = blob.type === "application/pdf" || /^image\/(jpeg|png|webp)$/.test(blob.type);
  return URL.createObjectURL(shown ? blob : new Blob([blob], { type: "application/octet-stream" }));
}

/** "¥1,234.00". */
export function money(cents: number): string {
  return new Intl.NumberFormat(locale.value, { style: "currency", currency: "CNY" }).format(cents / 100);
}
