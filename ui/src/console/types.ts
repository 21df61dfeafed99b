// What `GET /api/v1/work-orders/{id}` answers, as the console reads it. Every part is a type
// generated from the Rust model; the envelope (the server's `WorkOrderDetail`) lists them.

import type {
  ChecklistAnswer,
  ConflictRecord,
  Feedback,
  Note,
  PartUsed,
  Photo,
  Signature,
  SlaState,
  StatusEvent,
  TimeEntry,
  WorkOrder,
} from "../lib/generated";

export type WorkOrderRecord = {
  work_order: WorkOrder;
  sla: SlaState;
  history: StatusEvent[];
  checklist_answers: ChecklistAnswer[];
  notes: Note[];
  parts: PartUsed[];
  time_entries: TimeEntry[];
  feedback: Feedback[];
  photos: Photo[];
  signatures: Signature[];
  conflicts: ConflictRecord[];
};
