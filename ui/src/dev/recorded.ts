// The recorded morning, typed by the generated bindings (the JSON is checked for staleness
// against the core by the same Rust test that checks the bindings).

import type { RecordedDay } from "../lib/generated";
import recorded from "../dev-fixtures/sample-day.json";

export const recordedDay = recorded as unknown as RecordedDay;
