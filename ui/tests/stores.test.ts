import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, test } from "vitest";
import { JobsStore } from "../src/lib/stores/jobs.svelte";
import { JobStore } from "../src/lib/stores/job.svelte";
import { SessionStore } from "../src/lib/stores/session.svelte";
import { SyncStore } from "../src/lib/stores/sync.svelte";
import type { SyncDone } from "../src/lib/generated";
import { detail, settle, summary, syncStatus, todaysJobs } from "./fixtures";

describe("session", () => {
  test("loads who is signed in", async () => {
    mockIPC((cmd) => {
      if (cmd === "session")
        return { device_id: "d1", signed_in: true, username: "mei", user_name: "Mei Chen", role: "technician", server_url: "https://s" };
    });
    const s = new SessionStore();
    await s.load();
    expect(s.signedIn).toBe(true);
    expect(s.current?.user_name).toBe("Mei Chen");
  });

  test("a refused sign-in keeps the device signed out and says why", async () => {
    mockIPC((cmd) => {
      if (cmd === "login") throw { code: "unauthorized", message: "wrong password" };
    });
    const s = new SessionStore();
    expect(await s.signIn("https://s", "mei", "nope")).toBe(false);
    expect(s.signedIn).toBe(false);
    expect(s.error?.code).toBe("unauthorized");
  });
});

describe("jobs", () => {
  test("asks for the chosen filter and keeps the core's order (appointment order)", async () => {
    const scopes: unknown[] = [];
    const today = todaysJobs();
    mockIPC((cmd, args) => {
      if (cmd !== "jobs") return;
      scopes.push((args as { scope: string }).scope);
      return today;
    });
    const store = new JobsStore();
    await store.load("upcoming");
    expect(scopes).toEqual(["upcoming"]);
    expect(store.scope).toBe("upcoming");
    expect(store.list.map((j) => j.id)).toEqual(today.map((j) => j.id));
  });

  test("a slow answer for a filter already left does not overwrite the current one", async () => {
    let release!: () => void;
    mockIPC(async (_cmd, args) => {
      const scope = (args as { scope: string }).scope;
      if (scope === "today") await new Promise<void>((r) => (release = r));
      return [summary({ id: scope, number: scope })];
    });
    const store = new JobsStore();
    const slow = store.load("today");
    await settle();
    await store.load("done");
    release();
    await slow;
    expect(store.scope).toBe("done");
    expect(store.list.map((j) => j.id)).toEqual(["done"]);
  });
});

describe("open job", () => {
  test("a refused completion is remembered with what is missing", async () => {
    const missing = detail().missing_for_completion;
    expect(missing).toContainEqual({ what: "signature" });
    mockIPC((cmd) => {
      if (cmd === "job") return detail();
      if (cmd === "step") throw { code: "completion_blocked", message: "cannot complete the job yet; still missing: customer signature" };
    });
    const store = new JobStore();
    await store.open("job-1");
    expect(await store.change((id) => import("../src/lib/api").then((api) => api.step(id, "complete")))).toBe(false);
    expect(store.blocked).toBe(true);
    expect(store.error?.code).toBe("completion_blocked");
    expect(store.detail?.missing_for_completion).toEqual(missing);
  });
});

describe("sync state", () => {
  let store: SyncStore;
  afterEach(() => store?.stop());

  test("follows the shell's status, progress and done events", async () => {
    mockIPC((cmd) => (cmd === "sync_status" ? syncStatus({ pending_ops: 2, online: true }) : undefined), { shouldMockEvents: true });
    store = new SyncStore();
    const finished: SyncDone[] = [];
    store.onFinished((d) => finished.push(d));
    await store.start();
    expect(store.pending).toBe(2);
    expect(store.online).toBe(true);

    await emit("sync://status", syncStatus({ pending_ops: 5, online: false }));
    expect(store.pending).toBe(5);
    expect(store.online).toBe(false);

    await emit("sync://progress", { phase: "pushing", sent: 1, total: 4 });
    expect(store.syncing).toBe(true);
    expect(store.fraction).toBe(0.25);

    await emit("sync://progress", { phase: "uploading", sha256: "ab", sent: 50, total: 100, file_index: 2, files: 2 });
    expect(store.fraction).toBe(0.75);

    await emit("sync://done", { error: { code: "server_unreachable", message: "cannot reach" } });
    expect(store.syncing).toBe(false);
    expect(store.error?.code).toBe("server_unreachable");
    expect(finished).toHaveLength(1);
  });

  test("sync now reports the outcome once and refreshes the status", async () => {
    let pending = 3;
    mockIPC(
      async (cmd) => {
        if (cmd === "sync_status") return syncStatus({ pending_ops: pending, last_success_at: pending ? null : "2026-11-22T10:00:00.000Z" });
        if (cmd === "sync_now") {
          await emit("sync://progress", { phase: "pulling", rows: 10, cursor: 20 });
          pending = 0;
          const report = { pushed: 3, applied: 3, merged: 0, conflicts: 0, rejected: 0, pulled_rows: 10, rejections: [] };
          await emit("sync://done", { report });
          return report;
        }
      },
      { shouldMockEvents: true },
    );
    store = new SyncStore();
    let finished = 0;
    store.onFinished(() => finished++);
    await store.start();
    expect(await store.syncNow()).toBe(true);
    await settle();
    expect(finished).toBe(1);
    expect(store.report?.pushed).toBe(3);
    expect(store.syncing).toBe(false);
    expect(store.pending).toBe(0);
    expect(store.status?.last_success_at).toBe("2026-11-22T10:00:00.000Z");
  });
});
