import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, test, vi } from "vitest";
import JobDetail from "../src/components/JobDetail.svelte";
import { jobStore } from "../src/lib/stores/job.svelte";
import type { JobDetail as Detail, Missing } from "../src/lib/types";
import { detail } from "./fixtures";

const missing: Missing[] = [
  { what: "checklist_item", key: "shoe_covers", label: { en: "Shoe covers worn on entering", zh: "进门已穿戴鞋套" } },
  { what: "photo", kind: "after" },
];

describe("JobDetail", () => {
  test("a refused completion lists what is missing and links to each fix", async () => {
    let current: Detail = detail({ missing_for_completion: missing });
    const steps: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "job") return current;
      if (cmd === "step") {
        steps.push(args);
        throw { code: "completion_blocked", message: "cannot complete the job yet" };
      }
      if (cmd === "answer") {
        current = detail({
          missing_for_completion: [missing[1]],
          checklist: [{ ...current.checklist[0], answer: { type: "check", value: true } }],
        });
        return current;
      }
      if (cmd === "service_report_html") return "<p>report</p>";
    });
    render(JobDetail, { id: "job-1" });
    await fireEvent.click(await screen.findByTestId("action-complete"));
    const list = await screen.findByTestId("missing-list");
    expect(steps).toEqual([{ jobId: "job-1", action: "complete" }]);
    expect(within(list).getAllByRole("listitem")).toHaveLength(2);
    // The refusal is shown once, as the list, not also as a generic error banner.
    expect(screen.queryByTestId("error")).toBeNull();

    // The photo link files the next photo under the missing kind.
    await fireEvent.click(within(screen.getByTestId("missing-photo")).getByRole("button"));
    expect(jobStore.photoKind).toBe("after");
    expect((screen.getByTestId("photo-kind") as HTMLSelectElement).value).toBe("after");

    // Fixing an item takes it off the list.
    await fireEvent.click(screen.getByTestId("check-shoe_covers"));
    await vi.waitFor(() => expect(within(screen.getByTestId("missing-list")).getAllByRole("listitem")).toHaveLength(1));
  });

  test("shows only the steps the status allows, with recorded times", async () => {
    mockIPC((cmd) => (cmd === "job" ? detail({ work_order: { ...detail().work_order, id: "job-2", status: "on_site", started_at: null } }) : undefined));
    render(JobDetail, { id: "job-2" });
    await screen.findByTestId("action-start_work");
    expect(screen.getByTestId("action-hold")).toBeTruthy();
    expect(screen.queryByTestId("action-complete")).toBeNull();
    expect(screen.getByTestId("milestone-arrive").dataset.at).toBe("2026-11-22T09:05:00.000Z");
  });

  test("hold asks for a reason and sends it", async () => {
    const steps: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "job") return detail({ work_order: { ...detail().work_order, id: "job-3" } });
      if (cmd === "step") {
        steps.push(args);
        return detail({ work_order: { ...detail().work_order, id: "job-3", status: "on_hold" } });
      }
    });
    render(JobDetail, { id: "job-3" });
    await fireEvent.click(await screen.findByTestId("action-hold"));
    await fireEvent.input(screen.getByTestId("hold-reason"), { target: { value: "Waiting for a part" } });
    await fireEvent.click(screen.getByTestId("hold-confirm"));
    await vi.waitFor(() => expect(screen.getByTestId("action-resume")).toBeTruthy());
    expect(steps).toEqual([{ jobId: "job-3", action: "hold", reason: "Waiting for a part" }]);
  });

  test("needs review and conflicts are explained", async () => {
    mockIPC((cmd) =>
      cmd === "job"
        ? detail({
            work_order: { ...detail().work_order, id: "job-4", needs_review: true },
            conflicts: [
              {
                id: "c1",
                work_order_id: "job-4",
                entity: "work_order",
                entity_id: "job-4",
                field: "diagnosis",
                kept: "Door seal torn",
                lost: "Thermostat faulty",
                rule: "later HLC wins, ties by device id",
                detail: "edited on two devices",
                created_at: "2026-11-22T10:00:00.000Z",
              },
            ],
          })
        : undefined,
    );
    render(JobDetail, { id: "job-4" });
    expect(await screen.findByTestId("needs-review")).toBeTruthy();
    const conflict = screen.getByTestId("conflict");
    expect(conflict.textContent).toContain("Diagnosis");
    expect(conflict.textContent).toContain("Kept: Door seal torn");
    expect(conflict.textContent).toContain("Not used: Thermostat faulty");
    expect(conflict.textContent).toContain("The change made last was kept");
  });
});
