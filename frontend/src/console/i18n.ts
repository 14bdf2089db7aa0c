// The console's translator: one vue-i18n instance over the console's messages and the kit's.
import { createAppI18n } from "../shared/i18n";
import { messages } from "./messages";

export const { i18n, t, pick, locale, setLocale } = createAppI18n(messages);

// A category/department/area name in the current language, with a code fallback.
export function nameOf(item: { name: string; name_zh?: string; code?: string } | null | undefined): string {
  if (!item) return "—";
  return pick(item) || item.code || "—";
}

// A person's name in the current language: the Chinese display name for Chinese readers when
// the account has one, else the display name, else the username.
export function personName(
  user: { display_name?: string | null; display_name_zh?: string | null; username?: string } | null | undefined,
): string {
  if (!user) return "";
  if (locale.value === "zh-CN" && user.display_name_zh) return user.display_name_zh;
  return user.display_name || user.username || "";
}
