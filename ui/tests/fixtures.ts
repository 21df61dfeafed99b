import { recordedDay } from "../src/dev/recorded";
import type { AppSyncStatus, ChecklistLine, JobDetail, JobSummary } from "../src/lib/generated";

export const HOUR = 3_600_000;

/** Answers recorded from the real core (src/dev-fixtures/, checked for staleness by Rust). */
export const recorded = recordedDay;

/** The device's clock when the core gave the recorded answers, and 25 minutes on. */
export const RECORDED_AT = Date.parse(recorded.recorded_at);
export const LATER_AT = Date.parse(recorded.later_at);

/** The core's `jobs {scope: "today"}` answer (a fresh copy). */
export const todaysJobs = (): JobSummary[] => structuredClone(recorded.jobs.today ?? []);
export const laterJobs = (): JobSummary[] => structuredClone(recorded.jobs_later);

export const jobNumbered = (list: JobSummary[], number: string): JobSummary => {
  const job = list.find((j) => j.number === number);
  if (!job) throw new Error(`no ${number} in the recording`);
  return job;
};

/** A recorded job detail: by default the maintenance job in progress with nothing answered. */
export function detail(over: Partial<JobDetail> = {}): JobDetail {
  return { ...structuredClone(recorded.worked.started), ...over };
}

/** The recorded detail of the job in the given status. */
export function detailIn(status: JobDetail["work_order"]["status"]): JobDetail {
  const d = Object.values(recorded.details).find((d) => d?.work_order.status === status);
  if (!d) throw new Error(`no ${status} job in the recording`);
  return structuredClone(d);
}

export function summary(over: Partial<JobSummary> = {}): JobSummary {
  return { ...todaysJobs()[0], ...over };
}

export const checkLine = (key: string, en: string, zh: string, answered = false): ChecklistLine => ({
  item: { key, phase: "arrival", kind: { type: "check" }, required: true, label: { en, zh } },
  answer: answered ? { type: "check", value: true } : null,
  answered,
});

export function syncStatus(over: Partial<AppSyncStatus> = {}): AppSyncStatus {
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
    online: true,
    syncing: false,
    live: false,
    ...over,
  };
}

/** Lets pending promise callbacks (IPC answers, Svelte updates) run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));
