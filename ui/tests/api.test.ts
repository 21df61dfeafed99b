import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, test } from "vitest";
import * as api from "../src/lib/api";
import { AppError } from "../src/lib/errors";
import { friendlyError } from "../src/lib/messages";
import { setLocale } from "../src/lib/i18n/index.svelte";

describe("commands", () => {
  test("arguments go out in camelCase under the shell's command names", async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return cmd === "photo_data" ? "data:image/jpeg;base64,AA==" : {};
    });
    await api.job("j1");
    await api.step("j1", "hold", "waiting for a part");
    await api.step("j1", "arrive");
    await api.answer("j1", "root_cause", { type: "choice", value: "wear" });
    await api.setText("j1", "work_done", "Replaced belt");
    await api.addPart("j1", "BELT-7", "Drive belt", 1);
    await api.addPhoto("j1", { fileName: "a.jpg", dataBase64: "AA==", kind: "before" });
    await api.sign("j1", "Lena", [[{ x: 1, y: 2, t: 0 }]]);
    await api.addFeedback("j1", { rating: 5, nps: 9 });
    await api.login("https://s.example", "mei", "pw");
    expect(calls).toEqual([
      ["job", { jobId: "j1" }],
      ["step", { jobId: "j1", action: "hold", reason: "waiting for a part" }],
      ["step", { jobId: "j1", action: "arrive" }],
      ["answer", { jobId: "j1", itemKey: "root_cause", value: { type: "choice", value: "wear" } }],
      ["set_text", { jobId: "j1", field: "work_done", text: "Replaced belt" }],
      ["add_part", { jobId: "j1", partNo: "BELT-7", description: "Drive belt", quantity: 1 }],
      ["add_photo", { jobId: "j1", fileName: "a.jpg", dataBase64: "AA==", kind: "before" }],
      ["sign", { jobId: "j1", signerName: "Lena", strokes: [[{ x: 1, y: 2, t: 0 }]] }],
      ["add_feedback", { jobId: "j1", rating: 5, nps: 9 }],
      ["login", { serverUrl: "https://s.example", username: "mei", password: "pw" }],
    ]);
  });

  test("a refusal becomes an AppError with its code and message", async () => {
    mockIPC(() => {
      throw { code: "invalid_transition", message: "cannot complete a job that is assigned" };
    });
    const err = await api.step("j1", "complete").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "invalid_transition", message: "cannot complete a job that is assigned" });
  });
});

describe("messages a technician understands", () => {
  test("known codes are translated, refusals show the core's words", () => {
    setLocale("en");
    expect(friendlyError(new AppError("server_unreachable", "cannot reach https://x"))).toBe(
      "No connection. Your changes are saved on this tablet and will sync later.",
    );
    expect(friendlyError({ code: "unauthorized", message: "token revoked" })).toBe("Please sign in again.");
    expect(friendlyError({ code: "invalid_input", message: "quantity 0 is not valid" })).toBe("Not saved: quantity 0 is not valid");
    expect(friendlyError(new Error("boom"))).toBe("Something went wrong: boom");
    setLocale("zh");
    expect(friendlyError({ code: "server_unreachable", message: "x" })).toBe("无网络连接。您的更改已保存在本机，稍后会自动同步。");
  });

  test("error text sent as JSON is understood", () => {
    expect(AppError.from('{"code":"job_closed","message":"closed"}').code).toBe("job_closed");
  });
});
