import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { localeTag } from "./lib/i18n/index.svelte";

async function start() {
  // Design preview: `vite dev` opened in a plain browser replays answers recorded from the
  // real core. `import.meta.env.DEV` is false in `vite build`, so the preview and its
  // recordings are not in the app's bundle.
  if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) {
    const { installPreview } = await import("./dev/preview");
    installPreview();
  }
  document.documentElement.lang = localeTag();
  mount(App, { target: document.getElementById("app")! });
}

void start();
