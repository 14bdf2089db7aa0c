// The console's translator: one vue-i18n instance over the console's messages and the kit's.
import { createAppI18n } from "../shared/i18n";
import { messages } from "./messages";

export const { i18n, t, pick, locale, setLocale } = createAppI18n(messages);

// A category/department/area name in the current language, with a code fallback.
export function nameOf(item: { name: string; name_zh?: string; code?: string } | null | undefined): string {
  if (!item) return "—";
  return pick(item) || item.code || "—";
}
