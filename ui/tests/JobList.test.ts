import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, test, vi } from "vitest";
import JobList from "../src/components/JobList.svelte";
import { clock } from "../src/lib/stores/clock.svelte";
import { jobsStore } from "../src/lib/stores/jobs.svelte";
import { LATER_AT, RECORDED_AT, jobNumbered, laterJobs, todaysJobs } from "./fixtures";

describe("JobList", () => {
  beforeEach(() => {
    clock.now = RECORDED_AT;
    jobsStore.list = [];
    jobsStore.scope = "today";
  });

  test("shows jobs in the core's order with the SLA clock that matters", async () => {
    const today = todaysJobs();
    mockIPC((cmd) => (cmd === "jobs" ? today : undefined));
    render(JobList);
    await jobsStore.load("today");

    const cards = await screen.findAllByTestId("job-card");
    expect(cards.map((c) => c.dataset.number)).toEqual(today.map((j) => j.number));

    // Not arrived, respond deadline passed half an hour ago.
    const overdue = cards.find((c) => c.dataset.number === "WO-2026-000100")!;
    const first = within(overdue).getByTestId("sla-badge");
    expect(first.dataset.sla).toBe("breached");
    expect(first.dataset.clock).toBe("respond");
    expect(first.textContent).toContain("Arrival overdue by 30 min");
    expect(within(overdue).getByText(/Urgent/)).toBeTruthy();

    // Arrived: the respond clock is met, the resolve clock runs.
    const arrived = cards.find((c) => c.dataset.number === "WO-2026-000101")!;
    expect(arrived.dataset.status).toBe("on_site");
    const second = within(arrived).getByTestId("sla-badge");
    expect(second.dataset.clock).toBe("resolve");
    expect(second.dataset.sla).toBe("ok");
    expect(second.textContent).toContain("Resolve within 5 h 0 min");
  });

  test("a running clock that passes its deadline turns into a breach without a sync", async () => {
    const asked: number[] = [];
    mockIPC((cmd) => {
      if (cmd !== "jobs") return;
      asked.push(clock.now);
      return clock.now >= LATER_AT ? laterJobs() : todaysJobs();
    });
    render(JobList);
    await jobsStore.load("today");
    const card = () => screen.getAllByTestId("job-card").find((c) => c.dataset.number === "WO-2026-000103")!;
    await screen.findAllByTestId("job-card");
    const badge = within(card()).getByTestId("sla-badge");
    expect(badge.dataset.sla).toBe("soon");
    expect(badge.textContent).toContain("Arrive within 10 min");
    expect(jobNumbered(todaysJobs(), "WO-2026-000103").sla_view?.changes_at).toBe("2026-11-22T08:10:00.000Z");
    clock.now = LATER_AT;
    // The core said when the badge changes; the list asks it again once that time passes.
    await vi.waitFor(() => expect(within(card()).getByTestId("sla-badge").dataset.sla).toBe("breached"));
    expect(within(card()).getByTestId("sla-badge").textContent).toContain("overdue by 15 min");
    expect(asked).toEqual([RECORDED_AT, LATER_AT]);
  });

  test("filters ask the core for that scope", async () => {
    const asked: string[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "jobs") asked.push((args as { scope: string }).scope);
      return [];
    });
    render(JobList);
    await fireEvent.click(screen.getByTestId("filter-done"));
    await new Promise((r) => setTimeout(r, 0));
    expect(asked).toEqual(["done"]);
    expect(screen.getByTestId("filter-done").getAttribute("aria-pressed")).toBe("true");
    expect(await screen.findByTestId("jobs-empty")).toBeTruthy();
  });
});
