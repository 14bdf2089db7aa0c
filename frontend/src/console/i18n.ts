// The console's translator: the shared tiny i18n over the console's own messages.
import { useI18n } from "../shared/i18n";
import { messages } from "./messages";

export const { t, pick, locale, setLocale } = useI18n(messages);

// A category/department/area name in the current language, with a code fallback.
export function nameOf(item: { name: string; name_zh?: string; code?: string } | null | undefined): string {
  if (!item) return "—";
  return pick(item) || item.code || "—";
}
