import { mockIPC } from "@tauri-apps/api/mocks";
import { render, screen } from "@testing-library/svelte";
import { describe, expect, test } from "vitest";
import MyFigures from "../src/components/MyFigures.svelte";
import type { MyKpis } from "../src/lib/generated";
import { recorded } from "./fixtures";

describe("MyFigures", () => {
  test("shows the core's figures for the morning as tiles and a weekly chart", async () => {
    // The recorded morning: one inspection completed; 3 of 5 responses due were on time.
    const kpis: MyKpis = structuredClone(recorded.my_kpis);
    mockIPC((cmd) => (cmd === "my_kpis" ? kpis : undefined));
    render(MyFigures);
    expect((await screen.findByTestId("kpi-completed")).textContent).toContain("1");
    expect(kpis.all.response_sla).toEqual({ numerator: 3, denominator: 5, ratio: 0.6 });
    expect(screen.getByTestId("kpi-response").textContent).toContain("60%");
    expect(screen.getByTestId("kpi-response").textContent).toContain("3 of 5");
    expect(screen.getByTestId("kpi-rating").textContent).toContain("–");
    const bars = screen.getByTestId("kpi-weeks").querySelectorAll("rect");
    expect(bars).toHaveLength(kpis.weeks.filter((w) => w.kpis.completed > 0).length);
  });

  test("before the first completion it says what will appear", async () => {
    const kpis: MyKpis = structuredClone(recorded.my_kpis);
    kpis.all.completed = 0;
    mockIPC((cmd) => (cmd === "my_kpis" ? kpis : undefined));
    render(MyFigures);
    expect((await screen.findByTestId("kpis-empty")).textContent).toContain("after your first completion");
  });
});
