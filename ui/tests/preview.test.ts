import { describe, expect, test } from "vitest";
import { installPreview } from "../src/dev/preview";
import * as api from "../src/lib/api";
import { recorded } from "./fixtures";

describe("design preview", () => {
  test("answers with the core's recorded answers and keeps no change of its own", async () => {
    installPreview(new URLSearchParams(""));
    expect(await api.jobs("today")).toEqual(recorded.jobs.today);
    const { started, on_hold } = recorded.worked;
    expect(await api.job(started.work_order.id)).toEqual(recorded.details[started.work_order.id]);
    expect(await api.step(started.work_order.id, "hold", "waiting")).toEqual(on_hold);
    await expect(api.addNote(started.work_order.id, "hello")).rejects.toMatchObject({ code: "invalid_input" });
    await expect(api.job("WO-0000-000000")).rejects.toMatchObject({ code: "unknown_job" });
  });
});
