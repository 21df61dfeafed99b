import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { localeTag } from "./lib/i18n/index.svelte";

async function start() {
  // Design-preview mode: `?mock=1`, or `vite dev` opened in a plain browser. It installs an
  // in-memory stand-in for the shell's commands. Inside the app the shell is always there,
  // so this branch never runs; the module is a separate chunk loaded only here.
  const inShell = "__TAURI_INTERNALS__" in window;
  const wantsMock = !inShell && (new URLSearchParams(location.search).has("mock") || import.meta.env.DEV);
  if (wantsMock) {
    const { installMock } = await import("./lib/mock");
    installMock();
  }
  document.documentElement.lang = localeTag();
  mount(App, { target: document.getElementById("app")! });
}

void start();
