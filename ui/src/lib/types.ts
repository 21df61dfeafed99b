// The JSON shapes the shell sends, mirroring the Rust serde types (snake_case fields,
// timestamps as RFC 3339 strings, dates as "YYYY-MM-DD").
//
// All of them live in this one file on purpose: once the shell exports the Rust types with
// ts-rs into ./generated/, this file becomes a list of re-exports and nothing else moves.

export type Timestamp = string;
export type IsoDate = string;

export type Role = "technician" | "dispatcher" | "admin";
export type JobType = "install" | "repair" | "maintenance" | "inspection";
export type Priority = "low" | "normal" | "high" | "urgent";
export type PhotoKind = "before" | "after" | "serial_plate" | "part" | "other";
export type Phase = "arrival" | "work" | "departure";
export type TimeKind = "travel" | "work";

export type WorkOrderStatus =
  | "new"
  | "assigned"
  | "en_route"
  | "on_site"
  | "in_progress"
  | "on_hold"
  | "completed"
  | "cancelled";

export type StatusAction =
  | "assign"
  | "unassign"
  | "start_travel"
  | "arrive"
  | "start_work"
  | "hold"
  | "resume"
  | "complete"
  | "cancel"
  | "reopen";

/** The steps a technician takes; the others belong to the office. */
export type TechnicianAction = "start_travel" | "arrive" | "start_work" | "hold" | "resume" | "complete";

export type JobScope = "today" | "upcoming" | "done" | "all";
export type TextField = "diagnosis" | "work_done" | "result";

export interface Session {
  device_id: string | null;
  signed_in: boolean;
  username: string | null;
  user_name: string | null;
  role: Role | null;
  server_url: string | null;
}

export type SlaClock =
  | { state: "not_set" }
  | { state: "not_applicable" }
  | { state: "running"; due: Timestamp; left_ms: number }
  | { state: "breached"; due: Timestamp; over_ms: number }
  | { state: "met"; due: Timestamp; at: Timestamp; margin_ms: number }
  | { state: "missed"; due: Timestamp; at: Timestamp; late_ms: number };

export interface SlaState {
  respond: SlaClock;
  resolve: SlaClock;
}

export interface JobSummary {
  id: string;
  number: string;
  status: WorkOrderStatus;
  priority: Priority;
  job_type: JobType;
  problem: string;
  customer_name: string;
  address: string | null;
  phone: string | null;
  appointment_start: Timestamp | null;
  appointment_end: Timestamp | null;
  sla: SlaState;
  needs_review: boolean;
  pending_ops: number;
}

export interface Label {
  en: string;
  zh: string;
}

export interface ChoiceOption {
  key: string;
  label: Label;
}

export type ItemKind =
  | { type: "check" }
  | { type: "text" }
  | { type: "number"; unit?: string | null; min?: number | null; max?: number | null }
  | { type: "photo"; kind: PhotoKind }
  | { type: "choice"; options: ChoiceOption[] };

export interface ChecklistItem {
  key: string;
  phase: Phase;
  kind: ItemKind;
  required: boolean;
  label: Label;
}

export type AnswerValue =
  | { type: "check"; value: boolean }
  | { type: "text"; value: string }
  | { type: "number"; value: number }
  | { type: "photo"; value: string }
  | { type: "choice"; value: string };

export interface ChecklistLine {
  item: ChecklistItem;
  answer: AnswerValue | null;
}

export interface ChecklistProgress {
  required_done: number;
  required_total: number;
  answered: number;
  total: number;
}

export type Missing =
  | { what: "checklist_item"; key: string; label: Label }
  | { what: "photo"; kind: PhotoKind }
  | { what: "signature" };

export interface Customer {
  id: string;
  name: string;
  phone?: string | null;
  address?: string | null;
  lat?: number | null;
  lon?: number | null;
  notes?: string | null;
}

export interface Asset {
  id: string;
  customer_id: string;
  model: string;
  serial?: string | null;
  installed_on?: IsoDate | null;
  warranty_end?: IsoDate | null;
}

export interface WorkOrder {
  id: string;
  number: string;
  customer_id: string;
  asset_id?: string | null;
  job_type: JobType;
  priority: Priority;
  problem: string;
  reported_at: Timestamp;
  respond_by?: Timestamp | null;
  resolve_by?: Timestamp | null;
  appointment_start?: Timestamp | null;
  appointment_end?: Timestamp | null;
  assignee_id?: string | null;
  status: WorkOrderStatus;
  diagnosis?: string | null;
  work_done?: string | null;
  result?: string | null;
  follow_up_needed: boolean;
  en_route_at?: Timestamp | null;
  arrived_at?: Timestamp | null;
  started_at?: Timestamp | null;
  completed_at?: Timestamp | null;
  cancelled_at?: Timestamp | null;
  needs_review: boolean;
}

export interface StatusEvent {
  id: string;
  work_order_id: string;
  action: StatusAction;
  from: WorkOrderStatus;
  to: WorkOrderStatus;
  at: Timestamp;
  reason?: string | null;
}

export interface Note {
  id: string;
  work_order_id: string;
  body: string;
  author_id?: string | null;
  created_at: Timestamp;
}

export interface PartUsed {
  id: string;
  work_order_id: string;
  part_no: string;
  description: string;
  quantity: number;
  created_at: Timestamp;
}

export interface TimeEntry {
  id: string;
  work_order_id: string;
  kind: TimeKind;
  started_at: Timestamp;
  ended_at: Timestamp;
}

/** Upload progress of a photo's bytes; the shell may not report it (older cores). */
export type UploadState = "pending" | "uploading" | "uploaded" | "failed";

export interface Photo {
  id: string;
  work_order_id: string;
  sha256: string;
  kind: PhotoKind;
  caption?: string | null;
  taken_at?: Timestamp | null;
  lat?: number | null;
  lon?: number | null;
  width?: number | null;
  height?: number | null;
  size_bytes: number;
  created_at: Timestamp;
  /** A small JPEG made on the device, when one was made. */
  thumb_sha256?: string | null;
  uploaded?: boolean;
  upload_state?: UploadState | string;
}

export interface StrokePoint {
  /** CSS pixels from the pad's left edge. */
  x: number;
  /** CSS pixels from the pad's top edge. */
  y: number;
  /** Milliseconds since the first point of the signature. */
  t: number;
}

export type Stroke = StrokePoint[];

export interface Signature {
  id: string;
  work_order_id: string;
  signer_name: string;
  signed_at: Timestamp;
  strokes: Stroke[];
  png_sha256?: string | null;
  report_sha256: string;
}

export interface Feedback {
  id: string;
  work_order_id: string;
  rating: number;
  nps?: number | null;
  comment?: string | null;
  created_at: Timestamp;
}

export type EntityKind =
  | "work_order"
  | "checklist_answer"
  | "part_used"
  | "time_entry"
  | "note"
  | "photo"
  | "signature"
  | "feedback"
  | "conflict";

export interface ConflictRecord {
  id: string;
  work_order_id: string;
  entity: EntityKind;
  entity_id: string;
  /** The field, or `status` for a refused transition, or `row` for delete-vs-edit. */
  field: string;
  kept: unknown;
  lost: unknown;
  rule: string;
  detail: string;
  created_at: Timestamp;
  resolved_at?: Timestamp | null;
  resolution?: unknown;
}

export interface JobDetail {
  work_order: WorkOrder;
  customer: Customer | null;
  asset: Asset | null;
  sla: SlaState;
  checklist: ChecklistLine[];
  progress: ChecklistProgress;
  missing_for_completion: Missing[];
  history: StatusEvent[];
  notes: Note[];
  parts: PartUsed[];
  time_entries: TimeEntry[];
  photos: Photo[];
  signatures: Signature[];
  feedback: Feedback[];
  conflicts: ConflictRecord[];
  pending_ops: number;
}

export interface SyncStatus {
  server_url: string | null;
  username: string | null;
  signed_in: boolean;
  pending_ops: number;
  pull_cursor: number;
  last_attempt_at: Timestamp | null;
  last_success_at: Timestamp | null;
  last_error: string | null;
  server_skew_ms: number | null;
  online?: boolean;
  syncing?: boolean;
}

export interface SyncReport {
  pushed: number;
  applied: number;
  merged: number;
  conflicts: number;
  rejected: number;
  pulled_rows: number;
  pull_pages?: number;
  bytes_sent?: number;
  bytes_received?: number;
  retries?: number;
  duration_ms?: number;
  /** [device_seq, reason] for each change the server refused. */
  rejections: [number, string][];
}

export type SyncProgress =
  | { phase: "pushing"; sent: number; total: number }
  | { phase: "pulling"; rows: number; cursor: number }
  | { phase: "uploading"; sha256: string; sent: number; total: number; file_index: number; files: number }
  | { phase: "retrying"; attempt: number; wait_ms: number; reason: string };

export interface ErrorBody {
  code: string;
  message: string;
}

export type SyncDone = { report: SyncReport } | { error: ErrorBody };
