// Design-preview mode: an in-memory stand-in for the shell's commands and sync events, so
// the screens can be looked at and clicked through in a plain browser (`vite dev`, or a
// build served by `vite preview` opened with `?mock=1`). The real app never loads it: main.ts
// imports it only outside the shell.
//
//   ?mock=1          signed in, a day of sample jobs, online
//   ?mock=offline    the same, but the server cannot be reached
//   ?mock=firstrun   a fresh device: the first-run screen, then a first sync
//   &lang=zh|en      start in that language (for screenshots)
//
// It follows the core's rules loosely (status steps, required checklist items, photos and
// signature before completion) so the screens behave as they will in the app.

import { mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { setLocale } from "./i18n/index.svelte";
import type {
  AnswerValue,
  Asset,
  ChecklistItem,
  ChecklistLine,
  ConflictRecord,
  Customer,
  Feedback,
  JobDetail,
  JobSummary,
  Missing,
  Note,
  PartUsed,
  Photo,
  PhotoKind,
  Session,
  Signature,
  SlaClock,
  StatusEvent,
  SyncStatus,
  TechnicianAction,
  WorkOrder,
  WorkOrderStatus,
} from "./types";

type Mode = "normal" | "offline" | "firstrun";

interface Job {
  wo: WorkOrder;
  customer: Customer;
  asset: Asset | null;
  items: ChecklistItem[];
  requiredPhotos: PhotoKind[];
  signatureRequired: boolean;
  answers: Record<string, AnswerValue>;
  history: StatusEvent[];
  notes: Note[];
  parts: PartUsed[];
  photos: Photo[];
  signatures: Signature[];
  feedback: Feedback[];
  conflicts: ConflictRecord[];
  pending: number;
}

const HOUR = 3_600_000;
let seq = 0;
const newId = (prefix: string) => `${prefix}-${(++seq).toString().padStart(4, "0")}`;
const iso = (ms: number) => new Date(ms).toISOString();

function item(
  key: string,
  phase: ChecklistItem["phase"],
  required: boolean,
  en: string,
  zh: string,
  kind: ChecklistItem["kind"] = { type: "check" },
): ChecklistItem {
  return { key, phase, kind, required, label: { en, zh } };
}

const conductArrival = [
  item("appointment_confirmed", "arrival", true, "Appointment confirmed with the customer in advance", "已提前与客户确认预约"),
  item("shoe_covers", "arrival", true, "Shoe covers worn on entering", "进门已穿戴鞋套"),
];
const conductDeparture = [
  item("site_cleaned", "departure", true, "Work area cleaned up", "工作区域已清理干净"),
  item("fault_explained", "departure", true, "Fault and fix explained to the customer", "已向客户说明故障原因及处理方法"),
];

const templates = {
  repair: {
    items: [
      ...conductArrival,
      item("fault_confirmed", "work", true, "Reported fault reproduced or confirmed", "已复现或确认报修故障"),
      item("root_cause", "work", true, "Root cause", "故障原因", {
        type: "choice",
        options: [
          { key: "wear", label: { en: "Wear and tear", zh: "自然磨损" } },
          { key: "defect", label: { en: "Manufacturing defect", zh: "产品缺陷" } },
          { key: "installation", label: { en: "Installation fault", zh: "安装问题" } },
          { key: "misuse", label: { en: "Misuse or damage", zh: "使用不当或损坏" } },
          { key: "other", label: { en: "Other", zh: "其他" } },
        ],
      }),
      item("test_run_ok", "work", true, "Test run after repair passed", "维修后试机正常"),
      ...conductDeparture,
    ],
    photos: ["before", "after"] as PhotoKind[],
    signature: true,
  },
  maintenance: {
    items: [
      ...conductArrival,
      item("filters_cleaned", "work", true, "Filters cleaned or replaced", "滤网已清洁或更换"),
      item("pressure_reading", "work", false, "Operating pressure reading", "运行压力读数", {
        type: "number",
        unit: "bar",
        min: 0,
        max: 50,
      }),
      item("test_run_ok", "work", true, "Test run after maintenance passed", "保养后试机正常"),
      ...conductDeparture,
    ],
    photos: ["after"] as PhotoKind[],
    signature: true,
  },
  inspection: {
    items: [
      ...conductArrival,
      item("condition", "work", true, "Overall condition", "整体状况", {
        type: "choice",
        options: [
          { key: "good", label: { en: "Good", zh: "良好" } },
          { key: "fair", label: { en: "Fair, monitor", zh: "一般，需关注" } },
          { key: "poor", label: { en: "Poor, repair needed", zh: "较差，需维修" } },
        ],
      }),
      item("findings", "work", false, "Findings", "检查发现", { type: "text" }),
      ...conductDeparture,
    ],
    photos: [] as PhotoKind[],
    signature: false,
  },
};

function makeJobs(now: number): Job[] {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  const at = (h: number, m = 0) => day.getTime() + h * HOUR + m * 60_000;
  const specs: {
    n: number;
    type: keyof typeof templates;
    priority: WorkOrder["priority"];
    status: WorkOrderStatus;
    start: number | null;
    reportedAgoH: number;
    respondH: number;
    resolveH: number;
    customer: Omit<Customer, "id">;
    asset: Omit<Asset, "id" | "customer_id"> | null;
    problem: string;
  }[] = [
    {
      n: 121,
      type: "repair",
      priority: "urgent",
      status: "assigned",
      start: at(8, 30),
      reportedAgoH: 3,
      respondH: 2,
      resolveH: 8,
      customer: { name: "Lena Hoffmann", phone: "+49 30 1234 5678", address: "Kastanienallee 12, 10435 Berlin", lat: 52.5386, lon: 13.4101, notes: "Ring twice; dog in the garden." },
      asset: { model: "ThermoLine HP-9 heat pump", serial: "HP9-22-004711", installed_on: "2022-03-14", warranty_end: "2027-03-14" },
      problem: "No hot water since this morning; error E42 on the display.",
    },
    {
      n: 122,
      type: "maintenance",
      priority: "normal",
      status: "assigned",
      start: at(11),
      reportedAgoH: 20,
      respondH: 24,
      resolveH: 72,
      customer: { name: "王建国", phone: "+86 138 0013 8000", address: "上海市徐汇区漕溪北路 88 号 1203 室", lat: 31.1937, lon: 121.4372 },
      asset: { model: "AquaPure RO-500", serial: "RO5-19-88231", installed_on: "2019-06-02", warranty_end: "2024-06-02" },
      problem: "Annual maintenance: filters and pressure check.",
    },
    {
      n: 123,
      type: "inspection",
      priority: "low",
      status: "assigned",
      start: at(14, 30),
      reportedAgoH: 24,
      respondH: 48,
      resolveH: 120,
      customer: { name: "Café Lindenhof", phone: "+49 30 9876 5432", address: "Unter den Linden 5, 10117 Berlin", lat: 52.5169, lon: 13.3889 },
      asset: { model: "BrewMaster Pro 3", serial: null, installed_on: null, warranty_end: null },
      problem: "Routine safety inspection of the espresso machine.",
    },
    {
      n: 124,
      type: "repair",
      priority: "high",
      status: "assigned",
      start: at(10),
      reportedAgoH: 3.5,
      respondH: 4,
      resolveH: 24,
      customer: { name: "Jonas Becker", phone: "+49 40 555 0101", address: "Elbchaussee 40, 22763 Hamburg" },
      asset: { model: "CoolStar FR-210 fridge", serial: "FR210-21-1192", installed_on: "2021-09-01", warranty_end: "2026-09-01" },
      problem: "Fridge compartment warm, freezer fine.",
    },
    {
      n: 125,
      type: "maintenance",
      priority: "normal",
      status: "assigned",
      start: at(24 + 9),
      reportedAgoH: 5,
      respondH: 24,
      resolveH: 72,
      customer: { name: "Sophie Martin", phone: "+33 1 23 45 67 89", address: "12 Rue de Rivoli, 75004 Paris" },
      asset: { model: "ThermoLine HP-7 heat pump", serial: "HP7-20-000815", installed_on: "2020-11-20", warranty_end: "2025-11-20" },
      problem: "Pre-winter service.",
    },
    {
      n: 119,
      type: "repair",
      priority: "normal",
      status: "completed",
      start: at(-24 + 9),
      reportedAgoH: 40,
      respondH: 24,
      resolveH: 72,
      customer: { name: "Ahmed Yilmaz", phone: "+49 69 222 333", address: "Berger Str. 101, 60316 Frankfurt" },
      asset: { model: "WashPro W8", serial: "W8-18-55120", installed_on: "2018-05-05", warranty_end: "2023-05-05" },
      problem: "Drum does not spin.",
    },
  ];

  return specs.map((s) => {
    const t = templates[s.type];
    const reported = now - s.reportedAgoH * HOUR;
    const customer: Customer = { id: newId("cust"), ...s.customer };
    const asset = s.asset ? { id: newId("asset"), customer_id: customer.id, ...s.asset } : null;
    const wo: WorkOrder = {
      id: newId("wo"),
      number: `WO-2026-000${s.n}`,
      customer_id: customer.id,
      asset_id: asset?.id ?? null,
      job_type: s.type,
      priority: s.priority,
      problem: s.problem,
      reported_at: iso(reported),
      respond_by: iso(reported + s.respondH * HOUR),
      resolve_by: iso(reported + s.resolveH * HOUR),
      appointment_start: s.start ? iso(s.start) : null,
      appointment_end: s.start ? iso(s.start + 2 * HOUR) : null,
      assignee_id: "user-1",
      status: s.status,
      follow_up_needed: false,
      needs_review: false,
    };
    const job: Job = {
      wo,
      customer,
      asset,
      items: t.items,
      requiredPhotos: t.photos,
      signatureRequired: t.signature,
      answers: {},
      history: [],
      notes: [],
      parts: [],
      photos: [],
      signatures: [],
      feedback: [],
      conflicts: [],
      pending: 0,
    };
    if (s.status === "completed") {
      wo.en_route_at = iso(s.start! - 0.5 * HOUR);
      wo.arrived_at = iso(s.start!);
      wo.started_at = iso(s.start! + 0.1 * HOUR);
      wo.completed_at = iso(s.start! + 1.5 * HOUR);
      wo.diagnosis = "Worn drive belt.";
      wo.work_done = "Replaced drive belt, test wash OK.";
      for (const i of t.items) job.answers[i.key] = i.kind.type === "choice" ? { type: "choice", value: "wear" } : { type: "check", value: true };
    }
    return job;
  });
}

const kindColours: Record<PhotoKind, string> = {
  before: "#8a5300",
  after: "#1d6b35",
  serial_plate: "#0b5cad",
  part: "#6b3fa0",
  other: "#545d68",
};

function photoSvg(kind: PhotoKind, n: number): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="${kindColours[kind]}"/><circle cx="320" cy="220" r="90" fill="none" stroke="#fff" stroke-width="12"/><text x="320" y="400" font-family="sans-serif" font-size="44" fill="#fff" text-anchor="middle">${kind} #${n}</text></svg>`;
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

function clockOf(due: string | null | undefined, doneAt: string | null | undefined, cancelled: boolean, now: number): SlaClock {
  if (!due) return { state: "not_set" };
  const d = Date.parse(due);
  if (doneAt) {
    const a = Date.parse(doneAt);
    return a <= d ? { state: "met", due, at: doneAt, margin_ms: d - a } : { state: "missed", due, at: doneAt, late_ms: a - d };
  }
  if (cancelled) return { state: "not_applicable" };
  return now <= d ? { state: "running", due, left_ms: d - now } : { state: "breached", due, over_ms: now - d };
}

const next: Record<TechnicianAction, Partial<Record<WorkOrderStatus, WorkOrderStatus>>> = {
  start_travel: { assigned: "en_route", on_hold: "en_route" },
  arrive: { assigned: "on_site", en_route: "on_site", on_hold: "on_site" },
  start_work: { on_site: "in_progress" },
  hold: { on_site: "on_hold", in_progress: "on_hold" },
  resume: { on_hold: "in_progress" },
  complete: { in_progress: "completed" },
};

function refuse(code: string, message: string): never {
  throw { code, message };
}

export function installMock(params: URLSearchParams = new URLSearchParams(location.search)): void {
  const flag = params.get("mock") ?? "1";
  const lang = params.get("lang");
  if (lang === "en" || lang === "zh") setLocale(lang);
  const mode: Mode = flag === "offline" ? "offline" : flag === "firstrun" ? "firstrun" : "normal";
  const start = Date.now();
  const jobs = makeJobs(start);
  let signedIn = mode !== "firstrun";
  let lastSuccess: string | null = mode === "firstrun" ? null : iso(start - 25 * 60_000);
  let lastError: string | null =
    mode === "offline" ? "cannot reach the server at https://service.example.com (connection refused); your changes are kept on this device and will sync later" : null;
  let cursor = 1200;
  const photoStore = new Map<string, string>();

  // A job with a conflict and a review flag, to show how they read.
  const reviewed = jobs[3];
  reviewed.wo.needs_review = true;
  reviewed.conflicts.push({
    id: newId("conflict"),
    work_order_id: reviewed.wo.id,
    entity: "work_order",
    entity_id: reviewed.wo.id,
    field: "diagnosis",
    kept: "Door seal torn; cold air escaping.",
    lost: "Thermostat faulty.",
    rule: "later HLC wins, ties by device id",
    detail: "diagnosis was changed on this device and by the office at the same time",
    created_at: iso(start - 2 * HOUR),
  });
  reviewed.wo.diagnosis = "Door seal torn; cold air escaping.";
  reviewed.pending = 2;
  if (mode === "firstrun") jobs.length = 0;

  const pendingTotal = () => jobs.reduce((n, j) => n + j.pending, 0);
  const find = (id: unknown) => jobs.find((j) => j.wo.id === id) ?? refuse("unknown_job", `no job "${String(id)}" on this device; check the number, or sync to fetch newly assigned jobs`);

  const session = (): Session => ({
    device_id: signedIn ? "device-7f3a" : null,
    signed_in: signedIn,
    username: signedIn ? "mei" : null,
    user_name: signedIn ? "Mei Chen" : null,
    role: signedIn ? "technician" : null,
    server_url: signedIn ? "https://service.example.com" : null,
  });

  const status = (syncing = false): SyncStatus => ({
    server_url: "https://service.example.com",
    username: "mei",
    signed_in: signedIn,
    pending_ops: pendingTotal(),
    pull_cursor: cursor,
    last_attempt_at: lastSuccess,
    last_success_at: lastSuccess,
    last_error: lastError,
    server_skew_ms: 0,
    online: mode !== "offline",
    syncing,
  });

  function missing(j: Job): Missing[] {
    const out: Missing[] = [];
    for (const i of j.items.filter((i) => i.required)) {
      const a = j.answers[i.key];
      const ok = a && (a.type === "check" ? a.value : a.type === "text" || a.type === "choice" ? String(a.value).trim() !== "" : true);
      if (!ok) out.push({ what: "checklist_item", key: i.key, label: i.label });
    }
    for (const k of j.requiredPhotos) if (!j.photos.some((p) => p.kind === k)) out.push({ what: "photo", kind: k });
    if (j.signatureRequired && j.signatures.length === 0) out.push({ what: "signature" });
    return out;
  }

  function sla(j: Job, now: number) {
    return {
      respond: clockOf(j.wo.respond_by, j.wo.arrived_at, j.wo.status === "cancelled", now),
      resolve: clockOf(j.wo.resolve_by, j.wo.status === "completed" ? j.wo.completed_at : null, j.wo.status === "cancelled", now),
    };
  }

  function detail(j: Job): JobDetail {
    const checklist: ChecklistLine[] = j.items.map((i) => ({ item: i, answer: j.answers[i.key] ?? null }));
    const miss = missing(j);
    const requiredTotal = j.items.filter((i) => i.required).length;
    return structuredClone({
      work_order: j.wo,
      customer: j.customer,
      asset: j.asset,
      sla: sla(j, Date.now()),
      checklist,
      progress: {
        required_done: requiredTotal - miss.filter((m) => m.what === "checklist_item").length,
        required_total: requiredTotal,
        answered: checklist.filter((l) => l.answer).length,
        total: checklist.length,
      },
      missing_for_completion: miss,
      history: j.history,
      notes: j.notes,
      parts: j.parts,
      time_entries: [],
      photos: j.photos,
      signatures: j.signatures,
      feedback: j.feedback,
      conflicts: j.conflicts,
      pending_ops: j.pending,
    });
  }

  function summary(j: Job): JobSummary {
    return {
      id: j.wo.id,
      number: j.wo.number,
      status: j.wo.status,
      priority: j.wo.priority,
      job_type: j.wo.job_type,
      problem: j.wo.problem,
      customer_name: j.customer.name,
      address: j.customer.address ?? null,
      phone: j.customer.phone ?? null,
      appointment_start: j.wo.appointment_start ?? null,
      appointment_end: j.wo.appointment_end ?? null,
      sla: sla(j, Date.now()),
      needs_review: j.wo.needs_review,
      pending_ops: j.pending,
    };
  }

  function edit(j: Job, change: () => void): JobDetail {
    if (j.wo.status === "completed" || j.wo.status === "cancelled") refuse("job_closed", `job ${j.wo.number} is ${j.wo.status}; it can no longer be changed`);
    change();
    j.pending++;
    void emit("sync://status", status());
    return detail(j);
  }

  const endOfToday = () => {
    const d = new Date();
    d.setHours(24, 0, 0, 0);
    return d.getTime();
  };

  function signOffText(j: Job): string {
    const lines = [`Job: ${j.wo.number}`, `Customer: ${j.customer.name}`];
    if (j.customer.address) lines.push(`Address: ${j.customer.address}`);
    if (j.asset) lines.push(`Product: ${j.asset.model} (serial ${j.asset.serial ?? "-"})`);
    lines.push(`Problem: ${j.wo.problem}`, `Diagnosis: ${j.wo.diagnosis ?? "-"}`, `Work done: ${j.wo.work_done ?? "-"}`);
    for (const p of j.parts) lines.push(`Part: ${p.quantity} x ${p.part_no} ${p.description}`);
    if (j.wo.result) lines.push(`Result: ${j.wo.result}`);
    return lines.join("\n") + "\n";
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function syncNow() {
    if (mode === "offline") {
      await sleep(600);
      lastError = "cannot reach the server at https://service.example.com (connection refused); your changes are kept on this device and will sync later";
      refuse("server_unreachable", lastError);
    }
    const total = pendingTotal();
    for (let sent = 0; sent <= total; sent += Math.max(1, Math.ceil(total / 4))) {
      await emit("sync://progress", { phase: "pushing", sent, total });
      await sleep(250);
    }
    for (let rows = 0; rows <= 60; rows += 20) {
      await emit("sync://progress", { phase: "pulling", rows, cursor: cursor + rows });
      await sleep(250);
    }
    if (jobs.length === 0) jobs.push(...makeJobs(Date.now()));
    for (const j of jobs) j.pending = 0;
    cursor += 60;
    lastSuccess = new Date().toISOString();
    lastError = null;
    void emit("sync://status", status());
    return { pushed: total, applied: total, merged: 0, conflicts: 0, rejected: 0, pulled_rows: 60, pull_pages: 1, bytes_sent: 2048, bytes_received: 8192, retries: 0, duration_ms: 1600, rejections: [] };
  }

  mockIPC(
    async (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      await sleep(40);
      switch (cmd) {
        case "session":
          return session();
        case "login": {
          await sleep(500);
          if (!args.serverUrl || !args.username) refuse("invalid_input", "enter the server address and your username");
          if (args.password === "wrong") refuse("unauthorized", "the server refused the sign-in (wrong username or password); sign in again");
          signedIn = true;
          return session();
        }
        case "jobs": {
          const end = endOfToday();
          const open = (j: Job) => !["completed", "cancelled"].includes(j.wo.status);
          const startMs = (j: Job) => (j.wo.appointment_start ? Date.parse(j.wo.appointment_start) : Infinity);
          const pick = {
            today: (j: Job) => open(j) && startMs(j) < end,
            upcoming: (j: Job) => open(j) && startMs(j) >= end && startMs(j) !== Infinity,
            done: (j: Job) => !open(j),
            all: () => true,
          }[args.scope as "today" | "upcoming" | "done" | "all"];
          return jobs.filter(pick).sort((a, b) => startMs(a) - startMs(b)).map(summary);
        }
        case "job":
          return detail(find(args.jobId));
        case "step": {
          const j = find(args.jobId);
          const action = args.action as TechnicianAction;
          const to = next[action]?.[j.wo.status];
          if (!to) refuse("invalid_transition", `cannot ${action} a job that is ${j.wo.status}`);
          if (action === "complete" && missing(j).length > 0) {
            refuse("completion_blocked", `cannot complete the job yet; still missing: ${missing(j).map((m) => (m.what === "checklist_item" ? m.key : m.what === "photo" ? `${m.kind} photo` : "customer signature")).join("; ")}`);
          }
          return edit(j, () => {
            const now = new Date().toISOString();
            if (action === "start_travel") j.wo.en_route_at ??= now;
            if (action === "arrive") j.wo.arrived_at ??= now;
            if (action === "start_work" || action === "resume") j.wo.started_at ??= now;
            if (action === "complete") j.wo.completed_at = now;
            j.history.push({ id: newId("ev"), work_order_id: j.wo.id, action, from: j.wo.status, to, at: now, reason: (args.reason as string) ?? null });
            j.wo.status = to;
          });
        }
        case "answer": {
          const j = find(args.jobId);
          const value = args.value as AnswerValue;
          const it = j.items.find((i) => i.key === args.itemKey) ?? refuse("invalid_input", `checklist has no item "${String(args.itemKey)}"`);
          if (it.kind.type === "number" && value.type === "number") {
            if (it.kind.min != null && value.value < it.kind.min) refuse("invalid_input", `${value.value}${it.kind.unit ?? ""} is below the minimum ${it.kind.min}${it.kind.unit ?? ""}`);
            if (it.kind.max != null && value.value > it.kind.max) refuse("invalid_input", `${value.value}${it.kind.unit ?? ""} is above the maximum ${it.kind.max}${it.kind.unit ?? ""}`);
          }
          return edit(j, () => (j.answers[it.key] = value));
        }
        case "set_text": {
          const j = find(args.jobId);
          return edit(j, () => (j.wo[args.field as "diagnosis" | "work_done" | "result"] = String(args.text)));
        }
        case "set_follow_up": {
          const j = find(args.jobId);
          return edit(j, () => (j.wo.follow_up_needed = Boolean(args.needed)));
        }
        case "add_note": {
          const j = find(args.jobId);
          return edit(j, () => j.notes.push({ id: newId("note"), work_order_id: j.wo.id, body: String(args.body), created_at: new Date().toISOString() }));
        }
        case "add_part": {
          const j = find(args.jobId);
          if (!String(args.partNo).trim()) refuse("invalid_input", "part number is empty; enter the number printed on the part");
          const quantity = Number(args.quantity);
          if (!(quantity > 0 && quantity <= 10000)) refuse("invalid_input", `quantity ${quantity} is not valid; enter a positive number up to 10000`);
          return edit(j, () =>
            j.parts.push({ id: newId("part"), work_order_id: j.wo.id, part_no: String(args.partNo), description: String(args.description), quantity, created_at: new Date().toISOString() }),
          );
        }
        case "remove_part": {
          const j = find(args.jobId);
          return edit(j, () => (j.parts = j.parts.filter((p) => p.id !== args.partId)));
        }
        case "add_photo": {
          const j = find(args.jobId);
          const kind = args.kind as PhotoKind;
          const n = j.photos.length + 1;
          const sha256 = `mock-${j.wo.id}-${n}-${kind}`;
          photoStore.set(sha256, String(args.dataBase64).length > 0 && /^[A-Za-z0-9+/=]+$/.test(String(args.dataBase64).slice(0, 64)) ? `data:image/jpeg;base64,${String(args.dataBase64)}` : photoSvg(kind, n));
          return edit(j, () =>
            j.photos.push({
              id: newId("photo"),
              work_order_id: j.wo.id,
              sha256,
              kind,
              caption: (args.caption as string) ?? null,
              size_bytes: Math.round((String(args.dataBase64).length * 3) / 4),
              created_at: new Date().toISOString(),
              upload_state: mode === "offline" ? "pending" : "uploaded",
            }),
          );
        }
        case "photo_data":
          return photoStore.get(String(args.sha256)) ?? refuse("unknown_photo", "photo not on this device");
        case "sign_off_text":
          return signOffText(find(args.jobId));
        case "sign": {
          const j = find(args.jobId);
          return edit(j, () =>
            j.signatures.push({
              id: newId("sig"),
              work_order_id: j.wo.id,
              signer_name: String(args.signerName),
              signed_at: new Date().toISOString(),
              strokes: args.strokes as Signature["strokes"],
              report_sha256: "mock",
            }),
          );
        }
        case "add_feedback": {
          const j = find(args.jobId);
          return edit(j, () =>
            j.feedback.push({ id: newId("fb"), work_order_id: j.wo.id, rating: Number(args.rating), nps: (args.nps as number) ?? null, comment: (args.comment as string) ?? null, created_at: new Date().toISOString() }),
          );
        }
        case "sync_status":
          return status();
        case "sync_now":
          return syncNow();
        case "service_report_html": {
          const j = find(args.jobId);
          const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
          const rows = signOffText(j)
            .trim()
            .split("\n")
            .map((l) => l.split(": "))
            .map(([k, ...v]) => `<tr><th>${esc(k)}</th><td>${esc(v.join(": "))}</td></tr>`)
            .join("");
          const sig = j.signatures.at(-1);
          return `<!doctype html><html><head><meta charset="utf-8"><style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}h1{font-size:1.3rem}table{border-collapse:collapse;width:100%}th{text-align:left;width:9rem;color:#555;vertical-align:top}td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd}</style></head><body><h1>Service report ${esc(j.wo.number)}</h1><table>${rows}</table><p>${sig ? `Signed by ${esc(sig.signer_name)} at ${esc(sig.signed_at)}` : "Not signed yet."}</p></body></html>`;
        }
        default:
          refuse("unknown_command", `the preview has no command ${cmd}`);
      }
    },
    { shouldMockEvents: true },
  );
}
