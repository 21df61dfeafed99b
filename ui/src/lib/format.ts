// Dates, times and durations in the chosen language.

import { localeTag, t } from "./i18n/index.svelte";

const parse = (ts: string | Date): Date => (ts instanceof Date ? ts : new Date(ts));

export function formatTime(ts: string | Date): string {
  return new Intl.DateTimeFormat(localeTag(), { hour: "2-digit", minute: "2-digit" }).format(parse(ts));
}

export function formatDate(ts: string | Date): string {
  return new Intl.DateTimeFormat(localeTag(), { dateStyle: "medium" }).format(parse(ts));
}

/** A calendar date ("YYYY-MM-DD") without shifting it through a time zone. */
export function formatIsoDate(d: string): string {
  const [y, m, day] = d.split("-").map(Number);
  return new Intl.DateTimeFormat(localeTag(), { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, day)),
  );
}

export function formatDateTime(ts: string | Date): string {
  return new Intl.DateTimeFormat(localeTag(), {
    weekday: "short",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  }).format(parse(ts));
}

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** "09:00–11:00" today, "Tue 24 Nov, 09:00–11:00" on another day. */
export function formatWindow(start: string, end: string | null | undefined, now: Date = new Date()): string {
  const s = parse(start);
  const head = sameDay(s, now) ? formatTime(s) : formatDateTime(s);
  if (!end) return head;
  const e = parse(end);
  return `${head}–${sameDay(s, e) ? formatTime(e) : formatDateTime(e)}`;
}

/** A span of time, rounded to minutes: "45 min", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const totalMin = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const d = Math.floor(totalMin / 1440);
  const h = Math.floor((totalMin % 1440) / 60);
  const m = totalMin % 60;
  if (d > 0) return t("duration.days", { d, h });
  if (h > 0) return t("duration.hours", { h, m });
  return t("duration.minutes", { m });
}

/** "5 minutes ago", "yesterday". */
export function formatRelative(ts: string | Date, now: Date = new Date()): string {
  const diffSec = (parse(ts).getTime() - now.getTime()) / 1000;
  const rtf = new Intl.RelativeTimeFormat(localeTag(), { numeric: "auto" });
  const abs = Math.abs(diffSec);
  if (abs < 60) return rtf.format(Math.round(diffSec), "second");
  if (abs < 3600) return rtf.format(Math.round(diffSec / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(diffSec / 3600), "hour");
  return rtf.format(Math.round(diffSec / 86400), "day");
}

/** A share as a whole percentage ("83 %"), or "–" when there was nothing to count. */
export function formatPercent(ratio: number | null): string {
  if (ratio === null) return "–";
  return new Intl.NumberFormat(localeTag(), { style: "percent", maximumFractionDigits: 0 }).format(ratio);
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(localeTag(), { maximumFractionDigits: 3 }).format(n);
}
