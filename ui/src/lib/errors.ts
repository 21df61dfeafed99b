import type { UiError } from "./generated";

/**
 * A refusal from the shell or the core: a stable `code` the UI branches on and translates,
 * and the core's `message` (English, says what was wrong and what to do).
 */
export class AppError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "AppError";
    this.code = code;
  }

  /** Whatever a command rejected with, as an AppError. */
  static from(raw: unknown): AppError {
    if (raw instanceof AppError) return raw;
    if (isErrorBody(raw)) return new AppError(raw.code, raw.message);
    if (raw instanceof Error) return new AppError("unexpected", raw.message);
    if (typeof raw === "string") {
      // Some shell errors arrive as JSON text.
      try {
        const parsed: unknown = JSON.parse(raw);
        if (isErrorBody(parsed)) return new AppError(parsed.code, parsed.message);
      } catch {
        /* plain text */
      }
      return new AppError("unexpected", raw);
    }
    return new AppError("unexpected", String(raw));
  }
}

function isErrorBody(v: unknown): v is UiError {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as UiError).code === "string" &&
    typeof (v as UiError).message === "string"
  );
}
