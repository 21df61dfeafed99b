// The current time for countdowns, ticking every 30 s, corrected by the server's skew
// estimate (server time minus this device's clock) so a wrong tablet clock does not
// move SLA deadlines.

export const clock = $state({ now: Date.now(), skewMs: 0 });

let timer: ReturnType<typeof setInterval> | undefined;

export function startClock(intervalMs = 30_000): () => void {
  const tick = () => (clock.now = Date.now() + clock.skewMs);
  tick();
  timer ??= setInterval(tick, intervalMs);
  return () => {
    clearInterval(timer);
    timer = undefined;
  };
}

export function setSkew(ms: number | null | undefined): void {
  clock.skewMs = ms ?? 0;
  clock.now = Date.now() + clock.skewMs;
}
