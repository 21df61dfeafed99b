// The office console end to end: the real onsite-server (debug build, demo data) serving the
// console it embeds, driven in Debian's headless Chromium over WebDriver. A dispatcher signs
// in (after a wrong password and a technician are refused), sees the jobs, filters and
// searches them, opens one, switches to Chinese, and signs out, which ends the session on the
// server. Screenshots: $CARGO_TARGET_DIR/e2e-artifacts/console-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Driver, Server, PASSWORD, waitFor } from "./webdriver.mjs";

let server;
let web;

before(async () => {
  server = await new Server().start();
  web = await Driver.startChromium("console");
});

after(async () => {
  await web?.quit();
  await server?.stop();
});

/** Text of every element matching `css`. */
async function texts(css) {
  const els = await web.findAll(css);
  return Promise.all(els.map((e) => web.text(e)));
}

test("the console is served with a strict policy", async () => {
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /^text\/html/);
  const csp = res.headers.get("content-security-policy");
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/, "no inline or remote scripts");
  assert.match(csp, /frame-ancestors 'none'/);
  const page = await res.text();
  assert.doesNotMatch(page, /not built into this server/, "the console was built before the test");
  const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page)?.[1];
  assert.ok(asset, "the page names its script");
  const js = await fetch(`${server.url}${asset}`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type"), /^text\/javascript/);
  assert.match(js.headers.get("cache-control"), /immutable/);
  // A path the console routes itself is the page again; a missing file is a JSON 404.
  const deep = await fetch(`${server.url}/console/jobs/0194a9c0-0000-7000-8000-000000000000`);
  assert.equal(deep.status, 200);
  assert.match(deep.headers.get("content-type"), /^text\/html/);
  const missing = await fetch(`${server.url}/console/assets/nope.js`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).code, "not_found");
});

test("a dispatcher signs in, works the jobs, switches to Chinese and signs out", async () => {
  await web.open(`${server.url}/`);
  await web.wait("console-sign-in");
  // First load: what crossed the wire and how long until the sign-in screen was there.
  const load = await web.exec(`
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource");
    const bytes = [nav, ...res].reduce((n, e) => n + (e.transferSize || 0), 0);
    return { bytes, files: res.length + 1, ms: Math.round(performance.now()) };`);
  console.log(`console first load: ${load.bytes} bytes in ${load.files} files, sign-in shown by ${load.ms} ms`);
  assert.ok(load.bytes > 0 && load.bytes < 500_000, `first load ${load.bytes} bytes`);
  await web.screenshot("console-01-sign-in");

  // A wrong password, then a technician: each says what to do.
  await web.type("console-username", "dana");
  await web.type("console-password", "not-the-password");
  await web.click("console-sign-in-submit");
  const wrong = await web.wait("console-sign-in-error");
  assert.match(await web.text(wrong), /Wrong username or password/);
  await web.screenshot("console-02-wrong-password");
  await web.type("console-username", "alice");
  await web.type("console-password", PASSWORD);
  await web.click("console-sign-in-submit");
  await waitFor("the technician's refusal", async () =>
    /for the office/.test(await web.text(await web.find('[data-testid="console-sign-in-error"]'))),
  );
  await web.screenshot("console-03-technician-refused");

  await web.type("console-username", "dana");
  await web.type("console-password", PASSWORD);
  await web.click("console-sign-in-submit");
  await web.wait("console-jobs-table");
  const user = await web.text(await web.wait("console-user"));
  assert.match(user, /Dana Okafor/);
  assert.match(user, /Dispatcher/);
  // The session cookie is out of the page's reach.
  assert.doesNotMatch(await web.exec("return document.cookie"), /onsite_session/);

  const office = await server.as("dana");
  const all = await office("/api/v1/work-orders");
  const rows = await waitFor("every job listed", async () => {
    const r = await texts('[data-testid="console-job-row"]');
    return r.length === all.length && r;
  });
  assert.ok(rows.length > 0, "the demo day has jobs");
  await web.screenshot("console-04-jobs");

  // Search by number narrows the list to that job.
  const job = all.find((j) => j.assignee_id) ?? all[0];
  await web.type("console-search", job.number);
  await waitFor("one row", async () => (await texts('[data-testid="console-job-row"]')).length === 1);
  // A search that matches nothing says what to do.
  await web.type("console-search", "no-such-job-zz");
  const empty = await web.wait("console-jobs-empty");
  assert.match(await web.text(empty), /No job matches/);
  await web.screenshot("console-05-no-match");
  await web.type("console-search", job.number);
  await waitFor("the job again", async () => (await texts('[data-testid="console-job-row"]')).length === 1);

  await web.click("console-job-link");
  const record = await web.wait("console-job");
  assert.equal(await web.attr(record, "data-number"), job.number);
  assert.match(await web.text(await web.wait("console-job-history")), /Status history/);
  await web.screenshot("console-06-job");

  await web.click("lang-toggle");
  await waitFor("the record in Chinese", async () => /状态记录/.test(await web.text(await web.find('[data-testid="console-job-history"]'))));
  assert.match(await web.text(await web.wait("console-back")), /全部工单/);
  await web.screenshot("console-07-job-zh");
  await web.click("console-back");
  await web.wait("console-jobs-table");
  await web.screenshot("console-08-jobs-zh");
  await web.click("lang-toggle");
  await waitFor("English again", async () => /Jobs/.test(await web.text(await web.find('[data-testid="console-nav-jobs"]'))));

  await web.click("console-sign-out");
  await web.wait("console-sign-in");
  await web.screenshot("console-09-signed-out");
  // The session ended on the server: the browser's next call is refused.
  const status = await web.execAsync(
    `const done = arguments[0]; fetch("/api/v1/web/session").then((r) => done(r.status), () => done(0));`,
  );
  assert.equal(status, 401);
});
