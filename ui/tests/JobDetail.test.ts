import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, test, vi } from "vitest";
import JobDetail from "../src/components/JobDetail.svelte";
import { jobStore } from "../src/lib/stores/job.svelte";
import type { JobDetail as Detail } from "../src/lib/generated";
import { detail, detailIn, recorded } from "./fixtures";

describe("JobDetail", () => {
  test("a refused completion lists what is missing and links to each fix", async () => {
    // The core's answers for a maintenance job in progress: before and after ticking an item.
    const { started, shoe_covers_ticked } = recorded.worked;
    let current: Detail = detail();
    const steps: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "job") return current;
      if (cmd === "step") {
        steps.push(args);
        throw { code: "completion_blocked", message: "cannot complete the job yet" };
      }
      if (cmd === "answer") {
        current = structuredClone(shoe_covers_ticked);
        return current;
      }
      if (cmd === "service_report_html") return "<p>report</p>";
    });
    render(JobDetail, { id: "job-1" });
    await fireEvent.click(await screen.findByTestId("action-complete"));
    const list = await screen.findByTestId("missing-list");
    expect(steps).toEqual([{ jobId: "job-1", action: "complete" }]);
    const missing = started.missing_for_completion;
    expect(missing.filter((m) => m.what === "photo")).toEqual([{ what: "photo", kind: "after" }]);
    expect(within(list).getAllByRole("listitem")).toHaveLength(missing.length);
    // The refusal is shown once, as the list, not also as a generic error banner.
    expect(screen.queryByTestId("error")).toBeNull();

    // The photo link files the next photo under the missing kind.
    await fireEvent.click(within(screen.getByTestId("missing-photo")).getByRole("button"));
    expect(jobStore.photoKind).toBe("after");
    expect((screen.getByTestId("photo-kind") as HTMLSelectElement).value).toBe("after");

    // Fixing an item takes it off the list.
    await fireEvent.click(screen.getByTestId("check-shoe_covers"));
    await vi.waitFor(() => expect(within(screen.getByTestId("missing-list")).getAllByRole("listitem")).toHaveLength(missing.length - 1));
    expect(shoe_covers_ticked.missing_for_completion).toHaveLength(missing.length - 1);
  });

  test("shows only the steps the status allows, with recorded times", async () => {
    const onSite = detailIn("on_site");
    mockIPC((cmd) => (cmd === "job" ? onSite : undefined));
    render(JobDetail, { id: "job-2" });
    await screen.findByTestId("action-start_work");
    expect(screen.getByTestId("action-hold")).toBeTruthy();
    expect(screen.queryByTestId("action-complete")).toBeNull();
    expect(screen.getAllByTestId(/^action-/).map((b) => b.dataset.testid)).toEqual(["action-start_work", "action-hold"]);
    expect(onSite.work_order.arrived_at).toBeTruthy();
    expect(screen.getByTestId("milestone-arrive").dataset.at).toBe(onSite.work_order.arrived_at);
  });

  test("hold asks for a reason and sends it", async () => {
    const steps: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "job") return detail();
      if (cmd === "step") {
        steps.push(args);
        return structuredClone(recorded.worked.on_hold);
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
                resolved_at: null,
                resolution: null,
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
