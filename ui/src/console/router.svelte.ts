// Where the console is: the job list (`/` or `/console/jobs`) or one job
// (`/console/jobs/{id}`), kept in the address bar so a job's address can be shared.

export type Place = { screen: "jobs" } | { screen: "job"; id: string };

function parse(path: string): Place {
  const m = /^\/console\/jobs\/([0-9a-f-]{36})\/?$/i.exec(path);
  return m ? { screen: "job", id: m[1] } : { screen: "jobs" };
}

export const place = $state({ current: parse(location.pathname) as Place });

export function go(to: Place): void {
  const path = to.screen === "job" ? `/console/jobs/${to.id}` : "/console/jobs";
  history.pushState(null, "", path + (to.screen === "jobs" ? location.search : ""));
  place.current = to;
  window.scrollTo(0, 0);
}

window.addEventListener("popstate", () => {
  place.current = parse(location.pathname);
});
