// The citizen app's i18n: the shared tiny reactive i18n with this app's messages.
import { locale, setLocale, useI18n as sharedI18n } from "../shared/i18n";
import type { CategoryAttribute } from "../shared/types";
import { messages } from "./messages";

const i18n = sharedI18n(messages);

export const t = i18n.t;
export const pick = i18n.pick;
export { locale, setLocale };

export function useI18n() {
  return i18n;
}

/** A category attribute's question in the reader's language (English where the city's data
 * has no Chinese text). */
export function attributeQuestion(a: CategoryAttribute): string {
  return locale.value === "zh-CN" && a.description_zh ? a.description_zh : a.description;
}

/** The name of one of an attribute's answers in the reader's language. */
export function attributeValueName(a: CategoryAttribute, key: string, fallback: string): string {
  if (locale.value !== "zh-CN") return fallback;
  return a.values_zh?.find(([k]) => k === key)?.[1] || fallback;
}
