// The citizen app's own wording of a case: the public outcome, the area line, and notification
// texts in Chinese. Dates, durations, distances and status lines come from the kit
// (shared/format.ts).
//
// Notifications are written by the server in English. In Chinese the app rebuilds each one from
// the known message patterns (department names are looked up in the department list); anything
// it does not recognise is shown as sent. Timeline rows need none of this: they carry message_zh.
import { departments } from "../stores/catalog";
import { locale, t } from "../i18n";
import type { PublicCase } from "../types";

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

/** A notification in the current language: the server's own Chinese line when it sent one (a
 * line with a message code), else the English line translated by pattern. */
export function notificationText(n: { message: string; message_zh?: string | null }): string {
  if (locale.value === "zh-CN" && n.message_zh) return n.message_zh;
  return localiseMessage(n.message);
}

/** A notification's text in the current language. */
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

/** The public outcome of a finished case, or null while it is open. */
export function outcomeText(c: PublicCase): string | null {
  if (c.status === "closed") {
    if (!c.resolution) return t("status.closed");
    return t(`outcome.${c.resolution}`, {
      to: c.referred_to ?? "",
      reason: c.resolution_note ?? "",
      id: c.duplicate_of ?? "",
    });
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
