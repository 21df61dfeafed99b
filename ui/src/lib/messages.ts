// What a technician reads when something goes wrong.

import { AppError } from "./errors";
import { has, t } from "./i18n/index.svelte";

/** Codes whose own message is the useful part: it says which input or step was refused. */
const SHOW_CORE_MESSAGE = new Set(["invalid_transition", "invalid_input", "seq_gap", "forbidden", "conflict"]);

export function friendlyError(raw: unknown): string {
  const e = AppError.from(raw);
  if (SHOW_CORE_MESSAGE.has(e.code)) return t("error.refused", { message: e.message });
  const key = `error.${e.code}`;
  if (has(key)) return t(key, { message: e.message });
  return t("error.unexpected", { message: e.message });
}

/**
 * `sync_status().last_error` is the core's sentence without its code; the common ones are
 * recognised so the technician reads the same plain words as for a live failure.
 */
export function friendlyLastError(text: string, online?: boolean): string {
  const lower = text.toLowerCase();
  if (online === false || lower.includes("cannot reach the server")) return t("error.server_unreachable");
  if (lower.includes("sign in again") || lower.includes("not signed in")) return t("error.unauthorized");
  return text;
}
