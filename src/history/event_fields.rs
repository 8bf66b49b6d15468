//! The fields of one operation as a reader found them, and the rules every
//! format shares to turn them into an [`Event`]: required fields, nemesis
//! operations, Jepsen "independent" `[key value]` tuples.

use super::types::{Event, EventKind, Process, Value};

/// The fields of one operation as read, before validation.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) process: Option<Process>,
    pub(crate) kind: Option<EventKind>,
    pub(crate) f: Option<Value>,
    pub(crate) key: Option<Value>,
    pub(crate) value: Option<Value>,
    pub(crate) time: Option<i64>,
    pub(crate) index: Option<u64>,
    /// The line the event starts on (1-based, relative to the reader's chunk).
    pub(crate) line: usize,
}

/// Which part of the operation an error is about, so that a reader can point
/// at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The operation as a whole (a missing field).
    Map,
    /// Its `f`.
    F,
    /// Its `value`.
    Value,
}

/// An invalid operation.
#[derive(Debug)]
pub(crate) struct FieldError {
    pub(crate) field: Field,
    pub(crate) message: String,
}

fn error(field: Field, message: String) -> FieldError {
    FieldError { field, message }
}

/// Jepsen's type names (with or without a leading colon stripped by the caller).
pub(crate) fn kind_from_name(name: &str) -> Option<EventKind> {
    match name {
        "invoke" => Some(EventKind::Invoke),
        "ok" => Some(EventKind::Ok),
        "fail" => Some(EventKind::Fail),
        "info" => Some(EventKind::Info),
        _ => None,
    }
}

/// How a value is shown in an error message: in the notation of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notation {
    /// JSON (`null`, `"a"`).
    Json,
    /// EDN (`nil`, `"a"`, maps with keywords).
    Edn,
}

/// The most characters of a value an error message shows.
const SHOWN_CHARS: usize = 60;

/// Renders `value` for an error message, cut to [`SHOWN_CHARS`].
pub(crate) fn show(value: &Value, notation: Notation) -> String {
    let text = match notation {
        Notation::Json => value.to_string(),
        Notation::Edn => {
            let mut out = Vec::new();
            // Writing to memory cannot fail.
            let _ = super::write::write_edn_value(&mut out, value);
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    if text.chars().count() > SHOWN_CHARS {
        let cut: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// Validates the fields and builds the event.
///
/// - `process` and `type` are required; `f` is required of client
///   operations (a nemesis operation without one gets `""`, and a nemesis `f`
///   that is not a name is kept as its JSON text);
/// - with `independent`, a client operation without a `key` field must have
///   a `[key value]` value, which is split (except a fail or info with a nil
///   value, kept keyless); with a `key` field, the value is kept as it is.
pub(crate) fn finish(
    fields: Fields,
    independent: bool,
    notation: Notation,
) -> Result<Event, FieldError> {
    let Some(process) = fields.process else {
        return Err(error(
            Field::Map,
            "operation without a process field".to_string(),
        ));
    };
    let Some(kind) = fields.kind else {
        return Err(error(
            Field::Map,
            "operation without a type field".to_string(),
        ));
    };
    let client = process != Process::Nemesis;
    let f = match fields.f.map(super::value::into_name) {
        Some(Ok(name)) => name,
        None if !client => String::new(),
        Some(Err(other)) if !client => show(&other, Notation::Json),
        None => {
            return Err(error(
                Field::Map,
                "operation without an f field".to_string(),
            ))
        }
        Some(Err(other)) => {
            return Err(error(
                Field::F,
                format!(
                    "expected a name (keyword, symbol or string) for f, found {}",
                    show(&other, notation)
                ),
            ))
        }
    };
    let mut key = fields.key.filter(|k| !k.is_null());
    let mut value = fields.value.unwrap_or(Value::Null);
    // A fail or info completion may carry nil instead of its tuple (a
    // client that crashed before it knew its result): it stays keyless,
    // and pairs with its invoke by process.
    let keyless_completion = matches!(kind, EventKind::Fail | EventKind::Info) && value.is_null();
    if independent && client && key.is_none() && !keyless_completion {
        match value {
            Value::Array(mut pair) if pair.len() == 2 => {
                value = pair.pop().unwrap_or(Value::Null);
                key = pair.pop();
            }
            other => {
                return Err(error(
                    Field::Value,
                    format!(
                        "expected a [key value] tuple (independent history), found {}",
                        show(&other, notation)
                    ),
                ))
            }
        }
    }
    Ok(Event {
        process,
        kind,
        f,
        key,
        value,
        time: fields.time,
        index: fields.index,
        line: fields.line,
    })
}
