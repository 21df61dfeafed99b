import * as api from "../api";
import { AppError } from "../errors";
import type { JobScope, JobSummary } from "../generated";
import { nextSlaChange } from "../sla";

export type ListScope = Exclude<JobScope, "all">;

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
      this.list = list;
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

  #askedAt: number | null = null;

  /** Asks the core again once a card's SLA view is due to change by the clock alone. */
  refreshIfDue(now: number): void {
    const next = nextSlaChange(this.list.map((j) => j.sla_view));
    if (next === null || now < next || this.loading || this.#askedAt === now) return;
    this.#askedAt = now;
    void this.refresh();
  }
}

export const jobsStore = new JobsStore();
