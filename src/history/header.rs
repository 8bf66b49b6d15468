//! The optional header of a history (docs/history-format.md, "The header"):
//! what the history assumes of the checker, so that a plain `synod check`
//! judges it as its writer meant.
//!
//! In JSONL it is the first non-blank line, an object whose first key is
//! `synod_history` (`{"synod_history": 1, "model": "kv", "init": "",
//! "nil_read": "absent"}`); the reader skips such lines. In EDN it is the
//! first non-blank line, a `;` comment holding the same JSON object, which
//! every EDN reader (Knossos, Elle) ignores anyway.

use serde_json::json;

use super::options::Format;
use super::types::Value;

/// The header's version this reader understands.
pub const HEADER_VERSION: u64 = 1;

/// The key that marks a header object.
pub const HEADER_KEY: &str = "synod_history";

/// What a header says; each field is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// The model's name, as `synod check --model` spells it.
    pub model: Option<String>,
    /// The initial value (`--init`), in JSON.
    pub init: Option<Value>,
    /// `any` or `absent` (`--nil-read`).
    pub nil_read: Option<String>,
}

impl Header {
    /// The header as one line of `format` (with its newline).
    pub fn line(&self, format: Format) -> String {
        // Written by hand: `synod_history` must come first, and a JSON
        // object would sort its keys.
        let mut text = format!("{{\"{HEADER_KEY}\":{HEADER_VERSION}");
        if let Some(m) = &self.model {
            text += &format!(",\"model\":{}", json!(m));
        }
        if let Some(i) = &self.init {
            text += &format!(",\"init\":{i}");
        }
        if let Some(n) = &self.nil_read {
            text += &format!(",\"nil_read\":{}", json!(n));
        }
        text.push('}');
        match format {
            Format::Edn => format!("; {text}\n"),
            _ => format!("{text}\n"),
        }
    }
}

/// Whether a JSONL line (trimmed) is a header line: an object whose first
/// key is `synod_history`.
pub(crate) fn is_header_line(trimmed: &[u8]) -> bool {
    let Some(rest) = trimmed.strip_prefix(b"{") else {
        return false;
    };
    rest.trim_ascii_start().starts_with(b"\"synod_history\"")
}

/// The header at the start of `start` (the first bytes of an input in
/// `format`), if its first non-blank line is one. An `Err` is a header that
/// is there but malformed: its 1-based line and the message.
pub(crate) fn find(start: &[u8], format: Format) -> Result<Option<Header>, (usize, String)> {
    let Some(first) = start.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(None);
    };
    let line_no = 1 + start[..first].iter().filter(|&&b| b == b'\n').count();
    let rest = &start[first..];
    let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
    let body = match format {
        Format::Jsonl => line.trim_ascii(),
        Format::Edn => match line.strip_prefix(b";") {
            Some(comment) => trim_semicolons(comment).trim_ascii(),
            None => return Ok(None),
        },
        _ => return Ok(None),
    };
    if !is_header_line(body) {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| (line_no, "invalid UTF-8".to_string()))?;
    parse(text)
        .map(Some)
        .map_err(|e| (line_no, format!("invalid synod_history header: {e}")))
}

/// `comment` without the further `;` of a `;;` comment.
fn trim_semicolons(comment: &[u8]) -> &[u8] {
    let n = comment.iter().take_while(|&&b| b == b';').count();
    &comment[n..]
}

/// Parses a header object's text.
fn parse(text: &str) -> Result<Header, String> {
    let value = super::jsonl::parse_value(text).map_err(|e| e.to_string())?;
    let Value::Object(mut object) = value else {
        return Err("expected a JSON object".to_string());
    };
    match object.remove(HEADER_KEY) {
        Some(v) if v.as_u64() == Some(HEADER_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "version {v} is not one this synod reads (it reads {HEADER_VERSION})"
            ))
        }
        None => return Err(format!("expected the key {HEADER_KEY:?}")),
    }
    let name = |object: &mut serde_json::Map<String, Value>, key: &str| match object.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, got {other}")),
    };
    let model = name(&mut object, "model")?;
    let nil_read = name(&mut object, "nil_read")?;
    if let Some(n) = nil_read
        .as_deref()
        .filter(|n| !matches!(*n, "any" | "absent"))
    {
        return Err(format!("nil_read must be \"any\" or \"absent\", got {n:?}"));
    }
    Ok(Header {
        model,
        init: object.remove("init"),
        nil_read,
    })
}
