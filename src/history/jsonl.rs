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

/// The digits of the shortest integer that may not fit in 64 bits (a
/// negative one of 19 digits).
const LONG_DIGITS: usize = 19;

/// Whether `text` needs [`rewrite`]: it has a run of [`LONG_DIGITS`] digits
/// or a `\u0000` escape.
fn needs_rewrite(text: &[u8]) -> bool {
    let mut run = 0usize;
    let mut longest = 0usize;
    for &b in text {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest >= LONG_DIGITS || (text.contains(&b'\\') && text.windows(6).any(|w| w == b"\\u0000"))
}

/// Whether a value serde_json parsed may differ from its canonical form: it
/// holds a float beyond the 64-bit integers (perhaps an integer literal
/// serde_json could only read as a float), or a string or object key that
/// starts with NUL. The line is then parsed again, [`rewrite`]n.
fn suspect(v: &Value) -> bool {
    match v {
        // serde_json reads the integer `-0` as the double -0.0.
        Value::Number(n) => {
            n.is_f64()
                && n.as_f64()
                    .is_some_and(|x| x.abs() >= 9.2e18 || (x == 0.0 && x.is_sign_negative()))
        }
        Value::String(s) => s.starts_with(super::value::TAG),
        Value::Array(items) => items.iter().any(suspect),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.starts_with(super::value::TAG) || suspect(v)),
        Value::Null | Value::Bool(_) => false,
    }
}

/// `line` with its values brought to the canonical form serde_json cannot
/// produce by itself (docs/history-format.md): an integer beyond 64 bits
/// becomes the string `"\u0000N<digits>"` (serde_json would read a float),
/// and a string that starts with NUL gets a second one. Numbers that are not
/// valid JSON are left for serde_json to reject.
fn rewrite(line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 16);
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'"' {
            out.push(b);
            i += 1;
            if line[i..].starts_with(b"\\u0000") {
                out.extend_from_slice(b"\\u0000");
            }
            // Copy the string through its closing quote.
            while i < line.len() {
                let c = line[i];
                let step = if c == b'\\' { 2 } else { 1 };
                out.extend_from_slice(&line[i..(i + step).min(line.len())]);
                i += step;
                if c == b'"' {
                    break;
                }
            }
        } else if b == b'-' || b.is_ascii_digit() {
            let len = line[i..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            let token = &line[i..i + len];
            let digits = token.strip_prefix(b"-").unwrap_or(token);
            let big = std::str::from_utf8(token)
                .ok()
                .filter(|_| digits.len() > 1 && digits[0] != b'0')
                .and_then(super::value::integer)
                .filter(Value::is_string);
            match big {
                // The integer zero written `-0` (JSON's integers are exact).
                _ if token == b"-0" => out.push(b'0'),
                Some(Value::String(tagged)) => {
                    out.extend_from_slice(b"\"\\u0000");
                    out.extend_from_slice(&tagged.as_bytes()[1..]);
                    out.push(b'"');
                }
                _ => out.extend_from_slice(token),
            }
            i += len;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Parses one JSON value (as `--init` and the header's `init` are read) in
/// the canonical form of [`super::value`].
pub(crate) fn parse_value(text: &str) -> Result<Value, serde_json::Error> {
    let bytes = text.as_bytes();
    if !needs_rewrite(bytes) {
        let value: Value = serde_json::from_str(text)?;
        if !suspect(&value) {
            return Ok(value);
        }
    }
    serde_json::from_slice(&rewrite(bytes))
        .map_err(|e| serde_json::from_str::<Value>(text).err().unwrap_or(e))
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
    if trimmed.is_empty() || super::header::is_header_line(trimmed) {
        // A header line (read by `read_source`) is no event.
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
    let error = |e: serde_json::Error| ParseError {
        line,
        // serde's column is 1-based within the trimmed text, in bytes.
        column: at_column(lead + e.column().saturating_sub(1)),
        message: message(&e),
        eof: false,
    };
    let mut raw: RawEvent = serde_json::from_slice(trimmed).map_err(error)?;
    if raw.key.as_ref().is_some_and(suspect) || suspect(&raw.value) {
        // Rare: an integer beyond 64 bits, or a string starting with NUL.
        // Checking the values parsed costs next to nothing; scanning every
        // line's text for long digit runs cost 10% of the reading.
        let text = rewrite(trimmed);
        let fixed: RawEvent = serde_json::from_slice(&text).map_err(error)?;
        (raw.key, raw.value) = (fixed.key, fixed.value);
    }
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
