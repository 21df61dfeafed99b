// How the SLA clock the core chose for a job reads. The core decides which clock shows and
// how urgent it is (`sla_view`); between its answers the remaining time is counted down
// here against the current time (corrected by the server's clock skew).

import { formatDuration } from "./format";
import { t } from "./i18n/index.svelte";
import type { SlaState, SlaView } from "./generated";

export function slaText(sla: SlaState, view: SlaView, now: number): string {
  const respond = view.clock === "respond";
  const clock = sla[view.clock];
  switch (clock.state) {
    case "running":
      return t(respond ? "sla.respondIn" : "sla.resolveIn", { time: formatDuration(Math.max(0, Date.parse(clock.due) - now)) });
    case "breached": {
      const over = Math.max(clock.over_ms, now - Date.parse(clock.due));
      return t(respond ? "sla.respondOverdue" : "sla.resolveOverdue", { time: formatDuration(over) });
    }
    case "met":
      return t(respond ? "sla.respondMet" : "sla.resolveMet");
    case "missed":
      return t(respond ? "sla.respondMissed" : "sla.resolveMissed", { time: formatDuration(clock.late_ms) });
    default:
      return "";
  }
}

export function slaDue(sla: SlaState, view: SlaView): string | null {
  const clock = sla[view.clock];
  return "due" in clock ? clock.due : null;
}

/** The soonest time the core said one of these views changes by the clock alone. */
export function nextSlaChange(views: (SlaView | null)[]): number | null {
  const times = views.flatMap((v) => (v?.changes_at ? [Date.parse(v.changes_at)] : []));
  return times.length > 0 ? Math.min(...times) : null;
}
