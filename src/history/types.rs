//! The event and history types every reader produces and the checker consumes.

use serde::{Deserialize, Serialize};

/// A value in a history: JSON's data model. EDN keywords and symbols become
/// strings without the colon, sets and lists become arrays, maps become
/// objects (with keys rendered as strings).
pub type Value = serde_json::Value;

/// Who performed an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Process {
    /// A client process (Jepsen's integer processes).
    Client(i64),
    /// The fault injector: its events are not client operations.
    Nemesis,
    /// Any other named process (kept, so that it can be reported).
    Named(String),
}

/// The type of an event (Jepsen's `:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    /// The operation started.
    Invoke,
    /// It took effect.
    Ok,
    /// It did not take effect.
    Fail,
    /// It may or may not have taken effect (indeterminate).
    Info,
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The process that performed it.
    pub process: Process,
    /// invoke, ok, fail or info.
    pub kind: EventKind,
    /// The function, without a leading colon (`read`, `write`, `cas`, `txn`, ...).
    pub f: String,
    /// The partition key, if the event has one (a `key` field, or the first
    /// element of a Jepsen independent `[key value]` tuple).
    pub key: Option<Value>,
    /// The value (`Value::Null` for nil).
    pub value: Value,
    /// Jepsen's `time`, in nanoseconds; informative only.
    pub time: Option<i64>,
    /// Jepsen's `index`, if present.
    pub index: Option<u64>,
    /// The 1-based line of the input where the event starts, for messages.
    pub line: usize,
}

/// A whole history: its events, in file order (= real-time order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The events in the order they appear in the input.
    pub events: Vec<Event>,
}
