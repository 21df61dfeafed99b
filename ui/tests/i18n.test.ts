import { describe, expect, test, vi } from "vitest";
import { en } from "../src/lib/i18n/en";
import { zh } from "../src/lib/i18n/zh";
import { i18n, label, preferredLocale, setLocale, STORAGE_KEY, t } from "../src/lib/i18n/index.svelte";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("catalogues", () => {
  test("English and Chinese have exactly the same keys", () => {
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  test("each translation keeps the placeholders of the English text", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
    }
  });

  test("no string is left empty", () => {
    for (const [key, text] of [...Object.entries(en), ...Object.entries(zh)]) expect(text.trim(), key).not.toBe("");
  });
});

describe("locale", () => {
  test("t() fills placeholders in the chosen language", () => {
    setLocale("en");
    expect(t("sync.pending", { count: 3 })).toBe("3 changes waiting to sync");
    setLocale("zh");
    expect(t("sync.pending", { count: 3 })).toBe("3 项更改待同步");
  });

  test("the choice is remembered on the device", () => {
    setLocale("zh");
    expect(localStorage.getItem(STORAGE_KEY)).toBe("zh");
    expect(preferredLocale()).toBe("zh");
    expect(document.documentElement.lang).toBe("zh-CN");
  });

  test("without a stored choice the browser language decides", () => {
    localStorage.clear();
    const lang = vi.spyOn(navigator, "language", "get");
    lang.mockReturnValue("zh-CN");
    expect(preferredLocale()).toBe("zh");
    lang.mockReturnValue("de-DE");
    expect(preferredLocale()).toBe("en");
  });

  test("labels from the data follow the language", () => {
    const l = { en: "Shoe covers worn", zh: "已穿戴鞋套" };
    setLocale("zh");
    expect(i18n.locale).toBe("zh");
    expect(label(l)).toBe("已穿戴鞋套");
    setLocale("en");
    expect(label(l)).toBe("Shoe covers worn");
  });
});
