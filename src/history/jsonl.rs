//! Native JSONL: one JSON object per line (DESIGN.md, "Histories").

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::error::ParseError;
use super::event_fields::{self, Field, Fields, Notation};
use super::types::{Event, EventKind, Process, Value};

/// One line as serde sees it; unknown fields are ignored.
#[derive(Deserialize)]
struct RawEvent<'a> {
    process: Option<RawProcess>,
    #[serde(rename = "type")]
    kind: Option<RawKind>,
    #[serde(borrow)]
    f: Option<Cow<'a, str>>,
    key: Option<Value>,
    #[serde(default)]
    value: Value,
    time: Option<i64>,
    index: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawKind {
    Invoke,
    Ok,
    Fail,
    Info,
}

struct RawProcess(Process);

impl<'de> Deserialize<'de> for RawProcess {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawProcess;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer process or \"nemesis\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawProcess, E> {
                Ok(RawProcess(Process::Client(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawProcess, E> {
                i64::try_from(v)
                    .map(|v| RawProcess(Process::Client(v)))
                    .map_err(|_| E::custom(format!("process {v} is out of range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawProcess, E> {
                Ok(RawProcess(if v == "nemesis" {
                    Process::Nemesis
                } else {
                    Process::Named(v.to_string())
                }))
            }
        }
        d.deserialize_any(V)
    }
}

/// serde_json's message without its " at line L column C" suffix.
fn message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Parses one line (`line` is its 0-based number relative to the chunk).
/// Blank lines give `None`.
pub(crate) fn parse_line(
    text: &[u8],
    line: usize,
    independent: bool,
) -> Result<Option<Event>, ParseError> {
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let lead = text.len() - text.trim_ascii_start().len();
    let at_column = |byte: usize| -> usize {
        let end = byte.min(text.len());
        text[..end].iter().filter(|&&b| (b & 0xC0) != 0x80).count() + 1
    };
    if trimmed[0] != b'{' {
        return Err(ParseError {
            line,
            column: at_column(lead),
            message: format!(
                "expected a JSON object, found {}",
                super::edn::describe(trimmed)
            ),
            eof: false,
        });
    }
    let raw: RawEvent = serde_json::from_slice(trimmed).map_err(|e| ParseError {
        line,
        // serde's column is 1-based within the trimmed text, in bytes.
        column: at_column(lead + e.column().saturating_sub(1)),
        message: message(&e),
        eof: false,
    })?;
    let fields = Fields {
        process: raw.process.map(|p| p.0),
        kind: raw.kind.map(|k| match k {
            RawKind::Invoke => EventKind::Invoke,
            RawKind::Ok => EventKind::Ok,
            RawKind::Fail => EventKind::Fail,
            RawKind::Info => EventKind::Info,
        }),
        f: raw.f.map(|f| Value::String(f.into_owned())),
        key: raw.key,
        value: Some(raw.value),
        time: raw.time,
        index: raw.index,
        line: line + 1,
    };
    event_fields::finish(fields, independent, Notation::Json)
        .map(Some)
        .map_err(|e| {
            // Point at the field the error is about, when it can be found.
            let needle: &[u8] = match e.field {
                Field::Map => b"",
                Field::F => b"\"f\"",
                Field::Value => b"\"value\"",
            };
            let byte = if needle.is_empty() {
                lead
            } else {
                text.windows(needle.len())
                    .position(|w| w == needle)
                    .unwrap_or(lead)
            };
            ParseError {
                line,
                column: at_column(byte),
                message: e.message,
                eof: false,
            }
        })
}
