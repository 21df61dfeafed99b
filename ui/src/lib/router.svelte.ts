// Screens by URL hash, so the webview's back gesture and reloads keep the technician's place:
//   #/            the job list
//   #/job/<id>    one job
//   #/job/<id>/sign  the customer sign-off

export type Route =
  | { name: "jobs" }
  | { name: "job"; id: string; focus?: string }
  | { name: "sign"; id: string };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, "");
  const [pathPart, query = ""] = path.split("?");
  const parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "job" && parts[1]) {
    if (parts[2] === "sign") return { name: "sign", id: parts[1] };
    const focus = new URLSearchParams(query).get("focus") ?? undefined;
    return { name: "job", id: parts[1], focus };
  }
  return { name: "jobs" };
}

export function hashOf(route: Route): string {
  switch (route.name) {
    case "jobs":
      return "#/";
    case "job":
      return `#/job/${encodeURIComponent(route.id)}${route.focus ? `?focus=${encodeURIComponent(route.focus)}` : ""}`;
    case "sign":
      return `#/job/${encodeURIComponent(route.id)}/sign`;
  }
}

export const router = $state<{ route: Route }>({
  route: parseHash(typeof location === "undefined" ? "" : location.hash),
});

export function navigate(route: Route): void {
  router.route = route;
  const hash = hashOf(route);
  if (typeof location !== "undefined" && location.hash !== hash) location.hash = hash;
}

export function startRouter(): () => void {
  const onHash = () => (router.route = parseHash(location.hash));
  window.addEventListener("hashchange", onHash);
  return () => window.removeEventListener("hashchange", onHash);
}
