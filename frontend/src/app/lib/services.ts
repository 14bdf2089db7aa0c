// The services screens' shared pieces: the API's shapes under their generated names, and the
// small formatters every screen of the service hall, an application and the wallet uses.
import { ApiError } from "../../shared/api";
import type { Schemas } from "../../shared/types";
import { locale, t } from "../i18n";

export type ServiceSummary = Schemas["ServiceSummary"];
export type ServiceGuide = Schemas["ServiceGuide"];
export type MaterialRule = Schemas["MaterialRule"];
export type Application = Schemas["Application"];
export type PrefillGap = Schemas["PrefillGap"];
export type ApplicationSummary = Schemas["ApplicationSummary"];
export type ApplicationStep = Schemas["Step"];
export type ApplicationRow = Schemas["ApplicationTimelineRow"];
export type UploadedMaterial = Schemas["Material"];
export type Licence = Schemas["Licence"];
export type ClaimLabel = Schemas["ClaimLabel"];
export type Presentation = Schemas["Presentation"];
export type Verdict = Schemas["VerdictOut"];
export type DataAccessPage = Schemas["DataAccessPage"];
export type DataAccess = Schemas["DataAccessOut"];
export type MyIdentity = Schemas["MyIdentity"];
export type MyEnterprise = Schemas["MyEnterprise"];

/** A text the server sends in both languages (name / name_zh, description / description_zh…),
 * in the reader's language. */
export function both(english: string | null | undefined, chinese: string | null | undefined): string {
  if (locale.value === "zh-CN" && chinese) return chinese;
  return english || chinese || "";
}

/** 0 → "Free" / "免费"; 12345 → "¥123.45". */
export function money(cents: number): string {
  if (!cents) return t("svc.free");
  return new Intl.NumberFormat(locale.value, { style: "currency", currency: "CNY" }).format(cents / 100);
}

/** 5242880 → "5 MB". */
export function bytes(size: number): string {
  const mb = size / (1024 * 1024);
  if (mb >= 1) return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  return `${Math.max(1, Math.round(size / 1024))} KB`;
}

const MIME: Record<string, string> = {
  pdf: "application/pdf",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
};

/** A file input's accept list for a material's types ("pdf", "jpeg"…). */
export function acceptOf(types: readonly string[]): string {
  return types.map((type) => MIME[type] ?? "").filter(Boolean).join(",");
}

/** "PDF, JPEG". */
export function typesOf(types: readonly string[]): string {
  return types.map((type) => type.toUpperCase()).join(", ");
}

/** An application's status in the reader's language. */
export function statusName(status: string): string {
  return t(`appStatus.${status}`);
}

/** Where the badge sits among the kit's phase colours. */
export function statusPhase(status: string): "intake" | "work" | "done" | "ended" {
  if (status === "draft" || status === "submitted") return "intake";
  if (status === "under_review" || status === "supplement_requested") return "work";
  if (status === "approved" || status === "issued") return "done";
  return "ended";
}

/** A timeline row's line in the reader's language (the server writes both). */
export function rowLine(row: ApplicationRow): string {
  return both(row.message, row.message_zh) || t(`appAction.${row.action}`);
}

/** What a problem answer means for the reader: a text of ours for the problems we know, the
 * server's own words otherwise (they name the field and the limit). */
export function problemText(error: unknown): string {
  if (!(error instanceof ApiError)) return t("svc.offline");
  const kind = error.problem.type?.split("/").pop() ?? "";
  const known: Record<string, string> = {
    "document-too-large": "problem.tooLarge",
    "media-too-large": "problem.tooLarge",
    "document-type-not-accepted": "problem.typeNotAccepted",
    "document-truncated": "problem.truncated",
    "document-encrypted": "problem.encrypted",
    "document-active-content": "problem.activeContent",
    "media-not-an-image": "problem.typeNotAccepted",
    "media-unsupported-format": "problem.typeNotAccepted",
    "media-truncated": "problem.unreadable",
    "media-empty": "problem.unreadable",
    "media-corrupt": "problem.unreadable",
    "real-name-level": "problem.realNameLevel",
    "consent-required": "problem.consent",
    "application-action-not-allowed": "problem.notNow",
    "illegal-transition": "problem.notNow",
    "already-rated": "problem.alreadyRated",
    "service-closed": "problem.serviceClosed",
  };
  const key = known[kind];
  return key ? `${t(key)} (${error.message})` : error.message;
}
