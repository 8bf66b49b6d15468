//! Histories: the checker's input. Operation and event types, and readers and
//! writers for native JSONL, Jepsen EDN and Jepsen `history.txt`.
//!
//! Semantics (DESIGN.md, "Histories"): real-time order is the order of events
//! in the file (`time` never reorders); an operation is an invoke and the next
//! completion by the same process; its id is the 0-based position of its invoke
//! among all events, or its `index` field when every event has one.
//!
//! Reading: [`read_file`], [`read_str`], [`read_reader`] with [`ReadOptions`].

mod edn;
mod error;
mod event_fields;
mod jsonl;
mod options;
mod read;
mod txt;
mod types;

pub use error::HistoryError;
pub use options::{format_from_extension, Format, ReadOptions, DEFAULT_MAX_EVENTS};
pub use read::{read_file, read_reader, read_str, BLOCK_BYTES, CHUNK_BYTES};
pub use types::{Event, EventKind, History, Process, Value};
