// The typed IPC layer: one function per shell command, and the sync event listeners.
// Command names and argument names are the shell's contract (see ui/README.md).

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { AppError } from "./errors";
import type {
  AnswerValue,
  AppSyncStatus,
  JobDetail,
  JobScope,
  JobSummary,
  NoteLanguage,
  PhotoKind,
  SerialOffer,
  SerialScan,
  Session,
  StatusAction,
  StrokePoint,
  SyncDone,
  SyncProgress,
  SyncReport,
  TextField,
} from "./generated";
import type { MyKpis, SupportBundle } from "./generated";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw AppError.from(e);
  }
}

export const session = () => call<Session>("session");

/** Writes a support bundle into the data folder (log, sync status, change-log summary). */
export const exportSupportBundle = () => call<SupportBundle>("export_support_bundle");

export const myKpis = () => call<MyKpis>("my_kpis");

export const login = (serverUrl: string, username: string, password: string) =>
  call<Session>("login", { serverUrl, username, password });

export const jobs = (scope: JobScope) => call<JobSummary[]>("jobs", { scope });

export const job = (jobId: string) => call<JobDetail>("job", { jobId });

/** One of the job's `allowed_actions`; the shell refuses the office's steps. */
export const step = (jobId: string, action: StatusAction, reason?: string) =>
  call<JobDetail>("step", reason === undefined ? { jobId, action } : { jobId, action, reason });

export const answer = (jobId: string, itemKey: string, value: AnswerValue) =>
  call<JobDetail>("answer", { jobId, itemKey, value });

export const setText = (jobId: string, field: TextField, text: string) =>
  call<JobDetail>("set_text", { jobId, field, text });

export const setFollowUp = (jobId: string, needed: boolean) =>
  call<JobDetail>("set_follow_up", { jobId, needed });

export const addNote = (jobId: string, body: string) => call<JobDetail>("add_note", { jobId, body });

export const addPart = (jobId: string, partNo: string, description: string, quantity: number) =>
  call<JobDetail>("add_part", { jobId, partNo, description, quantity });

export const removePart = (jobId: string, partId: string) =>
  call<JobDetail>("remove_part", { jobId, partId });

export interface NewPhoto {
  fileName: string;
  dataBase64: string;
  kind: PhotoKind;
  caption?: string;
}

export const addPhoto = (jobId: string, photo: NewPhoto) =>
  call<JobDetail>("add_photo", {
    jobId,
    fileName: photo.fileName,
    dataBase64: photo.dataBase64,
    kind: photo.kind,
    ...(photo.caption ? { caption: photo.caption } : {}),
  });

/** A data URL of the photo (thumbnail or full image) stored on this device. */
export const photoData = (sha256: string) => call<string>("photo_data", { sha256 });

/** Reads a serial-plate photo's barcode or QR code on this device and checks it against the record. */
export const scanSerial = (photoId: string) => call<SerialScan>("scan_serial", { photoId });

/** Records the plate's serial on the job, where the asset has none recorded. */
export const acceptPlateSerial = (photoId: string) =>
  call<SerialOffer>("accept_plate_serial", { photoId });

/** Leaves the office a note (in `lang`) that the plate differs from the record. */
export const noteSerialMismatch = (photoId: string, lang: NoteLanguage) =>
  call<SerialOffer>("note_serial_mismatch", { photoId, lang });

export const sign = (jobId: string, signerName: string, strokes: StrokePoint[][]) =>
  call<JobDetail>("sign", { jobId, signerName, strokes });

export interface NewFeedback {
  rating: number;
  nps?: number;
  comment?: string;
}

export const addFeedback = (jobId: string, f: NewFeedback) =>
  call<JobDetail>("add_feedback", {
    jobId,
    rating: f.rating,
    ...(f.nps !== undefined ? { nps: f.nps } : {}),
    ...(f.comment ? { comment: f.comment } : {}),
  });

export const syncStatus = () => call<AppSyncStatus>("sync_status");

export const syncNow = () => call<SyncReport>("sync_now");

export const serviceReportHtml = (jobId: string) => call<string>("service_report_html", { jobId });

export const EVENTS = {
  progress: "sync://progress",
  done: "sync://done",
  status: "sync://status",
} as const;

export const onSyncProgress = (handler: (p: SyncProgress) => void): Promise<UnlistenFn> =>
  listen<SyncProgress>(EVENTS.progress, (e) => handler(e.payload));

export const onSyncDone = (handler: (d: SyncDone) => void): Promise<UnlistenFn> =>
  listen<SyncDone>(EVENTS.done, (e) => handler(e.payload));

export const onSyncStatus = (handler: (s: AppSyncStatus) => void): Promise<UnlistenFn> =>
  listen<AppSyncStatus>(EVENTS.status, (e) => handler(e.payload));
