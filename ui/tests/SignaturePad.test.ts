import { fireEvent, render, screen } from "@testing-library/svelte";
import { describe, expect, test, vi } from "vitest";
import SignaturePad from "../src/components/SignaturePad.svelte";
import type { StrokePoint } from "../src/lib/generated";

function pad() {
  const canvas = screen.getByTestId("signature-pad") as HTMLCanvasElement;
  canvas.getBoundingClientRect = () => ({ left: 100, top: 50, right: 500, bottom: 270, width: 400, height: 220, x: 100, y: 50, toJSON: () => ({}) });
  return canvas;
}

describe("SignaturePad", () => {
  test("records each stroke as points relative to the pad with increasing times", async () => {
    const onchange = vi.fn<(s: StrokePoint[][]) => void>();
    render(SignaturePad, { label: "Customer signature", onchange });
    const canvas = pad();

    await fireEvent.pointerDown(canvas, { clientX: 110, clientY: 60, pointerId: 1, button: 0 });
    await fireEvent.pointerMove(canvas, { clientX: 120, clientY: 65, pointerId: 1 });
    await fireEvent.pointerMove(canvas, { clientX: 130, clientY: 70, pointerId: 1 });
    await fireEvent.pointerUp(canvas, { clientX: 130, clientY: 70, pointerId: 1 });

    await fireEvent.pointerDown(canvas, { clientX: 200, clientY: 100, pointerId: 1, button: 0 });
    await fireEvent.pointerUp(canvas, { pointerId: 1 });

    const strokes = onchange.mock.lastCall![0];
    expect(strokes).toHaveLength(2);
    expect(strokes[0].map(({ x, y }) => [x, y])).toEqual([
      [10, 10],
      [20, 15],
      [30, 20],
    ]);
    expect(strokes[1].map(({ x, y }) => [x, y])).toEqual([[100, 50]]);
    const times = strokes.flat().map((p) => p.t);
    expect(times[0]).toBe(0);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(canvas.dataset.strokes).toBe("2");
  });

  test("moving without pressing draws nothing", async () => {
    const onchange = vi.fn();
    render(SignaturePad, { label: "Customer signature", onchange });
    await fireEvent.pointerMove(pad(), { clientX: 150, clientY: 80 });
    expect(onchange).not.toHaveBeenCalled();
    expect(pad().dataset.strokes).toBe("0");
  });

  test("clear removes every stroke", async () => {
    const onchange = vi.fn<(s: StrokePoint[][]) => void>();
    render(SignaturePad, { label: "Customer signature", onchange });
    const canvas = pad();
    await fireEvent.pointerDown(canvas, { clientX: 110, clientY: 60, pointerId: 1, button: 0 });
    await fireEvent.pointerUp(canvas, { pointerId: 1 });
    expect(canvas.dataset.strokes).toBe("1");
    await fireEvent.click(screen.getByTestId("signature-clear"));
    expect(onchange.mock.lastCall![0]).toEqual([]);
    expect(canvas.dataset.strokes).toBe("0");
  });
});
