//! Reader options and format detection.

use std::path::Path;

/// The format of a history file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Decide by the file extension (`.jsonl`/`.json`, `.edn`, `.txt`/`.log`),
    /// else by the first non-blank character.
    #[default]
    Auto,
    /// Native JSONL: one JSON object per line (DESIGN.md, "Histories").
    Jsonl,
    /// Jepsen EDN: one vector, one list, or a stream of operation maps.
    Edn,
    /// Jepsen `history.txt`: tab-separated `process type f value` lines.
    Txt,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Format::Auto),
            "jsonl" | "json" => Ok(Format::Jsonl),
            "edn" => Ok(Format::Edn),
            "txt" => Ok(Format::Txt),
            other => Err(format!(
                "unknown history format `{other}`: expected auto, jsonl, edn or txt"
            )),
        }
    }
}

/// The default [`ReadOptions::max_events`]: ten million events (five million
/// operations), a few GiB of memory.
pub const DEFAULT_MAX_EVENTS: usize = 10_000_000;

/// How to read a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The input format.
    pub format: Format,
    /// Jepsen "independent" histories: a client event's value `[key value]`
    /// becomes its key and value. An event with a `key` field keeps its value
    /// as it is (the field wins).
    pub independent: bool,
    /// The most events a history may have; more is reported as
    /// [`crate::history::HistoryError::TooManyEvents`].
    pub max_events: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: Format::Auto,
            independent: false,
            max_events: DEFAULT_MAX_EVENTS,
        }
    }
}

/// The format a file's extension names, if it names one.
pub fn format_from_extension(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jsonl" | "json" => Some(Format::Jsonl),
        "edn" => Some(Format::Edn),
        "txt" | "log" => Some(Format::Txt),
        _ => None,
    }
}

/// The format the start of an input suggests: `{"` is JSONL (the quote on
/// the brace's line: a JSONL event is one line); `[`, `(`, `{`, `#` and `;`
/// are EDN; a digit, a letter or `:` (a process, perhaps after a logger
/// prefix) is txt. `Err` carries the first non-blank character when none
/// fits; an input with no non-blank character is EDN (an empty history).
/// Only the first non-blank line is read, so the answer is the same for any
/// block of whole lines that holds it.
pub(crate) fn sniff(start: &[u8]) -> Result<Format, String> {
    let Some(at) = start.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Ok(Format::Edn);
    };
    let rest = &start[at..];
    match rest[0] {
        b'{' => match rest[1..]
            .iter()
            .take_while(|b| **b != b'\n')
            .find(|b| !b.is_ascii_whitespace())
        {
            Some(b'"') => Ok(Format::Jsonl),
            _ => Ok(Format::Edn),
        },
        b'[' | b'(' | b'#' | b';' => Ok(Format::Edn),
        b if b.is_ascii_alphanumeric() || b == b':' || b == b'-' => Ok(Format::Txt),
        _ => {
            let text = String::from_utf8_lossy(&rest[..rest.len().min(4)]);
            let c = text.chars().next().unwrap_or('?');
            Err(c.escape_debug().to_string())
        }
    }
}
