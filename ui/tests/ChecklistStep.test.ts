import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { beforeEach, describe, expect, test } from "vitest";
import ChecklistStep from "../src/components/ChecklistStep.svelte";
import { jobStore } from "../src/lib/stores/job.svelte";
import type { ChecklistLine } from "../src/lib/generated";
import { checkLine, detail, settle } from "./fixtures";

let answers: unknown[] = [];

beforeEach(() => {
  answers = [];
  jobStore.id = "job-1";
  jobStore.error = null;
  mockIPC((cmd, args) => {
    if (cmd === "answer") {
      answers.push(args);
      return detail();
    }
  });
});

const line = (
  kind: ChecklistLine["item"]["kind"],
  answer: ChecklistLine["answer"] = null,
  answered = false,
): ChecklistLine => ({
  item: { key: "item", phase: "work", kind, required: true, label: { en: "Item", zh: "项目" } },
  answer,
  answered,
});

describe("ChecklistStep", () => {
  test("ticking a check item answers true, unticking answers false", async () => {
    const { rerender } = render(ChecklistStep, { line: checkLine("shoe_covers", "Shoe covers worn", "已穿鞋套") });
    await fireEvent.click(screen.getByTestId("check-shoe_covers"));
    await settle();
    expect(answers).toEqual([{ jobId: "job-1", itemKey: "shoe_covers", value: { type: "check", value: true } }]);

    await rerender({ line: checkLine("shoe_covers", "Shoe covers worn", "已穿鞋套", true) });
    expect(screen.getByTestId("check-shoe_covers").getAttribute("aria-checked")).toBe("true");
    await fireEvent.click(screen.getByTestId("check-shoe_covers"));
    await settle();
    expect(answers[1]).toEqual({ jobId: "job-1", itemKey: "shoe_covers", value: { type: "check", value: false } });
  });

  test("a conduct item answers yes, or no with a reason that must not be empty", async () => {
    render(ChecklistStep, { line: line({ type: "conduct" }) });
    await fireEvent.click(screen.getByTestId("check-item"));
    await settle();
    expect(answers).toEqual([{ jobId: "job-1", itemKey: "item", value: { type: "check", value: true } }]);

    await fireEvent.click(screen.getByTestId("check-item-no"));
    await fireEvent.click(screen.getByTestId("check-item-save"));
    await settle();
    expect(answers).toHaveLength(1);
    expect(screen.getByTestId("check-item-hint").textContent).toContain("takes a short reason");

    const reason = screen.getByTestId("check-item-reason") as HTMLTextAreaElement;
    reason.value = "Customer asked us to keep shoes on";
    await fireEvent.click(screen.getByTestId("check-item-save"));
    await settle();
    expect(answers[1]).toEqual({
      jobId: "job-1",
      itemKey: "item",
      value: { type: "no", value: "Customer asked us to keep shoes on" },
    });
  });

  test("a recorded conduct no shows its reason and that it goes to review", async () => {
    render(ChecklistStep, { line: line({ type: "conduct" }, { type: "no", value: "Forgot them" }, true) });
    expect((screen.getByTestId("check-item-reason") as HTMLTextAreaElement).value).toBe("Forgot them");
    expect(screen.getByTestId("check-item-no").getAttribute("aria-checked")).toBe("true");
    expect(screen.getByTestId("check-item-hint").textContent).toContain("quality review");
    expect(screen.queryByTestId("check-item-save")).toBeNull();
  });

  test("a choice answers with the option's key", async () => {
    render(ChecklistStep, {
      line: line({
        type: "choice",
        options: [
          { key: "wear", label: { en: "Wear and tear", zh: "自然磨损" } },
          { key: "defect", label: { en: "Manufacturing defect", zh: "产品缺陷" } },
        ],
      }),
    });
    await fireEvent.click(screen.getByText("Manufacturing defect"));
    await settle();
    expect(answers).toEqual([{ jobId: "job-1", itemKey: "item", value: { type: "choice", value: "defect" } }]);
  });

  test("a number inside the range is saved as a number; outside it is explained and not sent", async () => {
    render(ChecklistStep, { line: line({ type: "number", unit: "bar", min: 0, max: 50 }) });
    const input = screen.getByTestId("check-item-input") as HTMLInputElement;
    expect(screen.getByText("Between 0 bar and 50 bar")).toBeTruthy();

    await fireEvent.change(input, { target: { value: "75" } });
    await settle();
    expect(answers).toEqual([]);
    expect(input.getAttribute("aria-invalid")).toBe("true");

    await fireEvent.change(input, { target: { value: "2.5" } });
    await settle();
    expect(answers).toEqual([{ jobId: "job-1", itemKey: "item", value: { type: "number", value: 2.5 } }]);
  });

  test("text is saved when the field is left", async () => {
    render(ChecklistStep, { line: line({ type: "text" }) });
    await fireEvent.change(screen.getByTestId("check-item-input"), { target: { value: "Hinge loose" } });
    await settle();
    expect(answers).toEqual([{ jobId: "job-1", itemKey: "item", value: { type: "text", value: "Hinge loose" } }]);
  });

  test("labels come from the data in the chosen language", async () => {
    const { setLocale } = await import("../src/lib/i18n/index.svelte");
    setLocale("zh");
    render(ChecklistStep, { line: checkLine("shoe_covers", "Shoe covers worn", "已穿鞋套") });
    expect(screen.getByTestId("check-shoe_covers").textContent).toContain("已穿鞋套");
    expect(screen.getByTestId("check-shoe_covers").textContent).toContain("必填");
  });
});
