// The support bundle from the app: a signed-in technician with unsynced work taps "Export
// support bundle", the app says where it wrote the .zip and how large it is, and the file is
// there in the data folder, beside the day's log file. Screenshot: support-01-exported.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, SERVER, PASSWORD, Driver, Server, waitFor } from "./webdriver.mjs";

before(() => {
  for (const bin of [APP, SERVER]) {
    assert.ok(existsSync(bin), `${bin} is missing: build the app (with custom-protocol) and the server first`);
  }
});

test("a technician exports a support bundle and is told where it is", async () => {
  const server = await new Server().start();
  const xdg = mkdtempSync(join(tmpdir(), "onsite-e2e-support-"));
  const data = join(xdg, "com.onsite.app");
  const d = await Driver.start("support", { XDG_DATA_HOME: xdg, ONSITE_SYNC_INTERVAL_SECS: "3600" });
  try {
    await d.wait("server-url", 30_000);
    await d.type("server-url", server.url);
    await d.type("username", "alice");
    await d.type("password", PASSWORD);
    await d.click("sign-in");
    await d.wait("job-card", 30_000);
    await waitFor("the first sync", async () => (await d.invoke("sync_status")).last_success_at);
    // Unsynced work: the server goes away and a note is written.
    await server.stop();
    const [job] = await d.invoke("jobs", { scope: "all" });
    await d.invoke("add_note", { jobId: job.id, body: "Side gate code 4711" });

    const button = await d.wait("support-export");
    await d.exec(`arguments[0].scrollIntoView({ block: "center" })`, [d.ref(button)]);
    await d.click("support-export");
    const saved = await d.wait("support-saved", 20_000);
    const path = await d.attr(saved, "data-path");
    const bytes = Number(await d.attr(saved, "data-bytes"));
    const text = await d.text(saved);
    await d.exec(`arguments[0].scrollIntoView({ block: "center" })`, [d.ref(saved)]);
    await d.screenshot("support-01-exported");
    console.log(`support bundle: ${bytes} bytes`);

    assert.ok(path.startsWith(join(data, "support")), path);
    assert.match(text, /Support bundle saved \(\d+ KB\)/);
    assert.ok(text.includes(path), text);
    assert.ok(existsSync(path), `${path} was written`);
    assert.equal(statSync(path).size, bytes);
    const zip = readFileSync(path);
    assert.equal(zip.subarray(0, 4).toString("latin1"), "PK\x03\x04");
    // Its central directory names the entries (stored uncompressed there).
    const names = zip.toString("latin1");
    for (const entry of ["manifest.json", "sync-status.json", "change-log.json", "logs/onsite-app."]) {
      assert.ok(names.includes(entry), `the bundle lists ${entry}`);
    }
    // The app's own log file, rotated daily in the data folder.
    const logs = readdirSync(join(data, "logs"));
    const today = logs.find((n) => /^onsite-app\.\d{4}-\d{2}-\d{2}\.log$/.test(n));
    assert.ok(today, logs.join(", "));
    const log = readFileSync(join(data, "logs", today), "utf8");
    assert.match(log, /sync done/);
    assert.ok(!log.includes(PASSWORD), "the password is never logged");
  } finally {
    await d.quit();
    await server.stop();
  }
});
