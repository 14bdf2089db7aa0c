// The front ends' i18n on vue-i18n: zh-CN and en, picked from the browser language, switchable,
// remembered in localStorage and told to <html lang>. Each app makes one vue-i18n instance
// (createAppI18n) over its own catalogue merged with the kit's (shared/messages.ts); the kit's
// components translate through the instance of the app they run in.
//
// Messages are vue-i18n's format: named parameters `{name}`, plural forms `none | one | {n} many`
// chosen by t(key, n), t(key, { n }) or t(key, { count }) (a number), linked messages `@:key`;
// a literal @ | { } is written {'@'} {'|'} {'{'} {'}'} (frontend/scripts/check-messages.mjs
// compiles every message). vue-i18n compiles them at run time into an AST it interprets (no eval),
// so the strict Content-Security-Policy holds.
import { ref, watch } from "vue";
import { createI18n, type I18n } from "vue-i18n";
import { kitMessages } from "./messages";

export type Locale = "zh-CN" | "en";
export type Messages = Record<Locale, Record<string, string>>;
type Params = Record<string, unknown>;

/** t(key), t(key, { name }), and for plurals t(key, n), t(key, { n }) or t(key, { name }, n). */
export interface Translate {
  (key: string, params?: Params): string;
  (key: string, params: Params, plural: number): string;
  (key: string, plural: number, params?: Params): string;
}

const STORAGE_KEY = "cityloop.locale";

function initialLocale(): Locale {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "zh-CN" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

// The one locale of the page; every vue-i18n instance follows it.
export const locale = ref<Locale>(initialLocale());

export function setLocale(value: Locale): void {
  locale.value = value;
  localStorage.setItem(STORAGE_KEY, value);
  document.documentElement.lang = value;
}

type AppI18n = I18n<Messages, Record<string, never>, Record<string, never>, Locale, false>;

function makeI18n(messages: Messages): AppI18n {
  const i18n = createI18n({
    legacy: false,
    locale: locale.value,
    fallbackLocale: "en",
    messages,
    // The catalogues are flat ("case.title": "…"): a key is looked up whole, not as a path.
    messageResolver: (catalogue: unknown, key: string) => (catalogue as Record<string, string>)[key] ?? null,
  }) as AppI18n;
  // Synchronously, so a t() right after setLocale already speaks the new language.
  watch(locale, (value) => (i18n.global.locale.value = value), { flush: "sync" });
  return i18n;
}

// vue-i18n's t, seen through the few overloads the components use.
function translate(i18n: AppI18n, key: string, args: unknown[]): string {
  return (i18n.global.t as unknown as (key: string, ...args: unknown[]) => string)(key, ...args);
}

/** Pick the Chinese or English field of an API object (name / name_zh). */
export function pick(item: { name: string; name_zh?: string } | null | undefined): string {
  return item ? (locale.value === "zh-CN" && item.name_zh ? item.name_zh : item.name) : "";
}

// The app's instance once it has made one; the kit's components translate through it.
let current: AppI18n | undefined;

/** An app's vue-i18n instance over its catalogue and the kit's (install it with app.use). */
export function createAppI18n(messages: Messages) {
  const merged: Messages = {
    en: { ...kitMessages.en, ...messages.en },
    "zh-CN": { ...kitMessages["zh-CN"], ...messages["zh-CN"] },
  };
  const i18n = makeI18n(merged);
  current = i18n;
  const t: Translate = (key: string, ...args: unknown[]) => translate(i18n, key, args);
  return { i18n, t, pick, locale, setLocale };
}

// The kit's translator, for the shared components: the app's instance, or the kit's own
// catalogue alone on a page that made none.
export const t: Translate = (key: string, ...args: unknown[]) => {
  current ??= makeI18n(kitMessages);
  return translate(current, key, args);
};
