//! Histories: the checker's input. Operation and event types, and readers and
//! writers for native JSONL, Jepsen EDN and Jepsen `history.txt`.
//!
//! Semantics (DESIGN.md, "Histories"): real-time order is the order of events
//! in the file (`time` never reorders); an operation is an invoke and the next
//! completion by the same process; its id is the 0-based position of its invoke
//! among all events, or its `index` field when every event has one.

mod types;

pub use types::{Event, EventKind, History, Process, Value};
