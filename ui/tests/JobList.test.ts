import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, test } from "vitest";
import JobList from "../src/components/JobList.svelte";
import { clock } from "../src/lib/stores/clock.svelte";
import { jobsStore } from "../src/lib/stores/jobs.svelte";
import { HOUR, summary } from "./fixtures";

const NOW = Date.parse("2026-11-22T08:00:00.000Z");

describe("JobList", () => {
  beforeEach(() => {
    clock.now = NOW;
    jobsStore.list = [];
    jobsStore.scope = "today";
  });

  test("shows jobs in appointment order with the SLA clock that matters", async () => {
    mockIPC((cmd) => {
      if (cmd !== "jobs") return;
      return [
        summary({
          id: "late",
          number: "WO-2",
          customer_name: "Second",
          appointment_start: "2026-11-22T13:00:00.000Z",
          status: "on_site",
          // Arrived: the respond clock is met, the resolve clock runs.
          sla: {
            respond: { state: "met", due: "2026-11-22T09:00:00.000Z", at: "2026-11-22T07:50:00.000Z", margin_ms: 1 },
            resolve: { state: "running", due: new Date(NOW + 5 * HOUR).toISOString(), left_ms: 5 * HOUR },
          },
        }),
        summary({
          id: "early",
          number: "WO-1",
          customer_name: "First",
          appointment_start: "2026-11-22T08:30:00.000Z",
          // Not arrived, respond deadline passed.
          sla: {
            respond: { state: "breached", due: new Date(NOW - 30 * 60_000).toISOString(), over_ms: 30 * 60_000 },
            resolve: { state: "running", due: new Date(NOW + 20 * HOUR).toISOString(), left_ms: 20 * HOUR },
          },
          priority: "urgent",
        }),
      ];
    });
    render(JobList);
    await jobsStore.load("today");

    const cards = await screen.findAllByTestId("job-card");
    expect(cards.map((c) => c.dataset.number)).toEqual(["WO-1", "WO-2"]);

    const first = within(cards[0]).getByTestId("sla-badge");
    expect(first.dataset.sla).toBe("breached");
    expect(first.dataset.clock).toBe("respond");
    expect(first.textContent).toContain("Arrival overdue by 30 min");
    expect(within(cards[0]).getByText(/Urgent/)).toBeTruthy();

    const second = within(cards[1]).getByTestId("sla-badge");
    expect(second.dataset.clock).toBe("resolve");
    expect(second.dataset.sla).toBe("ok");
    expect(second.textContent).toContain("Resolve within 5 h 0 min");
  });

  test("a running clock that passes its deadline turns into a breach without a sync", async () => {
    mockIPC((cmd) =>
      cmd === "jobs"
        ? [summary({ sla: { respond: { state: "running", due: new Date(NOW + 10 * 60_000).toISOString(), left_ms: 600_000 }, resolve: { state: "not_set" } } })]
        : undefined,
    );
    render(JobList);
    await jobsStore.load("today");
    const badge = await screen.findByTestId("sla-badge");
    expect(badge.dataset.sla).toBe("soon");
    clock.now = NOW + 25 * 60_000;
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.getByTestId("sla-badge").dataset.sla).toBe("breached");
    expect(screen.getByTestId("sla-badge").textContent).toContain("overdue by 15 min");
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
