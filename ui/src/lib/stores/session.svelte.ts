import * as api from "../api";
import { AppError } from "../errors";
import type { Session } from "../generated";

/** Who is signed in on this device, and signing in. */
export class SessionStore {
  current = $state<Session | null>(null);
  loading = $state(false);
  error = $state<AppError | null>(null);

  get signedIn(): boolean {
    return this.current?.signed_in ?? false;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.current = await api.session();
      this.error = null;
    } catch (e) {
      this.error = AppError.from(e);
    } finally {
      this.loading = false;
    }
  }

  /** Registers this device with the server; resolves to whether it worked. */
  async signIn(serverUrl: string, username: string, password: string): Promise<boolean> {
    this.loading = true;
    this.error = null;
    try {
      this.current = await api.login(serverUrl.trim(), username.trim(), password);
      return this.current.signed_in;
    } catch (e) {
      this.error = AppError.from(e);
      return false;
    } finally {
      this.loading = false;
    }
  }
}

export const sessionStore = new SessionStore();
