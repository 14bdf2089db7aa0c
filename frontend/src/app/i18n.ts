// The citizen app's i18n: the shared tiny reactive i18n with this app's messages.
import { locale, setLocale, useI18n as sharedI18n } from "../shared/i18n";
import { messages } from "./messages";

const i18n = sharedI18n(messages);

export const t = i18n.t;
export const pick = i18n.pick;
export { locale, setLocale };

export function useI18n() {
  return i18n;
}

/** A category attribute's question or value name: the server's English, or its Chinese here. */
export function attributeText(category: string, key: string, fallback: string): string {
  if (locale.value !== "zh-CN") return fallback;
  return messages["zh-CN"][`attr.${category}.${key}`] ?? fallback;
}
