import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { beforeEach, describe, expect, test, vi } from "vitest";
import PhotoStrip from "../src/components/PhotoStrip.svelte";
import SerialPlateCheck from "../src/components/SerialPlateCheck.svelte";
import { setLocale } from "../src/lib/i18n/index.svelte";
import { jobStore } from "../src/lib/stores/job.svelte";
import type { Photo, SerialScan } from "../src/lib/generated";
import { detail } from "./fixtures";

const photo: Photo = {
  id: "01930000-0000-7000-8000-0000000000aa",
  work_order_id: "01930000-0000-7000-8000-000000000001",
  sha256: "a".repeat(64),
  kind: "serial_plate",
  caption: null,
  taken_at: null,
  lat: null,
  lon: null,
  width: 2048,
  height: 1536,
  size_bytes: 120_000,
  created_at: "2026-11-22T08:00:00.000Z",
  thumb_sha256: null,
};

function scan(over: Partial<SerialScan>): SerialScan {
  return {
    photo_id: photo.id,
    work_order_id: photo.work_order_id,
    found: { text: "HX3-2026-004417", format: "Code 128" },
    serial: "HX3-2026-004417",
    recorded: "HX3-2026-004417",
    recorded_from: "asset",
    verdict: "match",
    may_accept: false,
    may_note_mismatch: false,
    mismatch_noted: false,
    ...over,
  };
}

describe("SerialPlateCheck", () => {
  beforeEach(() => {
    setLocale("en");
    jobStore.id = "job-1";
  });

  test("a plate that matches says so and offers nothing", async () => {
    mockIPC((cmd) => (cmd === "scan_serial" ? scan({}) : undefined));
    render(SerialPlateCheck, { photo });
    const box = await screen.findByTestId("serial-check");
    await vi.waitFor(() => expect(box.dataset.verdict).toBe("match"));
    expect(box.textContent).toContain("Serial read from the plate:");
    expect(box.textContent).toContain("HX3-2026-004417");
    expect(box.textContent).toContain("matches the record");
    expect(screen.queryByTestId("serial-accept")).toBeNull();
    expect(screen.queryByTestId("serial-note")).toBeNull();
  });

  test("a plate that differs shows both serials and tells the office in the UI's language", async () => {
    const calls: unknown[] = [];
    const differs = scan({ recorded: "HX3-2026-000001", verdict: "mismatch", may_note_mismatch: true });
    mockIPC((cmd, args) => {
      if (cmd === "scan_serial") return differs;
      if (cmd === "note_serial_mismatch") {
        calls.push(args);
        return { scan: { ...differs, may_note_mismatch: false, mismatch_noted: true }, job: detail() };
      }
    });
    setLocale("zh");
    render(SerialPlateCheck, { photo });
    const box = await screen.findByTestId("serial-check");
    await vi.waitFor(() => expect(box.dataset.verdict).toBe("mismatch"));
    expect(screen.getByTestId("serial-recorded").textContent).toBe("HX3-2026-000001");
    expect(box.textContent).toContain("与记录不一致");
    expect(screen.queryByTestId("serial-accept")).toBeNull();
    await fireEvent.click(screen.getByTestId("serial-note"));
    await screen.findByTestId("serial-noted");
    expect(calls).toEqual([{ photoId: photo.id, lang: "zh" }]);
    expect(screen.queryByTestId("serial-note")).toBeNull();
  });

  test("with no serial recorded the plate's serial can be accepted", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "scan_serial") return scan({ recorded: null, recorded_from: null, verdict: "no_recorded_serial", may_accept: true });
      if (cmd === "accept_plate_serial") return { scan: scan({ recorded_from: "plate" }), job: detail() };
    });
    render(SerialPlateCheck, { photo });
    const accept = await screen.findByTestId("serial-accept");
    expect(accept.textContent).toBe("Record HX3-2026-004417 as the serial");
    expect(screen.getByTestId("serial-check").textContent).toContain("no serial is recorded");
    await fireEvent.click(accept);
    await vi.waitFor(() => expect(screen.getByTestId("serial-check").dataset.verdict).toBe("match"));
    expect(screen.getByTestId("serial-check").textContent).toContain("recorded from the plate on this visit");
    expect(calls).toEqual(["scan_serial", "accept_plate_serial"]);
  });

  test("a photo with no code says so", async () => {
    mockIPC((cmd) => (cmd === "scan_serial" ? scan({ found: null, serial: null, verdict: "no_code" }) : undefined));
    render(SerialPlateCheck, { photo });
    const box = await screen.findByTestId("serial-check");
    await vi.waitFor(() => expect(box.dataset.verdict).toBe("no_code"));
    expect(box.textContent).toContain("No barcode or QR code found");
    expect(screen.queryByRole("button")).toBeNull();
  });

  test("attaching a serial-plate photo reads it at once; other kinds are not read", async () => {
    const calls: string[] = [];
    let photos: Photo[] = [];
    mockIPC((cmd, args) => {
      calls.push(cmd);
      if (cmd === "add_photo") {
        const kind = (args as { kind: Photo["kind"] }).kind;
        photos = [...photos, { ...photo, id: `${photo.id.slice(0, -2)}${photos.length}0`, kind }];
        return detail({ photos });
      }
      if (cmd === "scan_serial") return scan({});
    });
    jobStore.detail = detail({ photos: [] });
    jobStore.photoKind = "before";
    render(PhotoStrip, { photos: [] });
    const input = screen.getByTestId("photo-input") as HTMLInputElement;
    const file = () => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "plate.jpg", { type: "image/jpeg" });
    await fireEvent.change(input, { target: { files: [file()] } });
    await vi.waitFor(() => expect(calls).toContain("add_photo"));
    expect(screen.queryByTestId("serial-check")).toBeNull();
    jobStore.photoKind = "serial_plate";
    await fireEvent.change(input, { target: { files: [file()] } });
    const box = await screen.findByTestId("serial-check");
    await vi.waitFor(() => expect(box.dataset.verdict).toBe("match"));
    expect(calls.filter((c) => c === "scan_serial")).toHaveLength(1);
  });
});
