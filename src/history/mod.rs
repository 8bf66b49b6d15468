//! Histories: the checker's input. Operation and event types, and readers and
//! writers for native JSONL, Jepsen EDN and Jepsen `history.txt`.
//!
//! Semantics (DESIGN.md, "Histories"): real-time order is the order of events
//! in the file (`time` never reorders); an operation is an invoke and the next
//! completion by the same process; its id is the 0-based position of its invoke
//! among all events, or its `index` field when every event has one.
//!
//! Reading: [`read_file`], [`read_str`], [`read_reader`] with [`ReadOptions`].
//! Writing: [`write_jsonl`], [`write_edn`], [`write_file`]. Generating kv
//! histories with a known verdict: [`generate`].

mod driver;
mod edn;
mod error;
mod event_fields;
pub mod generate;
mod header;
mod jsonl;
mod options;
mod read;
mod txt;
mod types;
pub mod value;
mod write;

pub use error::HistoryError;
pub use header::{Header, HEADER_KEY, HEADER_VERSION};
pub use options::{format_from_extension, Format, ReadOptions, DEFAULT_MAX_EVENTS};
pub use read::{
    file_format, parse_edn_value, parse_json_value, read_file, read_file_batched, read_reader,
    read_reader_batched, read_reader_chunked, read_source, read_str, read_str_chunked, Chunking,
    BLOCK_BYTES, CHUNK_BYTES,
};
pub use types::{Event, EventKind, History, Process, Value};
pub use write::{
    kind_name, write_edn, write_edn_event, write_edn_value, write_file, write_jsonl,
    write_jsonl_event,
};
