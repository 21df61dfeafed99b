// Which SLA clock a job card shows and how it reads.
//
// Before the technician arrives the respond clock is what matters; after that, the
// resolve clock. A running clock is recounted against the current time (corrected by the
// server's clock skew) so the countdown moves between syncs.

import { formatDuration } from "./format";
import { t } from "./i18n/index.svelte";
import type { SlaClock, SlaState } from "./types";

export type SlaWhich = "respond" | "resolve";
export type SlaTone = "ok" | "soon" | "breached" | "met" | "none";

export interface SlaView {
  which: SlaWhich;
  tone: SlaTone;
  text: string;
  due: string | null;
}

/** Running with less than this left is shown as a warning. */
const SOON_MS = 60 * 60 * 1000;

export function slaFocus(sla: SlaState): { which: SlaWhich; clock: SlaClock } {
  const r = sla.respond.state;
  if (r === "running" || r === "breached") return { which: "respond", clock: sla.respond };
  return { which: "resolve", clock: sla.resolve };
}

export function isBreached(sla: SlaState, now: number): boolean {
  return [sla.respond, sla.resolve].some((c) => liveState(c, now) === "breached" || c.state === "missed");
}

function liveState(c: SlaClock, now: number): SlaClock["state"] {
  if (c.state === "running" && Date.parse(c.due) < now) return "breached";
  return c.state;
}

export function slaView(sla: SlaState, now: number): SlaView | null {
  const { which, clock } = slaFocus(sla);
  const r = which === "respond";
  switch (clock.state) {
    case "running": {
      const left = Date.parse(clock.due) - now;
      if (left < 0) {
        return { which, tone: "breached", due: clock.due, text: t(r ? "sla.respondOverdue" : "sla.resolveOverdue", { time: formatDuration(-left) }) };
      }
      return {
        which,
        tone: left < SOON_MS ? "soon" : "ok",
        due: clock.due,
        text: t(r ? "sla.respondIn" : "sla.resolveIn", { time: formatDuration(left) }),
      };
    }
    case "breached": {
      const over = Math.max(clock.over_ms, now - Date.parse(clock.due));
      return { which, tone: "breached", due: clock.due, text: t(r ? "sla.respondOverdue" : "sla.resolveOverdue", { time: formatDuration(over) }) };
    }
    case "met":
      return { which, tone: "met", due: clock.due, text: t(r ? "sla.respondMet" : "sla.resolveMet") };
    case "missed":
      return { which, tone: "breached", due: clock.due, text: t(r ? "sla.respondMissed" : "sla.resolveMissed", { time: formatDuration(clock.late_ms) }) };
    default:
      return null;
  }
}
