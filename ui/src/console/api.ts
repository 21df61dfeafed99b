// The console's calls to the server's REST API: same origin, the session cookie sent by the
// browser, and the session's CSRF token on every request that changes something. Refusals
// arrive as `{code, message}` and become an `ApiError`.

import type { WebSession } from "../lib/generated";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait, from `Retry-After` (429). */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;

/** Remembers the session's CSRF token (from sign-in or `GET /api/v1/web/session`). */
export function useSession(session: WebSession | null): void {
  csrfToken = session?.csrf_token ?? null;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "offline", "The server cannot be reached.");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data ?? {}) as { code?: string; message?: string };
    const wait = Number(res.headers.get("retry-after"));
    throw new ApiError(
      res.status,
      err.code ?? "unexpected",
      err.message ?? `HTTP ${res.status}`,
      Number.isFinite(wait) && wait > 0 ? wait : null,
    );
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>("GET", path);

/** A query string of the set values only. */
export function query(params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
