import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, test, vi } from "vitest";
import CompletionBlocked from "../src/components/CompletionBlocked.svelte";
import { setLocale } from "../src/lib/i18n/index.svelte";
import type { Missing } from "../src/lib/generated";

const missing: Missing[] = [
  { what: "checklist_item", key: "site_cleaned", label: { en: "Work area cleaned up", zh: "工作区域已清理干净" } },
  { what: "checklist_item", key: "root_cause", label: { en: "Root cause", zh: "故障原因" } },
  { what: "photo", kind: "after" },
  { what: "signature" },
];

describe("CompletionBlocked", () => {
  test("lists every missing thing in English", () => {
    render(CompletionBlocked, { missing, onfix: () => {} });
    const items = within(screen.getByTestId("missing-list")).getAllByRole("listitem");
    expect(items.map((li) => li.querySelector("span")!.textContent)).toEqual([
      "Checklist: Work area cleaned up",
      "Checklist: Root cause",
      "Photo: After",
      "Customer signature",
    ]);
  });

  test("lists every missing thing in Chinese", () => {
    setLocale("zh");
    render(CompletionBlocked, { missing, onfix: () => {} });
    const items = within(screen.getByTestId("missing-list")).getAllByRole("listitem");
    expect(items.map((li) => li.querySelector("span")!.textContent)).toEqual([
      "检查项：工作区域已清理干净",
      "检查项：故障原因",
      "照片：维修后",
      "客户签名",
    ]);
  });

  test("each item leads to where it is fixed", async () => {
    const onfix = vi.fn();
    render(CompletionBlocked, { missing, onfix });
    const photo = screen.getByTestId("missing-photo");
    await fireEvent.click(within(photo).getByRole("button"));
    expect(onfix).toHaveBeenCalledWith({ what: "photo", kind: "after" });
    expect(photo.dataset.key).toBe("after");
  });

  test("says so when nothing is missing any more", () => {
    render(CompletionBlocked, { missing: [], onfix: () => {} });
    expect(screen.queryByTestId("missing-list")).toBeNull();
    expect(screen.getByTestId("completion-ready")).toBeTruthy();
  });
});
