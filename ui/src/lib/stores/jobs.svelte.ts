import * as api from "../api";
import { AppError } from "../errors";
import type { JobScope, JobSummary } from "../types";

export type ListScope = Exclude<JobScope, "all">;

const time = (ts: string | null | undefined) => (ts ? Date.parse(ts) : Number.POSITIVE_INFINITY);
const resolveDue = (j: JobSummary) => ("due" in j.sla.resolve ? time(j.sla.resolve.due) : Number.POSITIVE_INFINITY);

/**
 * Appointment order, unscheduled last, then by resolve deadline and number: the core's
 * order, kept here too so a list merged from events or a differently sorted shell still
 * reads in the order the technician drives.
 */
export function inAppointmentOrder(list: JobSummary[]): JobSummary[] {
  return [...list].sort(
    (a, b) =>
      time(a.appointment_start) - time(b.appointment_start) ||
      resolveDue(a) - resolveDue(b) ||
      a.number.localeCompare(b.number),
  );
}

/** The job list for the chosen filter, in the order the core gives (appointment order). */
export class JobsStore {
  scope = $state<ListScope>("today");
  list = $state<JobSummary[]>([]);
  loading = $state(false);
  loaded = $state(false);
  error = $state<AppError | null>(null);
  #request = 0;

  async load(scope: ListScope = this.scope): Promise<void> {
    this.scope = scope;
    const mine = ++this.#request;
    this.loading = true;
    try {
      const list = await api.jobs(scope);
      // A slower answer for a filter the technician already left must not win.
      if (mine !== this.#request) return;
      this.list = scope === "done" ? list : inAppointmentOrder(list);
      this.error = null;
      this.loaded = true;
    } catch (e) {
      if (mine === this.#request) this.error = AppError.from(e);
    } finally {
      if (mine === this.#request) this.loading = false;
    }
  }

  refresh(): Promise<void> {
    return this.load(this.scope);
  }
}

export const jobsStore = new JobsStore();
