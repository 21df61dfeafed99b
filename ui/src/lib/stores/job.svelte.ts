import * as api from "../api";
import { AppError } from "../errors";
import type { JobDetail, PhotoKind } from "../generated";
import { nextSlaChange } from "../sla";

/**
 * The open job. Every change command answers with the job as it now stands, so each
 * edit replaces `detail` with the core's view (answers, progress, what completion still
 * needs) instead of patching it here.
 */
export class JobStore {
  detail = $state<JobDetail | null>(null);
  loading = $state(false);
  busy = $state(false);
  error = $state<AppError | null>(null);
  /** Set when the last completion attempt was refused for missing evidence. */
  blocked = $state(false);
  id = $state<string | null>(null);
  /** The kind the next photo is filed as; set from a "missing photo" link. */
  photoKind = $state<PhotoKind>("before");

  async open(jobId: string): Promise<void> {
    if (this.id !== jobId) {
      this.detail = null;
      this.blocked = false;
    }
    this.id = jobId;
    this.error = null;
    this.loading = true;
    try {
      const d = await api.job(jobId);
      if (this.id === jobId) this.detail = d;
    } catch (e) {
      if (this.id === jobId) this.error = AppError.from(e);
    } finally {
      this.loading = false;
    }
  }

  reload(): Promise<void> {
    return this.id ? this.open(this.id) : Promise.resolve();
  }

  /** Runs a command that returns the updated job; resolves to whether it was saved. */
  async change(run: (jobId: string) => Promise<JobDetail>): Promise<boolean> {
    const jobId = this.id;
    if (!jobId) return false;
    this.busy = true;
    try {
      const d = await run(jobId);
      if (this.id === jobId) {
        this.detail = d;
        this.error = null;
        if (this.blocked && d.missing_for_completion.length === 0) this.blocked = false;
      }
      return true;
    } catch (e) {
      const err = AppError.from(e);
      if (this.id === jobId) {
        this.error = err;
        if (err.code === "completion_blocked") {
          this.blocked = true;
          // The refusal names what is missing; the job detail lists it with labels.
          await this.reload();
          this.error = err;
        }
      }
      return false;
    } finally {
      this.busy = false;
    }
  }

  #askedAt: number | null = null;

  /** Asks the core again once the job's SLA view is due to change by the clock alone. */
  reloadIfDue(now: number): void {
    const next = nextSlaChange([this.detail?.sla_view ?? null]);
    if (next === null || now < next || this.loading || this.busy || this.#askedAt === now) return;
    this.#askedAt = now;
    void this.reload();
  }

  dismissError(): void {
    this.error = null;
  }
}

export const jobStore = new JobStore();
