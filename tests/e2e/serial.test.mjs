// A serial-plate photo attached in the app: the plate's Code 128 is read on the device and
// checked against the asset's recorded serial (matches; differs, and the office is told).
// Needs the same builds as app.test.mjs; run alone with
// `node --test tests/e2e/serial.test.mjs` under xvfb-run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { PASSWORD, Driver, Server, waitFor } from "./webdriver.mjs";

// Code 128 bar and space widths of values 0–106 (106 is the stop pattern).
const PATTERNS = "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141 114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112".split(" ");

/** The modules (true = bar) of `text` in Code 128 code set B, with quiet zones. */
function code128(text) {
  const values = [104, ...[...text].map((c) => c.charCodeAt(0) - 32)];
  const check = values.reduce((sum, v, i) => sum + v * Math.max(i, 1), 0) % 103;
  const modules = Array(10).fill(false);
  for (const v of [...values, check, 106]) {
    [...PATTERNS[v]].forEach((w, i) => modules.push(...Array(Number(w)).fill(i % 2 === 0)));
  }
  return [...modules, ...Array(10).fill(false)];
}

/** A grey 900×600 PNG of a light plate with `text` as a Code 128 on it. */
function platePng(text) {
  const [w, h] = [900, 600];
  const modules = code128(text);
  const scale = Math.floor(760 / modules.length);
  const x0 = Math.floor((w - modules.length * scale) / 2);
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const plate = x > 60 && x < w - 60 && y > 100 && y < h - 100;
      const m = Math.floor((x - x0) / scale);
      const bar = plate && y > 220 && y < 380 && m >= 0 && m < modules.length && modules[m];
      const v = bar ? 25 : plate ? 225 : 120;
      raw.fill(v, y * (w * 3 + 1) + 1 + x * 3, y * (w * 3 + 1) + 4 + x * 3);
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function attachPlate(d, path) {
  const select = await d.wait("photo-kind");
  await d.exec(
    `const [s, v] = arguments; s.value = v; s.dispatchEvent(new Event("change", { bubbles: true }));`,
    [d.ref(select), "serial_plate"],
  );
  const input = await d.wait("photo-input");
  await d.s(`/element/${input}/value`, "POST", { text: path });
}

async function verdict(d, want) {
  let got = null;
  await waitFor(`serial check ${want}`, async () => {
    got = await d.attr(await d.wait("serial-check"), "data-verdict");
    return got === want;
  }, 30_000);
}

test("a serial-plate photo is read in the app and checked against the record", { timeout: 240_000 }, async () => {
  const server = await new Server().start();
  const xdg = mkdtempSync(join(tmpdir(), "onsite-e2e-serial-"));
  const d = await Driver.start("serial", { XDG_DATA_HOME: xdg, ONSITE_SYNC_INTERVAL_SECS: "3600" });
  d.name = "serial";
  const photos = mkdtempSync(join(tmpdir(), "onsite-e2e-plates-"));
  try {
    await d.wait("server-url", 30_000);
    await d.type("server-url", server.url);
    await d.type("username", "alice");
    await d.type("password", PASSWORD);
    await d.click("sign-in");
    await d.wait("job-card", 30_000);
    const jobs = await d.invoke("jobs", { scope: "all" });
    let job = null;
    for (const j of jobs) {
      const detail = await d.invoke("job", { jobId: j.id });
      if (detail.asset?.serial && !detail.closed) {
        job = detail;
        break;
      }
    }
    assert.ok(job, "a demo job with a recorded serial");
    const card = (await d.findAll(`[data-testid="job-card"][data-number="${job.work_order.number}"]`))[0];
    await d.s(`/element/${card}/click`, "POST", {});
    await d.wait("checklist-progress");

    const same = join(photos, "plate-same.png");
    writeFileSync(same, platePng(job.asset.serial));
    await attachPlate(d, same);
    await verdict(d, "match");
    assert.equal(await d.text(await d.wait("serial-read")), job.asset.serial);
    await d.exec(`document.querySelector('[data-testid="serial-check"]').scrollIntoView({ block: "center" });`);
    await d.screenshot("serial-01-matches");

    const other = join(photos, "plate-other.png");
    writeFileSync(other, platePng("ZX-0000417"));
    await attachPlate(d, other);
    await verdict(d, "mismatch");
    assert.equal(await d.text(await d.wait("serial-recorded")), job.asset.serial);
    assert.deepEqual(await d.findAll('[data-testid="serial-accept"]'), [], "never offered over a record");
    await d.exec(`document.querySelector('[data-testid="serial-check"]').scrollIntoView({ block: "center" });`);
    await d.screenshot("serial-02-differs");
    await d.click("serial-note");
    await d.wait("serial-noted", 20_000);
    await d.screenshot("serial-03-office-told");
    const after = await d.invoke("job", { jobId: job.work_order.id });
    assert.equal(after.asset.serial, job.asset.serial, "the record is unchanged");
    assert.ok(after.notes.some((n) => n.body.includes("ZX-0000417") && n.body.includes(job.asset.serial)));
  } finally {
    await d.quit();
    await server.stop();
  }
});
