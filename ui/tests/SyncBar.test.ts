import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, test } from "vitest";
import SyncBar from "../src/components/SyncBar.svelte";
import { AppError } from "../src/lib/errors";
import { SyncStore } from "../src/lib/stores/sync.svelte";
import { settle, syncStatus } from "./fixtures";

function storeWith(over: Parameters<typeof syncStatus>[0]) {
  const store = new SyncStore();
  store.status = syncStatus(over);
  return store;
}

describe("SyncBar", () => {
  test("offline with changes waiting", () => {
    render(SyncBar, { store: storeWith({ online: false, pending_ops: 4 }) });
    expect(screen.getByTestId("sync-state").dataset.state).toBe("offline");
    expect(screen.getByTestId("sync-state").textContent).toBe("Offline");
    expect(screen.getByTestId("pending-count").dataset.count).toBe("4");
    expect(screen.getByTestId("pending-count").textContent?.trim()).toBe("4 changes waiting to sync");
    expect(screen.getByTestId("last-sync").textContent?.trim()).toBe("Not synced yet");
  });

  test("online and all synced", () => {
    render(SyncBar, { store: storeWith({ online: true, last_success_at: new Date(Date.now() - 5 * 60_000).toISOString() }) });
    expect(screen.getByTestId("sync-state").dataset.state).toBe("online");
    expect(screen.getByTestId("pending-count").textContent?.trim()).toBe("All changes synced");
    expect(screen.getByTestId("last-sync").textContent).toContain("5 minutes ago");
  });

  test("live while the server's live channel is open", () => {
    render(SyncBar, { store: storeWith({ online: true, live: true }) });
    expect(screen.getByTestId("sync-state").dataset.state).toBe("live");
    expect(screen.getByTestId("sync-state").textContent).toBe("Live");
  });

  test("a failed sync is explained in plain words", () => {
    const store = storeWith({ online: false, pending_ops: 1 });
    store.error = new AppError("server_unreachable", "cannot reach the server at https://s (timeout)");
    render(SyncBar, { store });
    expect(screen.getByTestId("sync-error").textContent).toBe(
      "Last sync problem: No connection. Your changes are saved on this tablet and will sync later.",
    );
  });

  test("the core's last error is put in plain words when it is a known one", () => {
    render(SyncBar, { store: storeWith({ online: false, last_error: "cannot reach the server at https://s (connection refused); your changes are kept" }) });
    expect(screen.getByTestId("sync-error").textContent).toBe(
      "Last sync problem: No connection. Your changes are saved on this tablet and will sync later.",
    );
  });

  test("the core's last error is shown when the bar has nothing better", () => {
    render(SyncBar, { store: storeWith({ last_error: "the server refused the request: device revoked (unauthorized)" }) });
    expect(screen.getByTestId("sync-error").textContent).toContain("device revoked");
  });

  test("the Sync button runs a sync and shows its progress", async () => {
    let finish!: () => void;
    mockIPC(async (cmd) => {
      if (cmd === "sync_now") {
        await new Promise<void>((r) => (finish = r));
        return { pushed: 1, applied: 1, merged: 0, conflicts: 0, rejected: 0, pulled_rows: 0, rejections: [] };
      }
      if (cmd === "sync_status") return syncStatus({ online: true });
    });
    const store = storeWith({ online: true, pending_ops: 1 });
    render(SyncBar, { store });
    await fireEvent.click(screen.getByTestId("sync-button"));
    expect(screen.getByTestId("sync-state").dataset.state).toBe("syncing");
    expect((screen.getByTestId("sync-button") as HTMLButtonElement).disabled).toBe(true);
    store.progress = { phase: "pushing", sent: 1, total: 2 };
    await settle();
    expect(screen.getByTestId("sync-progress-text").textContent).toBe("Sending changes 1 of 2");
    expect((screen.getByTestId("sync-progress") as HTMLProgressElement).value).toBe(0.5);
    finish();
    await settle();
    await settle();
    expect(screen.getByTestId("sync-state").dataset.state).toBe("online");
    expect(screen.getByTestId("pending-count").dataset.count).toBe("0");
  });
});
