// Tiny reactive i18n: zh-CN and en, picked from the browser language, switchable, remembered.
// Every translator reads its app's catalogue first, then the kit's (shared/messages.ts).
import { computed, ref } from "vue";
import { kitMessages } from "./messages";

export type Locale = "zh-CN" | "en";
export type Messages = Record<Locale, Record<string, string>>;

const STORAGE_KEY = "cityloop.locale";

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "zh-CN" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export const locale = ref<Locale>(initialLocale());

export function setLocale(value: Locale): void {
  locale.value = value;
  localStorage.setItem(STORAGE_KEY, value);
  document.documentElement.lang = value;
}

const NONE: Messages = { en: {}, "zh-CN": {} };

export function useI18n(messages: Messages = NONE) {
  const t = (key: string, params: Record<string, string | number> = {}): string => {
    const here = locale.value;
    const template =
      messages[here][key] ?? kitMessages[here][key] ?? messages.en[key] ?? kitMessages.en[key] ?? key;
    return template.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
  };
  // Pick the Chinese or English field of an API object (name / name_zh).
  const pick = (item: { name: string; name_zh?: string } | null | undefined): string =>
    item ? (locale.value === "zh-CN" && item.name_zh ? item.name_zh : item.name) : "";
  return { t, pick, locale: computed(() => locale.value), setLocale };
}

// The kit's own translator, for the shared components.
export const { t, pick } = useI18n();
