// The signed-in console user, shared by the shell and the screens.

import type { WebSession } from "../lib/generated";
import { ApiError, get, request, useSession } from "./api";

export const console_ = $state({
  session: null as WebSession | null,
  /** False until the server has said whether the browser holds a session. */
  checked: false,
});

function take(session: WebSession | null): void {
  useSession(session);
  console_.session = session;
  console_.checked = true;
}

/** Asks the server whether this browser is signed in (the cookie is HttpOnly). */
export async function restore(): Promise<void> {
  try {
    take(await get<WebSession>("/api/v1/web/session"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) take(null);
    else {
      console_.checked = true;
      throw e;
    }
  }
}

export async function signIn(username: string, password: string): Promise<void> {
  take(await request<WebSession>("POST", "/api/v1/web/session", { username, password }));
}

export async function signOut(): Promise<void> {
  try {
    await request<void>("DELETE", "/api/v1/web/session");
  } finally {
    take(null);
  }
}

/** A request refused because the session ended: back to sign-in. */
export function sessionEnded(e: unknown): boolean {
  if (e instanceof ApiError && e.status === 401) {
    take(null);
    return true;
  }
  return false;
}
