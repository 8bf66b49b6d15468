//! `history_parse`: arbitrary bytes as a JSONL, EDN, txt or auto-detected
//! history. Properties: no panic; at most `max_events` events (bounded
//! memory); every syntax error names a line and column inside the input
//! (1-based, the line at most one past the last); an explicit format gives
//! the same result whether the input is read in one block or in tiny blocks
//! and chunks, and so does `Format::Auto` (it once settled the format on a
//! first block of blanks: `fuzz/regressions/history_parse/`); a history
//! that reads re-reads identically from its own JSONL.

use std::io::Cursor;

use super::input::Input;
use crate::history::value::TAG;
use crate::history::{
    read_reader_chunked, write_jsonl, Chunking, Format, History, HistoryError, ReadOptions, Value,
};

/// The event limit under test (kept small: bounded memory per input).
pub const MAX_EVENTS: usize = 64;

fn read(bytes: &[u8], format: Format, chunking: Chunking) -> Result<History, HistoryError> {
    let opts = ReadOptions {
        format,
        independent: false,
        max_events: MAX_EVENTS,
    };
    read_reader_chunked(Cursor::new(bytes), "<fuzz>", &opts, chunking)
}

/// The error's position, checked to lie inside `bytes`.
fn check_error(bytes: &[u8], format: Format, e: &HistoryError) {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    match e {
        HistoryError::Syntax { line, column, .. } => {
            assert!(
                *line >= 1 && *line <= lines + 1,
                "line {line} outside 1..={} in {e}",
                lines + 1
            );
            let text: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
            let width = text.get(line - 1).map_or(0, |l| l.len());
            assert!(
                *column >= 1 && *column <= width + 2,
                "column {column} outside 1..={} in {e}",
                width + 2
            );
        }
        HistoryError::TooManyEvents { line, limit, .. } => {
            assert!(*line >= 1 && *line <= lines + 1, "line {line} in {e}");
            assert_eq!(*limit, MAX_EVENTS);
        }
        HistoryError::UnknownFormat { .. } => {
            assert_eq!(format, Format::Auto, "an explicit format cannot be unknown");
        }
        HistoryError::Io { .. } => panic!("a read from memory failed: {e}"),
    }
}

fn position(e: &HistoryError) -> String {
    match e {
        HistoryError::Syntax { line, column, .. } => format!("syntax {line}:{column}"),
        HistoryError::TooManyEvents { line, .. } => format!("too many events at {line}"),
        other => other.to_string(),
    }
}

/// Whether `v` holds a value JSON cannot write as itself (a tagged string
/// or object key, `synod::history::value`).
fn holds_tag(v: &Value) -> bool {
    let tagged = |s: &str| s.starts_with(TAG);
    match v {
        Value::String(s) => tagged(s),
        Value::Array(items) => items.iter().any(holds_tag),
        Value::Object(map) => map.iter().any(|(k, v)| tagged(k) || holds_tag(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The body: a byte choosing the format and the tiny chunking, then the
/// history text.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let sel = input.u8();
    let bytes = input.rest();
    let format = [Format::Auto, Format::Jsonl, Format::Edn, Format::Txt][(sel % 4) as usize];
    // One block for any input libFuzzer makes (the default 16 MiB block
    // would zero 16 MiB per input).
    let one_block = Chunking {
        block_bytes: 1 << 16,
        ..Chunking::default()
    };
    let whole = read(bytes, format, one_block);
    match &whole {
        Ok(h) => {
            assert!(h.events.len() <= MAX_EVENTS, "more events than the limit");
            let mut out = Vec::new();
            write_jsonl(&mut out, h).expect("writes to memory");
            let again = read(&out, Format::Jsonl, one_block)
                .unwrap_or_else(|e| panic!("own JSONL does not read back: {e}"));
            assert_eq!(again.events.len(), h.events.len(), "JSONL round trip");
            for (a, b) in again.events.iter().zip(&h.events) {
                // JSON has no keyword, symbol, set or big decimal: such
                // values come back as strings (docs/history-format.md).
                if b.key.iter().chain(std::iter::once(&b.value)).any(holds_tag) {
                    continue;
                }
                let mut a = a.clone();
                a.line = b.line;
                assert_eq!(&a, b, "JSONL round trip changed an event");
            }
        }
        Err(e) => check_error(bytes, format, e),
    }
    let tiny = Chunking {
        block_bytes: 1 + (sel as usize >> 2) % 16,
        chunk_bytes: 1 + (sel as usize >> 6),
    };
    let small = read(bytes, format, tiny);
    match (&whole, &small) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the result depends on the block size"),
        (Err(a), Err(b)) => {
            check_error(bytes, format, b);
            assert_eq!(
                position(a),
                position(b),
                "the error depends on the block size"
            );
        }
        (a, b) => panic!("the result depends on the block size: {a:?} vs {b:?}"),
    }
}
