// The citizen app's translator: one vue-i18n instance over the app's messages and the kit's
// (the licence check at /app/verify/ uses it too).
import { createAppI18n } from "../shared/i18n";
import type { CategoryAttribute } from "../shared/types";
import { messages } from "./messages";

export const { i18n, t, pick, locale, setLocale } = createAppI18n(messages);

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
