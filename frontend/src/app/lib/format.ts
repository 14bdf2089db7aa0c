// Dates, statuses and the public timeline in the reader's language.
//
// The server writes public timeline messages and notifications in English. In Chinese the app
// rebuilds each message from the event's action and the known message patterns (department
// names are looked up in the department list); anything it does not recognise is shown as sent.
import { departments } from "../stores/catalog";
import { locale, t } from "../i18n";
import type { PublicCase, TimelineEvent } from "../types";

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale.value, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "";
  const diff = new Date(iso).getTime() - now;
  const rtf = new Intl.RelativeTimeFormat(locale.value, { numeric: "auto" });
  const minutes = Math.round(diff / 60_000);
  if (Math.abs(minutes) < 60) return rtf.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return rtf.format(hours, "hour");
  return rtf.format(Math.round(hours / 24), "day");
}

export function statusLabel(status: string): string {
  return t(`status.${status}`);
}

function departmentZh(englishName: string): string {
  const found = departments.value.find((d) => d.name === englishName.trim());
  return found?.name_zh || englishName;
}

type Rule = [RegExp, (m: RegExpMatchArray) => string];

const ZH_RULES: Rule[] = [
  [/^Report received$/, () => "已收到您的上报"],
  [/^Another report of this problem was added to this case$/, () => "又有市民上报了同一问题，已并入本案卷"],
  [/^Case (\d+) was merged into this case$/, (m) => `案卷 ${m[1]} 已并入本案卷`],
  [/^Registered as a case/, () => "已立案"],
  [/^Not accepted: ([\s\S]*)$/, (m) => `不予立案：${m[1]}`],
  [/^Merged into case (\d+)/, (m) => `已并入案卷 ${m[1]}，请关注该案卷的进展`],
  [/^Assigned to (.+)$/, (m) => `已派遣至${departmentZh(m[1])}`],
  [/^Handed over to (.+)$/, (m) => `已移交至${departmentZh(m[1])}`],
  [/^Work has started$/, () => "已开始处置"],
  [/^The department reports the work done/, () => "处置部门已反馈处理完毕，监督中心将进行核查"],
  [/^Closed: fixed$/, () => "已结案：问题已解决"],
  [/^Closed: referred to ([\s\S]*)$/, (m) => `已结案：已移交${m[1]}处理`],
  [/^Closed: not actionable\.\s*([\s\S]*)$/, (m) => `已结案：无法处置。${m[1]}`],
  [/^Closed: duplicate of case (\d+)$/, (m) => `已结案：与案卷 ${m[1]} 重复`],
  [/^Sent back to the department for rework/, () => "已退回处置部门返工"],
  [/^The close was reviewed and upheld: ([\s\S]*)$/, (m) => `经复核，维持结案：${m[1]}`],
  [/^A resident says this is still not fixed/, () => "有市民反映问题仍未解决，监督中心将复核"],
  [/^Case (\d+) was escalated \(([^)]*)\)$/, (m) => `案卷 ${m[1]} 已升级处理（${m[2]}）`],
  [/^Case (\d+) has had no public update for too long$/, (m) => `案卷 ${m[1]} 长时间没有公开进展，已提醒相关部门`],
];

/** A server message in the current language. */
export function localiseMessage(message: string): string {
  if (locale.value !== "zh-CN") return message;
  const trimmed = message.trim();
  // Notifications are "Case 12: <timeline message>[. <public note>]".
  const prefixed = /^Case (\d+): ([\s\S]*)$/.exec(trimmed);
  if (prefixed) return `案卷 ${prefixed[1]}：${localiseMessage(prefixed[2])}`;
  for (const [pattern, build] of ZH_RULES) {
    const m = trimmed.match(pattern);
    if (m) return build(m);
  }
  return message;
}

/** The headline of one public timeline entry. */
export function eventTitle(event: TimelineEvent): string {
  if (event.message) return localiseMessage(event.message);
  return t(`action.${event.action}`);
}

/** The public outcome of a finished case, or null while it is open. */
export function outcomeText(c: PublicCase): string | null {
  if (c.status === "closed") {
    switch (c.resolution) {
      case "fixed":
        return t("outcome.fixed");
      case "referred":
        return t("outcome.referred", { to: c.referred_to ?? "" });
      case "not_actionable":
        return t("outcome.not_actionable", { reason: c.resolution_note ?? "" });
      case "duplicate":
        return t("outcome.duplicate", { id: c.duplicate_of ?? "" });
      default:
        return t("status.closed");
    }
  }
  if (c.status === "rejected") {
    const reject = [...c.timeline].reverse().find((e) => e.action === "reject");
    return t("outcome.rejected", { reason: reject?.note ?? "" });
  }
  if (c.status === "merged") return t("outcome.merged", { id: c.merged_into ?? "" });
  return null;
}

export function areaLine(c: PublicCase, pick: (n: { name: string; name_zh?: string } | null | undefined) => string): string {
  return [c.district, c.street, c.grid].filter(Boolean).map((a) => pick(a)).join(" · ");
}

export function mediaThumb(id: string): string {
  return `/api/v1/media/${encodeURIComponent(id)}/thumbnail`;
}

export function mediaUrl(id: string): string {
  return `/api/v1/media/${encodeURIComponent(id)}`;
}
