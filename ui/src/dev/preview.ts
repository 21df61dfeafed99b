// Design preview: the screens in a plain browser (`npm run dev`), answering the shell's
// commands with a morning recorded from the real core (src/dev-fixtures/, written by
// `UPDATE_BINDINGS=1 cargo test -p onsite-app bindings`). Nothing here decides anything:
// a command the recording has no answer for is refused. `?lang=zh|en` picks the language.

import { mockIPC } from "@tauri-apps/api/mocks";
import { setLocale } from "../lib/i18n/index.svelte";
import { recordedDay } from "./recorded";

function refuse(code: string, message: string): never {
  throw { code, message };
}

const notSaved = () => refuse("invalid_input", "the design preview replays recorded answers; this change is not kept");

export function installPreview(params: URLSearchParams = new URLSearchParams(location.search)): void {
  const lang = params.get("lang");
  if (lang === "en" || lang === "zh") setLocale(lang);
  const day = recordedDay;
  const { worked } = day;
  const detail = (id: unknown) =>
    day.details[String(id)] ?? refuse("unknown_job", `no job "${String(id)}" on this device; check the number, or sync to fetch newly assigned jobs`);

  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case "session":
          return day.session;
        case "sync_status":
          return day.sync_status;
        case "jobs":
          return day.jobs[String(args.scope)] ?? [];
        case "job":
          return detail(args.jobId);
        case "answer":
          if (args.jobId === worked.started.work_order.id && args.itemKey === "shoe_covers") return worked.shoe_covers_ticked;
          return notSaved();
        case "step":
          if (args.jobId === worked.started.work_order.id && args.action === "hold") return worked.on_hold;
          return notSaved();
        case "my_kpis":
          return day.my_kpis;
        case "service_report_html":
          return day.report_html[String(args.jobId)] ?? refuse("invalid_input", "the recording has no report of this job");
        case "photo_data":
          return refuse("photo_not_here", "this photo is not on this device yet; it will be fetched on the next sync");
        case "sync_now":
          return refuse("server_unreachable", "the design preview has no server to sync with");
        default:
          return notSaved();
      }
    },
    { shouldMockEvents: true },
  );
}
