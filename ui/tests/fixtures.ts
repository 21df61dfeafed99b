import type { ChecklistLine, JobDetail, JobSummary, SlaState, SyncStatus } from "../src/lib/types";

export const HOUR = 3_600_000;

export function running(dueInMs: number, now = Date.now()): SlaState["respond"] {
  return { state: "running", due: new Date(now + dueInMs).toISOString(), left_ms: dueInMs };
}

export function summary(over: Partial<JobSummary> = {}): JobSummary {
  return {
    id: "job-1",
    number: "WO-2026-000001",
    status: "assigned",
    priority: "normal",
    job_type: "repair",
    problem: "No heat",
    customer_name: "Lena Hoffmann",
    address: "Kastanienallee 12, Berlin",
    phone: "+49 30 1234",
    appointment_start: "2026-11-22T09:00:00.000Z",
    appointment_end: "2026-11-22T11:00:00.000Z",
    sla: { respond: { state: "not_set" }, resolve: { state: "not_set" } },
    needs_review: false,
    pending_ops: 0,
    ...over,
  };
}

export const checkLine = (key: string, en: string, zh: string, answered = false): ChecklistLine => ({
  item: { key, phase: "arrival", kind: { type: "check" }, required: true, label: { en, zh } },
  answer: answered ? { type: "check", value: true } : null,
});

export function detail(over: Partial<JobDetail> = {}): JobDetail {
  return {
    work_order: {
      id: "job-1",
      number: "WO-2026-000001",
      customer_id: "cust-1",
      asset_id: null,
      job_type: "repair",
      priority: "normal",
      problem: "No heat",
      reported_at: "2026-11-22T08:00:00.000Z",
      status: "in_progress",
      follow_up_needed: false,
      needs_review: false,
      arrived_at: "2026-11-22T09:05:00.000Z",
      started_at: "2026-11-22T09:10:00.000Z",
    },
    customer: { id: "cust-1", name: "Lena Hoffmann", phone: "+49 30 1234", address: "Kastanienallee 12", lat: 52.5, lon: 13.4 },
    asset: null,
    sla: { respond: { state: "not_set" }, resolve: { state: "not_set" } },
    checklist: [checkLine("shoe_covers", "Shoe covers worn on entering", "进门已穿戴鞋套")],
    progress: { required_done: 0, required_total: 1, answered: 0, total: 1 },
    missing_for_completion: [],
    history: [],
    notes: [],
    parts: [],
    time_entries: [],
    photos: [],
    signatures: [],
    feedback: [],
    conflicts: [],
    pending_ops: 0,
    ...over,
  };
}

export function syncStatus(over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    server_url: "https://service.example.com",
    username: "mei",
    signed_in: true,
    pending_ops: 0,
    pull_cursor: 10,
    last_attempt_at: null,
    last_success_at: null,
    last_error: null,
    server_skew_ms: 0,
    ...over,
  };
}

/** Lets pending promise callbacks (IPC answers, Svelte updates) run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
