// The built app in a real webview (WebKitGTK under Xvfb), driven through WebKitWebDriver,
// against the real onsite-server on loopback. Screenshots of each step go to
// target/e2e-artifacts/. Run by scripts/test, which builds the app first (release, with the
// UI embedded: `cargo build --release --features custom-protocol --bin onsite-app`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { APP, SERVER, ARTIFACTS, PASSWORD, ROOT, Driver, Server, png, sleep, waitFor } from "./webdriver.mjs";

const photos = mkdtempSync(join(tmpdir(), "onsite-e2e-photos-"));
const beforePhoto = join(photos, "before.png");
const afterPhoto = join(photos, "after.png");

before(() => {
  for (const bin of [APP, SERVER]) {
    assert.ok(existsSync(bin), `${bin} is missing: build the app (with custom-protocol) and the server first`);
  }
  writeFileSync(beforePhoto, png(320, 240, [150, 90, 40]));
  writeFileSync(afterPhoto, png(320, 240, [40, 140, 200]));
});

/** A fresh device: its own app data folder, the app started by the driver. */
async function device(name) {
  const xdg = mkdtempSync(join(tmpdir(), `onsite-e2e-${name}-`));
  return Driver.start(name, { XDG_DATA_HOME: xdg, ONSITE_SYNC_INTERVAL_SECS: "3600" });
}

async function signIn(d, server, shot) {
  await d.wait("server-url", 30_000);
  if (shot) await d.screenshot(shot);
  await d.type("server-url", server.url);
  await d.type("username", "alice");
  await d.type("password", PASSWORD);
  await d.click("sign-in");
  await d.wait("job-card", 30_000);
}

async function pendingCount(d) {
  const el = await d.wait("pending-count");
  return Number(await d.attr(el, "data-count"));
}

async function openFirstJob(d) {
  const card = (await d.findAll('[data-testid="job-card"]'))[0];
  const number = await d.attr(card, "data-number");
  await d.s(`/element/${card}/click`, "POST", {});
  await d.wait("checklist-progress");
  const summary = (await d.invoke("jobs", { scope: "all" })).find((j) => j.number === number);
  return { number, id: summary.id };
}

/** Sets a file on the hidden photo input; falls back to the same path a drop takes. */
async function addPhoto(d, kind, path, caption) {
  const select = await d.wait("photo-kind");
  await d.exec(
    `const [s, v] = arguments; s.value = v; s.dispatchEvent(new Event("change", { bubbles: true }));`,
    [d.ref(select), kind],
  );
  if (caption) await d.type("photo-caption", caption);
  const count = (await d.findAll('[data-testid="photo-thumb"]')).length;
  const input = await d.wait("photo-input");
  try {
    await d.s(`/element/${input}/value`, "POST", { text: path });
  } catch {
    const b64 = (await import("node:fs")).readFileSync(path).toString("base64");
    await d.exec(
      `const [input, b64, name] = arguments;
       const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
       const dt = new DataTransfer();
       dt.items.add(new File([bytes], name, { type: "image/png" }));
       input.files = dt.files;
       input.dispatchEvent(new Event("change", { bubbles: true }));`,
      [d.ref(input), b64, path.split("/").pop()],
    );
  }
  await waitFor(`${kind} photo`, async () => (await d.findAll('[data-testid="photo-thumb"]')).length > count);
}

/**
 * Answers every required checklist item through its control, as the technician would. Conduct
 * items named in `no` are answered "no" with the reason given there.
 */
async function workChecklist(d, jobId, { no = {} } = {}) {
  const detail = await d.invoke("job", { jobId });
  for (const line of detail.checklist) {
    if (!line.item.required || line.answer) continue;
    const key = line.item.key;
    const kind = line.item.kind;
    if (kind.type === "conduct" && no[key]) {
      await d.click(`check-${key}-no`);
      await d.type(`check-${key}-reason`, no[key]);
      await d.click(`check-${key}-save`);
    } else if (kind.type === "check" || kind.type === "conduct") await d.click(`check-${key}`);
    else if (kind.type === "choice") await d.click(`check-${key}-${kind.options[0].key}`);
    else if (kind.type === "number") {
      await d.type(`check-${key}-input`, String(kind.min ?? 1) + "\n");
    } else if (kind.type === "text") {
      const el = await d.type(`check-${key}-input`, "Checked and fine");
      await d.exec(`arguments[0].dispatchEvent(new Event("change", { bubbles: true }))`, [d.ref(el)]);
    } else continue;
    await waitFor(`answer to ${key}`, async () => {
      const j = await d.invoke("job", { jobId });
      return j.checklist.find((l) => l.item.key === key).answer;
    });
  }
}

async function signAndRate(d, { beforeSave } = {}) {
  await d.click("sign-off");
  const text = await d.text(await d.wait("sign-off-text"));
  assert.match(text, /Job: WO-/);
  const pad = await d.wait("signature-pad");
  await d.draw(pad, [
    [[-120, 10], [-80, -25], [-40, 20], [0, -20], [40, 15]],
    [[60, -10], [100, 20], [130, -15]],
  ]);
  const drawn = Number(await d.attr(pad, "data-strokes"));
  if (!(drawn > 0)) {
    // Synthetic pointer events, the same handlers a finger or a pen reaches.
    await d.exec(
      `const c = arguments[0]; const r = c.getBoundingClientRect();
       const ev = (t, x, y) => c.dispatchEvent(new PointerEvent(t, { bubbles: true, pointerId: 7, pointerType: "pen", isPrimary: true, clientX: r.left + x, clientY: r.top + y, buttons: t === "pointerup" ? 0 : 1 }));
       ev("pointerdown", 20, 60); for (let i = 1; i <= 12; i++) ev("pointermove", 20 + i * 18, 60 + Math.sin(i) * 30); ev("pointerup", 236, 60);`,
      [d.ref(pad)],
    );
  }
  await waitFor("strokes on the pad", async () => Number(await d.attr(pad, "data-strokes")) > 0);
  await d.type("signer-name", "Li Na");
  await d.click("rating-5");
  await d.click("nps-9");
  await d.type("feedback-comment", "Quick, tidy and explained everything");
  if (beforeSave) await beforeSave();
  else await d.screenshot(`${d.name}-06-sign-off`);
  await d.click("save-sign-off");
  await d.wait("signed-by", 15_000);
}

/** The office's view of the job, from the server's REST API. */
async function officeView(server, jobId) {
  const get = await server.as("dana");
  return get(`/api/v1/work-orders/${jobId}`);
}

function assertCompletedOnServer(job, checklistKeys) {
  const wo = job.work_order ?? job;
  assert.equal(wo.status, "completed", `server status: ${JSON.stringify(wo.status)}`);
  const answers = job.answers ?? job.checklist_answers ?? [];
  const shoeCovers = answers.find((a) => a.item_key === "shoe_covers");
  assert.deepEqual(shoeCovers?.value, { type: "no", value: SHOE_COVERS_REASON }, "the conduct no and its reason");
  for (const key of checklistKeys) {
    assert.ok(
      answers.some((a) => a.item_key === key),
      `answer ${key} on the server (got ${answers.map((a) => a.item_key).join(", ")})`,
    );
  }
  const kinds = (job.photos ?? []).map((p) => p.kind).sort();
  assert.deepEqual(kinds.filter((k) => k === "before" || k === "after"), ["after", "before"]);
  assert.equal((job.signatures ?? []).length, 1);
  assert.equal((job.feedback ?? [])[0]?.rating, 5);
}

const SHOE_COVERS_REASON = "The customer asked us to keep shoes on: the floor is being replaced";

/** One visit, from the job list to completion, with screenshots. */
async function workVisit(d, { screenshots }) {
  const job = await openFirstJob(d);
  if (screenshots) await d.screenshot(`${d.name}-03-job`);
  await d.click("action-start_travel");
  await d.click("action-arrive");
  await d.click("action-start_work");

  // Completing too early shows what is missing.
  await d.click("action-complete");
  const list = await d.wait("missing-list");
  const missing = await d.text(list);
  assert.ok(missing.length > 0);
  await d.wait('[data-testid="missing-signature"]');
  if (screenshots) await d.screenshot(`${d.name}-04-missing`);

  // A conduct standard not met is recorded truthfully, with its reason, and does not block.
  await workChecklist(d, job.id, { no: { shoe_covers: SHOE_COVERS_REASON } });
  await d.wait("conduct-exceptions");
  await addPhoto(d, "before", beforePhoto, "As found");
  await addPhoto(d, "after", afterPhoto, "After the repair");
  await d.type("text-diagnosis", "Scale on the heat exchanger");
  await d.exec(`arguments[0].dispatchEvent(new Event("change", { bubbles: true }))`, [d.ref(await d.wait("text-diagnosis"))]);
  if (screenshots) await d.screenshot(`${d.name}-05-checklist-photos`);

  await signAndRate(d);
  await d.click("action-complete");
  await waitFor("completed", async () => (await d.invoke("job", { jobId: job.id })).work_order.status === "completed");
  await d.wait("milestone-complete");
  if (screenshots) await d.screenshot(`${d.name}-07-completed`);
  const detail = await d.invoke("job", { jobId: job.id });
  const keys = detail.checklist.filter((l) => l.item.required && l.answer).map((l) => l.item.key);
  return { ...job, keys };
}

test("a technician signs in, works a visit and it reaches the office", { timeout: 240_000 }, async () => {
  const server = await new Server().start();
  const d = await device("online");
  d.name = "online";
  try {
    await signIn(d, server, "online-01-sign-in");
    await d.click("filter-today");
    await d.screenshot("online-02-job-list");
    const job = await workVisit(d, { screenshots: true });

    await d.click("back");
    await d.click("sync-button");
    await waitFor("everything synced", async () => (await pendingCount(d)) === 0, 30_000);
    await d.screenshot("online-08-synced");
    assertCompletedOnServer(await officeView(server, job.id), job.keys);

    // The technician's own figures, worked out on the device, agree with the server's for
    // the same jobs; the visit just completed counts, shoe covers "no" against conduct.
    const mine = await d.invoke("my_kpis", {});
    const theirs = await (await server.as("alice"))("/api/v1/kpis");
    assert.ok(mine.all.completed >= 1);
    for (const key of ["completed", "first_time_fix", "conduct_all_items", "response_sla"]) {
      assert.deepEqual(mine.all[key], theirs.all[key], `${key}: device and server agree`);
    }
    await d.exec(`document.querySelector('[data-testid="my-kpis"]').scrollIntoView({ block: "start", behavior: "instant" })`);
    assert.match(await d.text(await d.wait("kpi-completed")), new RegExp(String(mine.all.completed)));
    await d.screenshot("online-08c-my-figures");

    // Online, the app holds the server's live channel: a job the office gives alice now
    // shows up on her list without a tap on Sync.
    await waitFor("the live channel", async () => (await d.attr(await d.wait("sync-state"), "data-state")) === "live", 30_000);
    const office = await server.as("dana");
    const customers = await office("/api/v1/customers");
    const start = new Date(Date.now() + 60_000);
    const given = await office.post("/api/v1/work-orders", {
      customer_id: customers[0].id,
      job_type: "repair",
      priority: "urgent",
      problem: "Boiler pressure keeps dropping",
      assignee: "alice",
      appointment_start: start.toISOString(),
      appointment_end: new Date(start.getTime() + 3_600_000).toISOString(),
    });
    await d.click("filter-today");
    await waitFor(
      "the office's new job on the list",
      async () => (await d.findAll(`[data-testid="job-card"][data-number="${given.number}"]`)).length === 1,
      30_000,
    );
    // The list re-renders as the pull lands: scroll until the new card stays in view (at
    // the top of the list when its appointment is the day's first, so no scroll is needed).
    await waitFor("the new job in view", async () =>
      d.exec(
        `const c = document.querySelector('[data-testid="job-card"][data-number="' + arguments[0] + '"]');
         if (!c) return false;
         window.scrollTo({ top: c.getBoundingClientRect().top + window.scrollY - 200, behavior: "instant" });
         const r = c.getBoundingClientRect();
         return r.top >= 0 && r.bottom <= window.innerHeight;`,
        [given.number],
      ),
    );
    await d.screenshot("online-08b-live-job");

    // A refused sync says what happened and what to do.
    const session = await d.invoke("session");
    server.admin(["device", "revoke", session.device_id]);
    await d.click("filter-today");
    await d.click("job-card");
    await d.click("action-start_travel");
    await d.click("back");
    await d.click("sync-button");
    const problem = await d.wait("sync-error", 30_000);
    assert.match(await d.text(problem), /sign in/i);
    await d.screenshot("online-09-refused");
  } finally {
    await d.quit();
    await server.stop();
  }
});

test("offline all day: everything waits on the device, then syncs when the server is back", { timeout: 240_000 }, async () => {
  const server = await new Server().start();
  const d = await device("offline");
  d.name = "offline";
  try {
    await signIn(d, server);
    await server.stop();

    const job = await workVisit(d, { screenshots: true });
    await d.click("back");
    const pending = await pendingCount(d);
    assert.ok(pending > 10, `pending changes shown: ${pending}`);
    await d.click("sync-button");
    const problem = await d.wait("sync-error", 60_000);
    assert.match(await d.text(problem), /no connection|reach/i);
    await waitFor("offline state", async () => (await d.attr(await d.wait("sync-state"), "data-state")) === "offline");
    await d.screenshot("offline-08-queued");

    await server.start();
    await d.click("sync-button");
    await waitFor("everything synced", async () => (await pendingCount(d)) === 0, 60_000);
    await d.screenshot("offline-09-synced");
    assertCompletedOnServer(await officeView(server, job.id), job.keys);
  } finally {
    await d.quit();
    await server.stop();
  }
});

/** A label from the UI's Chinese catalogue, up to its first {placeholder}. */
function zhLabel(key) {
  const catalogue = readFileSync(join(ROOT, "ui/src/lib/i18n/zh.ts"), "utf8");
  const escaped = key.replace(/\./g, "\\.");
  const m = catalogue.match(new RegExp(`"${escaped}":\\s*"([^"]*)"`));
  assert.ok(m, `${key} in ui/src/lib/i18n/zh.ts`);
  return m[1].split("{")[0].trim();
}

/**
 * Whether the Han characters of an element's text are drawn as glyphs in its own font: each
 * is drawn on a canvas and compared. Without a CJK font every one comes out as the same
 * empty box (the font's .notdef), so distinct characters give identical pixels.
 */
async function hanGlyphsDrawn(d, el) {
  return d.exec(
    `const el = arguments[0];
     const han = [...new Set([...el.textContent].filter((c) => /\\p{Script=Han}/u.test(c)))].slice(0, 6);
     const font = getComputedStyle(el).fontFamily;
     const c = document.createElement("canvas");
     c.width = 48; c.height = 48;
     const ctx = c.getContext("2d", { willReadFrequently: true });
     const draw = (ch) => {
       ctx.clearRect(0, 0, 48, 48);
       ctx.font = "32px " + font;
       ctx.textBaseline = "top";
       ctx.fillText(ch, 4, 4);
       const alpha = ctx.getImageData(0, 0, 48, 48).data.filter((_, i) => i % 4 === 3);
       return { ink: alpha.filter((a) => a > 0).length, key: alpha.join(",") };
     };
     const drawn = han.map(draw);
     return { han: han.join(""), font, distinct: new Set(drawn.map((g) => g.key)).size, inked: drawn.every((g) => g.ink > 0) };`,
    [d.ref(el)],
  );
}

async function assertChineseShown(d, sel, key) {
  const el = await d.wait(sel);
  const label = zhLabel(key);
  await waitFor(`${sel} in Chinese ("${label}")`, async () => (await d.text(el)).includes(label));
  const g = await hanGlyphsDrawn(d, el);
  assert.ok(g.han.length >= 2, `${sel}: Han characters in ${JSON.stringify(await d.text(el))}`);
  assert.ok(
    g.inked && g.distinct === g.han.length,
    `${sel}: "${g.han}" drawn as ${g.distinct} distinct glyph(s) in ${g.font}: is a CJK font installed (fonts-noto-cjk)?`,
  );
}

test("中文: the job list and a job in Chinese, then back to English", { timeout: 120_000 }, async () => {
  const server = await new Server().start();
  const d = await device("zh");
  d.name = "zh";
  try {
    await signIn(d, server);
    const toggle = await d.wait("lang-toggle");
    assert.equal(await d.attr(toggle, "data-locale"), "en");
    await d.click("lang-toggle");
    await waitFor("the Chinese UI", async () => (await d.attr(await d.wait("lang-toggle"), "data-locale")) === "zh");
    assert.equal(await d.exec("return document.documentElement.lang"), "zh-CN");

    // Each screen is shot before its checks, so a failure leaves the picture behind.
    await d.click("filter-today");
    await d.wait("job-card");
    const title = zhLabel("jobs.title");
    await waitFor("the list's Chinese title", async () => (await d.text(await d.wait('[id="jobs-title"]'))) === title);
    await d.screenshot("zh-01-job-list");
    await assertChineseShown(d, '[id="jobs-title"]', "jobs.title");
    await assertChineseShown(d, "filter-today", "filter.today");
    await assertChineseShown(d, "sync-button", "sync.button");

    await openFirstJob(d);
    await d.screenshot("zh-02-job");
    await assertChineseShown(d, "action-start_travel", "action.start_travel");
    await assertChineseShown(d, "checklist-progress", "checklist.progress");

    // The choice is remembered and can be undone: back to English on the same screen.
    await d.click("lang-toggle");
    await waitFor("the English UI", async () => (await d.attr(await d.wait("lang-toggle"), "data-locale")) === "en");
    assert.equal(await d.text(await d.wait("lang-toggle")), "中文");
    assert.match(await d.text(await d.wait("checklist-progress")), /[A-Za-z]/);
    await d.screenshot("zh-03-back-to-english");
  } finally {
    await d.quit();
    await server.stop();
  }
});

after(() => {
  console.log(`screenshots in ${ARTIFACTS}`);
});

/**
 * Touch targets and width on a tablet, measured from the page: every visible control
 * (button, link, input, select, textarea, role=button/radio/checkbox, a label that stands
 * for a file, checkbox or radio input) is at least 44×44 CSS px, and the page never scrolls
 * sideways. Returns the failures, each with the control's text, so one run names them all.
 */
function tabletCheck(d, screen) {
  return d.exec(
    `const MIN = 44;
     const shown = (el) => {
       const r = el.getBoundingClientRect();
       if (r.width <= 1 || r.height <= 1) return null; // visually hidden: its label is the target
       const s = getComputedStyle(el);
       if (s.visibility === "hidden" || s.display === "none") return null;
       return r;
     };
     const name = (el) => (el.dataset.testid ? "[" + el.dataset.testid + "] " : "") + el.tagName.toLowerCase() +
       (el.type ? "[" + el.type + "]" : "") + " " + JSON.stringify((el.textContent || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 40));
     const controls = document.querySelectorAll(
       'button, a[href], input:not([type="hidden"]), select, textarea, [role="button"], [role="radio"], [role="checkbox"], [role="tab"], label');
     const small = [];
     let counted = 0;
     let smallest = null;
     for (const el of controls) {
       if (el.tagName === "LABEL") {
         // A label is a touch target when it stands in for its input (hidden file input,
         // a checkbox), by \`for\` or by wrapping it; a heading-style label above a text
         // field is not.
         const input = el.control;
         if (!input || !(input.type === "file" || input.type === "checkbox" || input.type === "radio")) continue;
       }
       let r = shown(el);
       if (!r) continue;
       if (el.type === "checkbox" || el.type === "radio") {
         // The box and its label are one target: the label's box counts when it is larger.
         const label = el.closest("label") || (el.id && document.querySelector('label[for="' + el.id + '"]'));
         const lr = label && shown(label);
         if (lr && lr.width * lr.height > r.width * r.height) r = lr;
       }
       counted++;
       const size = Math.round(r.width) + "×" + Math.round(r.height);
       if (!smallest || Math.min(r.width, r.height) < smallest.side) smallest = { side: Math.min(r.width, r.height), what: name(el) + " " + size };
       if (r.width < MIN - 0.5 || r.height < MIN - 0.5) small.push(name(el) + " " + size);
     }
     const sw = document.documentElement.scrollWidth;
     return { screen: arguments[0], counted, smallest: smallest && smallest.what, small, scrollWidth: sw, innerWidth: window.innerWidth, innerHeight: window.innerHeight };`,
    [screen],
  );
}

test("a tablet, 768×1024 portrait (then landscape): every screen shot, touch targets ≥ 44 px, nothing scrolls sideways", { timeout: 240_000 }, async () => {
  const server = await new Server().start();
  const d = await device("tablet");
  d.name = "tablet";
  const results = [];
  // Each screen is shot before its checks, so a failure leaves the picture behind.
  const screen = async (name) => {
    await d.screenshot(`tablet-${name}`);
    results.push(await tabletCheck(d, name));
  };
  // A section's top just below the sticky sync bar.
  const scrollTo = async (id) => {
    const top = () =>
      d.exec(
        `const el = document.getElementById(arguments[0]);
         document.activeElement?.blur();
         window.scrollTo({ top: el.getBoundingClientRect().top + window.scrollY - 70, behavior: "instant" });
         return Math.round(el.getBoundingClientRect().top);`,
        [id],
      );
    const atTop = async () => Math.abs((await top()) - 70) <= 2;
    await waitFor(`#${id} at the top`, async () => (await atTop()) && (await sleep(300), await atTop()));
  };
  try {
    await d.s("/window/rect", "POST", { width: 768, height: 1024 });
    await waitFor("a 768×1024 window", async () => (await d.exec("return [window.innerWidth, window.innerHeight].join()")) === "768,1024");

    // The check itself: a small button and a too-wide block are caught, then removed.
    await d.wait("server-url", 30_000);
    await d.exec(
      `const b = document.createElement("button"); b.id = "probe-small"; b.textContent = "x";
       b.style.cssText = "min-height: 0; min-width: 0; padding: 0; width: 30px; height: 30px";
       const w = document.createElement("div"); w.id = "probe-wide"; w.style.cssText = "width: 900px; height: 1px";
       document.body.append(b, w);`,
    );
    const probe = await tabletCheck(d, "probe");
    await d.exec(`document.getElementById("probe-small").remove(); document.getElementById("probe-wide").remove();`);
    assert.ok(probe.small.some((s) => s.includes("30×30")), `the check finds a 30 px button: ${JSON.stringify(probe)}`);
    assert.ok(probe.scrollWidth > probe.innerWidth, `the check finds sideways scrolling: ${JSON.stringify(probe)}`);

    await screen("01-sign-in");
    await signIn(d, server);
    await d.click("filter-today");
    await screen("02-job-list");

    const job = await openFirstJob(d);
    await screen("03-job");
    const input = await d.wait("photo-input");
    assert.equal(await d.attr(input, "accept"), "image/*");
    assert.equal(await d.attr(input, "capture"), "environment", "the photo input offers the camera on tablets");

    await d.click("action-start_travel");
    await d.click("action-arrive");
    await d.click("action-start_work");
    await d.click("action-complete");
    await d.wait("missing-list");
    await screen("04-missing");

    await workChecklist(d, job.id);
    await scrollTo("checklist");
    await screen("05-checklist");
    await addPhoto(d, "before", beforePhoto, "As found");
    await addPhoto(d, "after", afterPhoto, "After the repair");
    await waitFor("photos saved", async () => (await d.exec(`return !document.querySelector("#photos [role=status]")`)) === true);
    await scrollTo("photos");
    await screen("05b-photos");

    await d.click("photo-thumb");
    await d.wait("photo-viewer");
    await screen("05c-photo-viewer");
    await d.exec(`document.querySelector('[data-testid="photo-viewer"] button').click()`);

    // A part and a note, so the list of parts (with its remove buttons) and the notes show.
    await d.type("part-no", "HX-220");
    await d.type("part-description", "Heat exchanger gasket");
    await d.click("add-part");
    await d.wait("remove-part");
    await d.type("note-body", "Customer asked for a descaling offer");
    await d.click("add-note");
    await waitFor("the note saved", async () => (await d.exec(`return document.querySelector('[data-testid="note-body"]').value`)) === "");
    await scrollTo("notes");
    await screen("05d-notes-parts");

    await signAndRate(d, {
      beforeSave: async () => {
        // The last typed keys painted before the shot.
        await d.execAsync(`requestAnimationFrame(() => requestAnimationFrame(arguments[0]))`);
        await screen("06-sign-off");
      },
    });
    await screen("07-signed");
    await d.click("action-complete");
    await d.wait("milestone-complete");
    await d.exec(`window.scrollTo({ top: 0, behavior: "instant" })`);
    await screen("08-completed");
    await d.click("report-toggle");
    await d.wait("report-preview");
    await waitFor("the report drawn", async () => (await d.exec(`return /WO-/.test(document.querySelector('[data-testid="report-preview"]').srcdoc)`)) === true);
    await sleep(300); // the sandboxed frame is opaque to the page: give it time to paint
    await d.exec(`document.getElementById("report-title").scrollIntoView({ block: "start", behavior: "instant" }); window.scrollBy({ top: -70, behavior: "instant" })`);
    await screen("08b-report");
    await d.click("back");
    await d.wait("job-card");
    await screen("09-job-list-after");
    await d.click("filter-done");
    await d.wait("job-card");
    await screen("09b-job-list-done");

    // Chinese labels have other widths: the same checks on the list and a job in Chinese.
    await d.click("lang-toggle");
    await waitFor("the Chinese UI", async () => (await d.attr(await d.wait("lang-toggle"), "data-locale")) === "zh");
    await d.click("filter-today");
    await d.wait("job-card");
    await screen("10-zh-job-list");
    await openFirstJob(d);
    await screen("11-zh-job");
    await scrollTo("checklist");
    await screen("12-zh-checklist");
    await d.click("lang-toggle");
    await waitFor("the English UI", async () => (await d.attr(await d.wait("lang-toggle"), "data-locale")) === "en");

    // The same tablet turned to landscape.
    await d.s("/window/rect", "POST", { width: 1024, height: 768 });
    await waitFor("a 1024×768 window", async () => (await d.exec("return [window.innerWidth, window.innerHeight].join()")) === "1024,768");
    await d.exec(`window.scrollTo({ top: 0, behavior: "instant" })`);
    await screen("13-landscape-job");
    await d.click("back");
    await d.wait("job-card");
    await screen("14-landscape-job-list");
  } finally {
    await d.quit();
    await server.stop();
  }
  for (const r of results) console.log(`${r.screen}: ${r.counted} controls (smallest ${r.smallest}), scrollWidth ${r.scrollWidth} / ${r.innerWidth}×${r.innerHeight}`);
  const failures = results.flatMap((r) => [
    ...r.small.map((s) => `${r.screen}: under 44 px: ${s}`),
    ...(r.scrollWidth > r.innerWidth ? [`${r.screen}: scrolls sideways (${r.scrollWidth} > ${r.innerWidth})`] : []),
  ]);
  assert.deepEqual(failures, [], failures.join("\n"));
  assert.ok(results.every((r) => (r.screen.includes("landscape") ? r.innerWidth === 1024 : r.innerWidth === 768) && r.counted > 0));
});
