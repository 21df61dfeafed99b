import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach } from "vitest";
import { setLocale } from "../src/lib/i18n/index.svelte";

// jsdom has no canvas; the signature pad draws only when a 2D context exists.
HTMLCanvasElement.prototype.getContext = (() => null) as typeof HTMLCanvasElement.prototype.getContext;

beforeEach(() => {
  localStorage.clear();
  setLocale("en");
});

afterEach(() => {
  clearMocks();
});
