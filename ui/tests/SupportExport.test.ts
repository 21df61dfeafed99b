import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, test } from "vitest";
import SupportExport from "../src/components/SupportExport.svelte";
import { setLocale } from "../src/lib/i18n/index.svelte";
import { settle } from "./fixtures";

const written = {
  path: "/home/tech/.local/share/com.onsite.app/support/onsite-support-1a2b3c4d-20261201-093000.zip",
  bytes: 18_944,
  entries: [{ name: "about.json", bytes: 512, sha256: "ab".repeat(32) }],
};

describe("SupportExport", () => {
  test("exports the bundle and shows where it went and how large it is", async () => {
    const calls: string[] = [];
    mockIPC(async (cmd) => {
      calls.push(cmd);
      if (cmd === "export_support_bundle") return written;
    });
    render(SupportExport);
    await fireEvent.click(screen.getByTestId("support-export"));
    await settle();
    expect(calls).toEqual(["export_support_bundle"]);
    const saved = screen.getByTestId("support-saved");
    expect(saved.textContent).toContain("Support bundle saved (19 KB)");
    expect(saved.textContent).toContain(written.path);
    expect(saved.getAttribute("data-bytes")).toBe("18944");
  });

  test("a refusal shows the core's message, in Chinese too", async () => {
    setLocale("zh");
    mockIPC(async (cmd) => {
      if (cmd === "export_support_bundle") throw { code: "io", message: "file error: No space left on device" };
    });
    render(SupportExport);
    expect(screen.getByTestId("support-export").textContent).toBe("导出技术支持包");
    await fireEvent.click(screen.getByTestId("support-export"));
    await settle();
    expect(screen.getByTestId("error").getAttribute("data-code")).toBe("io");
    expect(screen.queryByTestId("support-saved")).toBeNull();
    setLocale("en");
  });
});
