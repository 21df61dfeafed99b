// A small W3C WebDriver client over fetch, plus the pieces the end-to-end tests share:
// starting WebKitWebDriver and the real onsite-server, a tiny PNG maker, waiting.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, openSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { deflateSync, crc32 as zlibCrc32 } from "node:zlib";
import { createInterface } from "node:readline";

export const ROOT = resolve(import.meta.dirname, "../..");
export const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
export const APP = process.env.ONSITE_APP_BIN ?? join(TARGET, "release", "onsite-app");
export const SERVER = process.env.ONSITE_SERVER_BIN ?? join(TARGET, "debug", "onsite-server");
export const ARTIFACTS = process.env.E2E_ARTIFACTS ?? join(TARGET, "e2e-artifacts");
export const PASSWORD = "onsite-demo";
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; fails with `what` after `ms`. */
export async function waitFor(what, fn, ms = 20_000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(150);
  }
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** A real PNG of `w`×`h` with a gradient over `rgb` (so two photos never share a hash). */
export function png(w, h, rgb) {
  const crc = (buf) => zlibCrc32(buf) >>> 0;
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, c]);
  };
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (rgb[0] + x) & 255;
      raw[o + 1] = (rgb[1] + y) & 255;
      raw[o + 2] = rgb[2];
    }
  }
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

/** The real server with the demo day, on loopback; `stop()` and `start()` keep data and port. */
export class Server {
  constructor() {
    this.data = mkdtempSync(join(tmpdir(), "onsite-e2e-server-"));
    execFileSync(SERVER, ["demo", "load", "--data", this.data], { stdio: "pipe" });
    this.listen = "127.0.0.1:0";
  }

  async start() {
    this.child = spawn(SERVER, ["serve", "--listen", this.listen, "--data", this.data], {
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, RUST_LOG: "warn" },
    });
    const line = await new Promise((res, rej) => {
      const rl = createInterface({ input: this.child.stdout });
      rl.once("line", (l) => res(l));
      this.child.once("exit", (code) => rej(new Error(`onsite-server exited with ${code}`)));
    });
    const url = line.trim().replace("onsite-server listening on ", "");
    if (!url.startsWith("http://")) throw new Error(`unexpected server output: ${line}`);
    this.url = url;
    this.listen = url.slice("http://".length);
    return this;
  }

  async stop() {
    if (!this.child) return;
    const c = this.child;
    this.child = null;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  }

  admin(args) {
    return execFileSync(SERVER, [...args, "--data", this.data], { encoding: "utf8" });
  }

  /** Signs in to the REST API as `username` and returns a GET helper (`.post` sends JSON). */
  async as(username) {
    const r = await fetch(`${this.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD, device_id: crypto.randomUUID(), device_name: "e2e office" }),
    });
    if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
    const { token } = await r.json();
    const call = async (method, path, body) => {
      const res = await fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const get = (path) => call("GET", path);
    get.post = (path, body) => call("POST", path, body);
    return get;
  }
}

/** WebKitWebDriver driving the app binary, in its own process group. */
export class Driver {
  static async start(name, env) {
    const d = new Driver();
    d.port = await freePort();
    mkdirSync(ARTIFACTS, { recursive: true });
    d.log = join(ARTIFACTS, `${name}-driver.log`);
    const out = openSync(d.log, "w");
    d.child = spawn("WebKitWebDriver", [`--port=${d.port}`], {
      detached: true,
      stdio: ["ignore", out, out],
      env: { ...process.env, ...env, TAURI_WEBVIEW_AUTOMATION: "true" },
    });
    d.base = `http://127.0.0.1:${d.port}`;
    await waitFor("WebKitWebDriver", async () => (await fetch(`${d.base}/status`)).ok, 15_000);
    const s = await d.req("POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: APP, args: [] } } },
    });
    d.session = s.sessionId;
    return d;
  }

  /** Debian's headless Chromium over chromedriver (the office console's runs), in its own
   * process group like WebKitWebDriver. */
  static async startChromium(name, { width = 1280, height = 800 } = {}) {
    const d = new Driver();
    d.port = await freePort();
    mkdirSync(ARTIFACTS, { recursive: true });
    d.log = join(ARTIFACTS, `${name}-driver.log`);
    const out = openSync(d.log, "w");
    d.child = spawn(process.env.CHROMEDRIVER ?? "chromedriver", [`--port=${d.port}`], {
      detached: true,
      stdio: ["ignore", out, out],
    });
    d.base = `http://127.0.0.1:${d.port}`;
    await waitFor("chromedriver", async () => (await fetch(`${d.base}/status`)).ok, 15_000);
    const s = await d.req("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          "goog:chromeOptions": {
            args: ["--headless=new", "--no-sandbox", `--window-size=${width},${height}`, "--lang=en-US"],
          },
        },
      },
    });
    d.session = s.sessionId;
    return d;
  }

  /** Opens `url` in the browser. */
  open(url) {
    return this.s("/url", "POST", { url });
  }

  async req(method, path, body) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      const v = json.value ?? {};
      throw new Error(`${method} ${path}: ${res.status} ${v.error ?? ""} ${v.message ?? ""}`.trim());
    }
    return json.value;
  }

  s(path, method = "GET", body) {
    return this.req(method, `/session/${this.session}${path}`, body);
  }

  async quit() {
    try {
      if (this.session) await this.s("", "DELETE");
    } catch {
      /* the app may already be gone */
    }
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }

  // ---- elements --------------------------------------------------------------------

  async find(css) {
    const v = await this.s("/element", "POST", { using: "css selector", value: css });
    return v[ELEMENT];
  }

  async findAll(css) {
    const v = await this.s("/elements", "POST", { using: "css selector", value: css });
    return v.map((e) => e[ELEMENT]);
  }

  /** Waits for a `data-testid` element (or any CSS) and returns its id. */
  wait(sel, ms) {
    const css = sel.includes("[") || sel.includes(" ") ? sel : `[data-testid="${sel}"]`;
    return waitFor(css, () => this.find(css), ms);
  }

  async click(sel, ms) {
    const el = await this.wait(sel, ms);
    await waitFor(`${sel} enabled`, async () => (await this.s(`/element/${el}/enabled`)) === true, 10_000);
    try {
      await this.s(`/element/${el}/click`, "POST", {});
    } catch (e) {
      if (!/intercepted|not interactable/.test(e.message)) throw e;
      // A sticky bar covers it: bring it to the middle of the window and click again.
      await this.exec(`arguments[0].scrollIntoView({ block: "center" })`, [this.ref(el)]);
      await this.s(`/element/${el}/click`, "POST", {});
    }
    return el;
  }

  async type(sel, text, { clear = true } = {}) {
    const el = await this.wait(sel);
    if (clear) await this.s(`/element/${el}/clear`, "POST", {});
    await this.s(`/element/${el}/value`, "POST", { text });
    return el;
  }

  /** An element as an argument of an executed script. */
  ref(el) {
    return { [ELEMENT]: el };
  }

  attr(el, name) {
    return this.s(`/element/${el}/attribute/${name}`);
  }

  text(el) {
    return this.s(`/element/${el}/text`);
  }

  exec(script, args = []) {
    return this.s("/execute/sync", "POST", { script, args });
  }

  execAsync(script, args = []) {
    return this.s("/execute/async", "POST", { script, args });
  }

  /** Calls a shell command the way the UI does. */
  invoke(command, args = {}) {
    return this.execAsync(
      `const [cmd, a, done] = arguments;
       window.__TAURI_INTERNALS__.invoke(cmd, a).then((v) => done({ ok: v }), (e) => done({ err: e }));`,
      [command, args],
    ).then((r) => {
      if (r && "err" in r) throw new Error(`${command}: ${JSON.stringify(r.err)}`);
      return r.ok;
    });
  }

  async screenshot(name) {
    const b64 = await this.s("/screenshot");
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name}.png`);
    writeFileSync(path, Buffer.from(b64, "base64"));
    return path;
  }

  /** Draws strokes on an element with pointer actions (offsets from its centre). */
  async draw(el, strokes) {
    const origin = { [ELEMENT]: el };
    const actions = [];
    for (const stroke of strokes) {
      const [first, ...rest] = stroke;
      actions.push({ type: "pointerMove", origin, x: first[0], y: first[1], duration: 0 });
      actions.push({ type: "pointerDown", button: 0 });
      for (const [x, y] of rest) actions.push({ type: "pointerMove", origin, x, y, duration: 30 });
      actions.push({ type: "pointerUp", button: 0 });
    }
    await this.s("/actions", "POST", {
      actions: [{ type: "pointer", id: "finger", parameters: { pointerType: "mouse" }, actions }],
    });
    await this.s("/actions", "DELETE");
  }
}

export function readPng(path) {
  return readFileSync(path);
}
