import type { UnlistenFn } from "@tauri-apps/api/event";
import * as api from "../api";
import { AppError } from "../errors";
import type { AppSyncStatus, SyncDone, SyncProgress, SyncReport } from "../generated";
import { setSkew } from "./clock.svelte";

type Listener = (outcome: SyncDone) => void;

/**
 * The sync state the sync bar shows: online or not, pending changes, last sync, the
 * progress of a running sync and how the last one ended. It follows the shell's
 * `sync://status`, `sync://progress` and `sync://done` events, so syncs the shell starts
 * on its own (on reconnect, on a timer) show up too.
 */
export class SyncStore {
  status = $state<AppSyncStatus | null>(null);
  syncing = $state(false);
  progress = $state<SyncProgress | null>(null);
  report = $state<SyncReport | null>(null);
  error = $state<AppError | null>(null);
  browserOnline = $state(typeof navigator === "undefined" ? true : navigator.onLine);

  #ownRun = false;
  #listeners = new Set<Listener>();
  #unlisten: UnlistenFn[] = [];

  get online(): boolean {
    return this.status?.online ?? this.browserOnline;
  }

  get pending(): number {
    return this.status?.pending_ops ?? 0;
  }

  /** 0..1 for phases with a known total, null while the size is unknown. */
  get fraction(): number | null {
    const p = this.progress;
    if (!p) return null;
    if (p.phase === "pushing") return p.total > 0 ? p.sent / p.total : null;
    if (p.phase === "uploading") {
      const file = p.total > 0 ? p.sent / p.total : 0;
      return p.files > 0 ? (p.file_index - 1 + file) / p.files : null;
    }
    return null;
  }

  async start(): Promise<void> {
    if (this.#unlisten.length === 0) {
      this.#unlisten = await Promise.all([
        api.onSyncStatus((s) => this.#applyStatus(s)),
        api.onSyncProgress((p) => {
          this.syncing = true;
          this.progress = p;
        }),
        api.onSyncDone((d) => {
          // The answer to our own sync_now call settles our runs; the event settles the
          // shell's background ones.
          if (!this.#ownRun) this.#finish(d);
        }),
      ]);
      if (typeof window !== "undefined") {
        window.addEventListener("online", this.#onBrowserOnline);
        window.addEventListener("offline", this.#onBrowserOnline);
      }
    }
    await this.refreshStatus();
  }

  stop(): void {
    for (const u of this.#unlisten) u();
    this.#unlisten = [];
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this.#onBrowserOnline);
      window.removeEventListener("offline", this.#onBrowserOnline);
    }
  }

  #onBrowserOnline = () => {
    this.browserOnline = navigator.onLine;
  };

  async refreshStatus(): Promise<void> {
    try {
      this.#applyStatus(await api.syncStatus());
    } catch (e) {
      this.error = AppError.from(e);
    }
  }

  #applyStatus(s: AppSyncStatus): void {
    this.status = s;
    setSkew(s.server_skew_ms);
    if (!this.#ownRun) {
      this.syncing = s.syncing;
      if (!s.syncing) this.progress = null;
    }
  }

  /** Calls `fn` after every finished sync (ours or the shell's); returns an unsubscribe. */
  onFinished(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Runs a sync; resolves to true when it succeeded. Never throws. */
  async syncNow(): Promise<boolean> {
    if (this.#ownRun) return false;
    this.#ownRun = true;
    this.syncing = true;
    this.progress = null;
    this.error = null;
    let outcome: SyncDone;
    try {
      outcome = { report: await api.syncNow() };
    } catch (e) {
      const err = AppError.from(e);
      outcome = { error: { code: err.code, message: err.message } };
    }
    this.#ownRun = false;
    this.#finish(outcome);
    return "report" in outcome;
  }

  #finish(outcome: SyncDone): void {
    this.syncing = false;
    this.progress = null;
    if ("report" in outcome) {
      this.report = outcome.report;
      this.error = null;
    } else {
      this.error = new AppError(outcome.error.code, outcome.error.message);
    }
    void this.refreshStatus();
    for (const fn of this.#listeners) fn(outcome);
  }
}

export const syncStore = new SyncStore();
