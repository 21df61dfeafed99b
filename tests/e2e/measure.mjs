// Figures for the app as a technician meets it: start to the job list, memory with a full
// replica (500 jobs, 1,000 photos), the release binary's size, and opening a job with 30
// photos. Not a test: it prints numbers. Run by scripts/measure-app.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, ARTIFACTS, PASSWORD, TARGET, Driver, Server, png, waitFor } from "./webdriver.mjs";

const CLI = process.env.ONSITE_CLI_BIN ?? join(TARGET, "debug", "onsite");
const JOBS = Number(process.env.MEASURE_JOBS ?? 500);
const PHOTOS = Number(process.env.MEASURE_PHOTOS ?? 1000);
const HEAVY = 30;

const xdg = mkdtempSync(join(tmpdir(), "onsite-measure-"));
const data = join(xdg, "com.onsite.app");
const cli = (args, input) =>
  execFileSync(CLI, ["--data", data, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });

function rssOfTree(rootPid) {
  const procs = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  const parent = new Map();
  const info = new Map();
  for (const p of procs) {
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)[1]);
      const rss = Number((/VmRSS:\s+(\d+)/.exec(status) ?? [0, 0])[1]);
      const name = /Name:\s+(.*)/.exec(status)[1];
      parent.set(Number(p), ppid);
      info.set(Number(p), { rss, name });
    } catch {
      /* gone */
    }
  }
  const isBelow = (pid) => {
    for (let q = parent.get(pid); q; q = parent.get(q)) if (q === rootPid) return true;
    return false;
  };
  const out = { app: 0, webkit: 0, processes: [] };
  for (const [pid, { rss, name }] of info) {
    if (!isBelow(pid)) continue;
    if (name.startsWith("onsite-app")) out.app += rss;
    else if (name.startsWith("WebKit")) out.webkit += rss;
    else continue;
    out.processes.push(`${name}:${Math.round(rss / 1024)}MB`);
  }
  return out;
}

const mb = (kb) => `${(kb / 1024).toFixed(0)} MB`;

const server = await new Server().start();
console.log(`preparing a replica with ${JOBS} jobs and ${PHOTOS} photos in ${data} …`);
cli(["login", "--server", server.url, "--username", "alice"], `${PASSWORD}\n`);
cli(["sync"]);
cli(["import", "--sample", "--count", String(JOBS)]);
const today = JSON.parse(cli(["--json", "jobs", "--scope", "today"]));
const all = JSON.parse(cli(["--json", "jobs", "--scope", "all"]));
const heavy = today[0];
const others = all.filter((j) => j.id !== heavy.id && j.status !== "completed" && j.status !== "cancelled");
const photoDir = mkdtempSync(join(tmpdir(), "onsite-measure-photos-"));
const started = Date.now();
// Two at a time: the photo pipeline is CPU-bound and the machine has two cores.
const run = promisify(execFile);
let next = 0;
async function attachWorker() {
  for (let i = next++; i < PHOTOS; i = next++) {
    const file = join(photoDir, `p${i}.png`);
    writeFileSync(file, png(640, 480, [i & 255, (i >> 8) * 40, 90]));
    const job = i < HEAVY ? heavy : others[i % others.length];
    await run(CLI, ["--data", data, "photo", job.id, file, "--kind", i % 2 ? "after" : "before"]);
  }
}
await Promise.all([attachWorker(), attachWorker()]);
console.log(`  ${PHOTOS} photos attached in ${((Date.now() - started) / 1000).toFixed(0)} s`);
await server.stop();

const t0 = performance.now();
const d = await Driver.start("measure", { XDG_DATA_HOME: xdg, ONSITE_SYNC_INTERVAL_SECS: "3600" });
await d.wait("job-card", 60_000);
const startMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000));
const idle = rssOfTree(d.child.pid);

const t1 = performance.now();
await d.click(`[data-number="${heavy.number}"]`);
await d.wait("checklist-progress");
const jobShownMs = performance.now() - t1;
await waitFor(
  "30 thumbnails",
  async () =>
    (await d.exec(
      `return [...document.querySelectorAll('[data-testid="photo-thumb"] img')].filter((i) => i.src.startsWith("data:")).length`,
    )) >= HEAVY,
  60_000,
);
const thumbsMs = performance.now() - t1;
await d.screenshot("measure-job-30-photos");
const open = rssOfTree(d.child.pid);
await d.quit();

const size = statSync(APP).size;
// What a package would ship: the same binary without symbols.
const stripped = join(mkdtempSync(join(tmpdir(), "onsite-strip-")), "onsite-app");
execFileSync("strip", ["-o", stripped, APP]);
const strippedSize = statSync(stripped).size;
const figures = {
  app_binary: APP,
  binary_bytes: size,
  binary_stripped_bytes: strippedSize,
  start_to_job_list_ms: Math.round(startMs),
  rss_idle_kb: { app: idle.app, webkit: idle.webkit, total: idle.app + idle.webkit },
  rss_job_open_kb: { app: open.app, webkit: open.webkit, total: open.app + open.webkit },
  open_job_30_photos_ms: { job_shown: Math.round(jobShownMs), thumbnails_loaded: Math.round(thumbsMs) },
  replica: { jobs: all.length, photos: PHOTOS },
};
writeFileSync(join(ARTIFACTS, "measurements.json"), JSON.stringify(figures, null, 2));
console.log(`
Onsite app, ${all.length} jobs and ${PHOTOS} photos in the replica (Xvfb, WebKitGTK):
  release binary                      ${(size / 1024 / 1024).toFixed(1)} MB, ${(strippedSize / 1024 / 1024).toFixed(1)} MB stripped  (${APP})
  start to job list visible           ${Math.round(startMs)} ms  (WebDriver session start included)
  resident memory, job list idle      ${mb(idle.app + idle.webkit)}  (app ${mb(idle.app)} + WebKit ${mb(idle.webkit)})
  resident memory, 30-photo job open  ${mb(open.app + open.webkit)}  (app ${mb(open.app)} + WebKit ${mb(open.webkit)})
  open a job with 30 photos           ${Math.round(jobShownMs)} ms to the job screen, ${Math.round(thumbsMs)} ms until all 30 thumbnails are shown
  processes: ${open.processes.join(", ")}
figures saved to ${join(ARTIFACTS, "measurements.json")}`);
