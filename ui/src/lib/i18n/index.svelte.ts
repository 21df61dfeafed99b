// The chosen language: English or Simplified Chinese, remembered on this device. Reading
// `t()` inside a component makes it re-render when the language changes.

import { en, type MessageKey, type Messages } from "./en";
import { zh } from "./zh";
import type { Label } from "../generated";

export type Locale = "en" | "zh";
export type { MessageKey };

export const catalogues: Record<Locale, Messages> = { en, zh };
export const STORAGE_KEY = "onsite.locale";

export function preferredLocale(): Locale {
  try {
    const stored = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (stored === "en" || stored === "zh") return stored;
  } catch {
    /* storage unavailable */
  }
  const nav = globalThis.navigator?.language ?? "en";
  return nav.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export const i18n = $state({ locale: preferredLocale() as Locale });

export function setLocale(locale: Locale): void {
  i18n.locale = locale;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, locale);
  } catch {
    /* storage unavailable: the choice lasts for this run */
  }
  if (typeof document !== "undefined") document.documentElement.lang = localeTag();
}

export function toggleLocale(): void {
  setLocale(i18n.locale === "en" ? "zh" : "en");
}

/** The BCP 47 tag for Intl formatting. */
export function localeTag(): string {
  return i18n.locale === "zh" ? "zh-CN" : "en";
}

export type Vars = Record<string, string | number>;

export function t(key: MessageKey, vars?: Vars): string {
  const text = catalogues[i18n.locale][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in vars ? String(vars[name]) : m,
  );
}

/** Whether a key exists (for codes and field names that arrive as data). */
export function has(key: string): key is MessageKey {
  return key in en;
}

/** A label that comes with the data (checklist items, choices). */
export function label(l: Label): string {
  return (i18n.locale === "zh" ? l.zh : l.en) || l.en || l.zh;
}
