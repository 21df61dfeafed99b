import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { afterEach, describe, expect, test, vi } from "vitest";
import FirstRun from "../src/components/FirstRun.svelte";
import { sessionStore } from "../src/lib/stores/session.svelte";
import { syncStore } from "../src/lib/stores/sync.svelte";
import { settle, syncStatus } from "./fixtures";

const signedIn = { device_id: "d1", signed_in: true, username: "mei", user_name: "Mei Chen", role: "technician", server_url: "https://s.example" };

async function fillAndSubmit(password = "secret") {
  await fireEvent.input(screen.getByTestId("server-url"), { target: { value: " https://s.example " } });
  await fireEvent.input(screen.getByTestId("username"), { target: { value: "mei" } });
  await fireEvent.input(screen.getByTestId("password"), { target: { value: password } });
  await fireEvent.click(screen.getByTestId("sign-in"));
}

describe("FirstRun", () => {
  afterEach(() => {
    syncStore.stop();
    sessionStore.current = null;
    sessionStore.error = null;
  });

  test("signs in, runs the first sync with progress, then hands over", async () => {
    const calls: [string, unknown][] = [];
    let finishSync!: () => void;
    mockIPC(
      async (cmd, args) => {
        calls.push([cmd, args]);
        if (cmd === "login") return signedIn;
        if (cmd === "sync_status") return syncStatus();
        if (cmd === "sync_now") {
          await emit("sync://progress", { phase: "pulling", rows: 40, cursor: 40 });
          await new Promise<void>((r) => (finishSync = r));
          return { pushed: 0, applied: 0, merged: 0, conflicts: 0, rejected: 0, pulled_rows: 40, rejections: [] };
        }
      },
      { shouldMockEvents: true },
    );
    const ondone = vi.fn();
    render(FirstRun, { ondone });
    await fillAndSubmit();
    await vi.waitFor(() => expect(screen.getByTestId("first-sync-status").textContent).toBe("Receiving updates (40 received)"));
    expect(screen.getByTestId("registered").textContent).toContain("Mei Chen");
    expect(ondone).not.toHaveBeenCalled();

    finishSync();
    await vi.waitFor(() => expect(ondone).toHaveBeenCalledOnce());
    const commands = calls.map(([c]) => c).filter((c) => !c.startsWith("plugin:event"));
    expect(commands.indexOf("login")).toBeLessThan(commands.indexOf("sync_now"));
    expect(calls.find(([c]) => c === "login")![1]).toEqual({ serverUrl: "https://s.example", username: "mei", password: "secret" });
  });

  test("a refused sign-in stays on the form and says so", async () => {
    mockIPC((cmd) => {
      if (cmd === "login") throw { code: "unauthorized", message: "wrong password" };
    });
    const ondone = vi.fn();
    render(FirstRun, { ondone });
    await fillAndSubmit("nope");
    await vi.waitFor(() => expect(screen.getByTestId("error").textContent).toContain("Please sign in again."));
    expect(screen.getByTestId("sign-in")).toBeTruthy();
    expect(ondone).not.toHaveBeenCalled();
  });

  test("a failed first sync offers to retry or go on", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "login") return signedIn;
        if (cmd === "sync_status") return syncStatus({ online: false });
        if (cmd === "sync_now") throw { code: "server_unreachable", message: "cannot reach" };
      },
      { shouldMockEvents: true },
    );
    const ondone = vi.fn();
    render(FirstRun, { ondone });
    await fillAndSubmit();
    await vi.waitFor(() => expect(screen.getByTestId("first-sync-retry")).toBeTruthy());
    expect(screen.getByTestId("error").textContent).toContain("No connection.");
    await fireEvent.click(screen.getByTestId("first-sync-skip"));
    await settle();
    expect(ondone).toHaveBeenCalledOnce();
  });

  test("nothing is sent while a field is empty", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => void calls.push(cmd));
    render(FirstRun, { ondone: () => {} });
    await fireEvent.click(screen.getByTestId("sign-in"));
    expect(calls).toEqual([]);
    expect(screen.getByRole("alert").textContent).toContain("Enter the server address");
  });
});
