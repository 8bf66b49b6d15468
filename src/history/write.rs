//! Writers: native JSONL, and Jepsen EDN that Knossos and Elle read
//! (`{:process 0, :type :invoke, :f :read, :value nil}`, one map per line,
//! keywords for `type` and `f`).
//!
//! Both round trip through the readers: reading what was written gives the
//! same events (except `line`, which is where the event is in the new file).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::error::HistoryError;
use super::options::Format;
use super::types::{Event, EventKind, History, Process, Value};
use super::value;

/// Jepsen's name of an event type.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Invoke => "invoke",
        EventKind::Ok => "ok",
        EventKind::Fail => "fail",
        EventKind::Info => "info",
    }
}

/// One JSONL line, borrowed from an event.
#[derive(Serialize)]
struct JsonEvent<'a> {
    process: JsonProcess<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<Cow<'a, Value>>,
    value: Cow<'a, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonProcess<'a> {
    Client(i64),
    Name(&'a str),
}

/// A value as JSON text gives it: a string that starts with NUL is stored
/// with a second one (docs/history-format.md), which the JSONL reader adds
/// again, so it is written without. The other tagged forms have no JSON and
/// are written as they are.
fn jsonl_form(v: &Value) -> Cow<'_, Value> {
    fn escaped(s: &str) -> bool {
        s.starts_with(value::TAG) && s[1..].starts_with(value::TAG)
    }
    fn any_escaped(v: &Value) -> bool {
        match v {
            Value::String(s) => escaped(s),
            Value::Array(items) => items.iter().any(any_escaped),
            Value::Object(map) => map.iter().any(|(k, v)| escaped(k) || any_escaped(v)),
            _ => false,
        }
    }
    fn plain(v: &Value) -> Value {
        let text = |s: &String| match escaped(s) {
            true => s[1..].to_string(),
            false => s.clone(),
        };
        match v {
            Value::String(s) => Value::String(text(s)),
            Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (text(k), plain(v))).collect())
            }
            other => other.clone(),
        }
    }
    match any_escaped(v) {
        true => Cow::Owned(plain(v)),
        false => Cow::Borrowed(v),
    }
}

/// Writes one event as a JSONL line (with its newline).
///
/// # Errors
/// The writer's.
pub fn write_jsonl_event<W: Write>(w: &mut W, event: &Event) -> io::Result<()> {
    let process = match &event.process {
        Process::Client(p) => JsonProcess::Client(*p),
        Process::Nemesis => JsonProcess::Name("nemesis"),
        Process::Named(n) => JsonProcess::Name(n),
    };
    let line = JsonEvent {
        process,
        kind: kind_name(event.kind),
        f: &event.f,
        key: event.key.as_ref().map(jsonl_form),
        value: jsonl_form(&event.value),
        time: event.time,
        index: event.index,
    };
    serde_json::to_writer(&mut *w, &line)?;
    w.write_all(b"\n")
}

/// Writes a history as JSONL.
///
/// # Errors
/// The writer's.
pub fn write_jsonl<W: Write>(w: &mut W, history: &History) -> io::Result<()> {
    for event in &history.events {
        write_jsonl_event(w, event)?;
    }
    Ok(())
}

/// Whether `name` can be written as an EDN keyword and read back as itself.
fn keyword_safe(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || matches!(first, b'*' | b'!' | b'_' | b'?' | b'<' | b'>' | b'='))
        && bytes.all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'*' | b'!' | b'_' | b'?' | b'<' | b'>' | b'=' | b'-' | b'.' | b'+'
                )
        })
}

/// Writes `s` as an EDN string literal.
fn write_edn_string<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            _ => None,
        };
        if escape.is_some() || c.is_control() {
            w.write_all(&s.as_bytes()[start..i])?;
            match escape {
                Some(e) => w.write_all(e.as_bytes())?,
                None => write!(w, "\\u{:04x}", c as u32)?,
            }
            start = i + c.len_utf8();
        }
    }
    w.write_all(&s.as_bytes()[start..])?;
    w.write_all(b"\"")
}

/// Writes a name as a keyword when it reads back as itself, else as a string.
fn write_edn_name<W: Write>(w: &mut W, name: &str) -> io::Result<()> {
    if keyword_safe(name) {
        write!(w, ":{name}")
    } else {
        write_edn_string(w, name)
    }
}

/// Writes a string value (a string, or a tagged keyword, symbol, character,
/// big number or special float: docs/history-format.md) as EDN.
fn write_edn_tagged<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    let Some((tag, body)) = value::untag(s) else {
        // A string that starts with NUL is stored with a second one.
        let plain = s
            .strip_prefix(value::TAG)
            .filter(|r| r.starts_with(value::TAG));
        return write_edn_string(w, plain.unwrap_or(s));
    };
    match tag {
        ':' => write!(w, ":{body}"),
        'N' => write!(w, "{body}N"),
        'M' => write!(w, "{body}M"),
        '\\' => match body {
            " " => w.write_all(b"\\space"),
            "\n" => w.write_all(b"\\newline"),
            "\t" => w.write_all(b"\\tab"),
            "\r" => w.write_all(b"\\return"),
            c if c.chars().all(|c| c.is_control()) => {
                write!(w, "\\u{:04x}", c.chars().next().map_or(0, u32::from))
            }
            c => write!(w, "\\{c}"),
        },
        _ => w.write_all(body.as_bytes()),
    }
}

/// Writes a value as EDN: null as nil, arrays as vectors, the canonical
/// forms of EDN's other types (docs/history-format.md) as themselves, and
/// objects as maps (a JSON object's keys as strings).
///
/// # Errors
/// The writer's.
pub fn write_edn_value<W: Write>(w: &mut W, value: &Value) -> io::Result<()> {
    match value {
        Value::Null => w.write_all(b"nil"),
        Value::Bool(b) => write!(w, "{b}"),
        Value::Number(n) => write!(w, "{n}"),
        Value::String(s) => write_edn_tagged(w, s),
        Value::Object(map) if map.len() == 1 && map.contains_key(value::SET_KEY) => {
            w.write_all(b"#{")?;
            let items = map.values().filter_map(Value::as_array).flatten();
            for (i, item) in items.enumerate() {
                if i > 0 {
                    w.write_all(b" ")?;
                }
                write_edn_value(w, item)?;
            }
            w.write_all(b"}")
        }
        Value::Array(items) => {
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_all(b" ")?;
                }
                write_edn_value(w, item)?;
            }
            w.write_all(b"]")
        }
        Value::Object(map) => {
            w.write_all(b"{")?;
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    w.write_all(b", ")?;
                }
                write_edn_value(w, &value::key_of(k))?;
                w.write_all(b" ")?;
                write_edn_value(w, v)?;
            }
            w.write_all(b"}")
        }
    }
}

/// Writes one event as a Jepsen EDN map on one line (with its newline).
///
/// # Errors
/// The writer's.
pub fn write_edn_event<W: Write>(w: &mut W, event: &Event) -> io::Result<()> {
    w.write_all(b"{:process ")?;
    match &event.process {
        Process::Client(p) => write!(w, "{p}")?,
        Process::Nemesis => w.write_all(b":nemesis")?,
        Process::Named(n) => write_edn_name(w, n)?,
    }
    write!(w, ", :type :{}, :f ", kind_name(event.kind))?;
    write_edn_name(w, &event.f)?;
    if let Some(key) = &event.key {
        w.write_all(b", :key ")?;
        write_edn_value(w, key)?;
    }
    w.write_all(b", :value ")?;
    write_edn_value(w, &event.value)?;
    if let Some(time) = event.time {
        write!(w, ", :time {time}")?;
    }
    if let Some(index) = event.index {
        write!(w, ", :index {index}")?;
    }
    w.write_all(b"}\n")
}

/// Writes a history as Jepsen EDN, one operation map per line (a stream of
/// maps, which Knossos's and Elle's readers accept, as does ours).
///
/// # Errors
/// The writer's.
pub fn write_edn<W: Write>(w: &mut W, history: &History) -> io::Result<()> {
    for event in &history.events {
        write_edn_event(w, event)?;
    }
    Ok(())
}

/// Writes a history to a file in `format` (`Jsonl` or `Edn`; `Auto` follows
/// the extension, JSONL when it names no format). There is no txt writer.
///
/// # Errors
/// [`HistoryError::Io`] naming the file; asking for txt is an `InvalidInput`
/// error.
pub fn write_file(path: &Path, history: &History, format: Format) -> Result<(), HistoryError> {
    let io_error = |source| HistoryError::Io {
        file: path.display().to_string(),
        source,
    };
    let format = match format {
        Format::Auto => super::options::format_from_extension(path).unwrap_or(Format::Jsonl),
        other => other,
    };
    if format == Format::Txt {
        return Err(io_error(io::Error::new(
            io::ErrorKind::InvalidInput,
            "synod writes JSONL and EDN histories, not txt",
        )));
    }
    let mut w = BufWriter::new(File::create(path).map_err(io_error)?);
    match format {
        Format::Edn => write_edn(&mut w, history),
        _ => write_jsonl(&mut w, history),
    }
    .and_then(|()| w.flush())
    .map_err(io_error)
}
