//! Jepsen `history.txt`: tab-separated `process type f value` lines (and an
//! optional error field), as `jepsen.util/print-history` writes them. A
//! logger prefix before the process is tolerated
//! (`INFO  jepsen.util - 3<TAB>:invoke<TAB>:read<TAB>nil`): the process is
//! the last word of the first field. The value is EDN.

use super::edn::{Mark, Parser};
use super::error::ParseError;
use super::event_fields::{self, Field, Fields, Notation};
use super::types::{Process, Value};
use super::Event;

fn column(text: &[u8], byte: usize) -> usize {
    text[..byte.min(text.len())]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1
}

/// Parses one EDN value filling `text[start..end]` (surrounding blanks allowed).
fn field_value(
    text: &[u8],
    start: usize,
    end: usize,
    line: usize,
    what: &str,
) -> Result<Value, ParseError> {
    let field = &text[..end];
    let mut p = Parser::new(
        field,
        Mark {
            pos: start,
            line,
            line_start: 0,
        },
    );
    let fix = |mut e: ParseError| {
        e.eof = false;
        e
    };
    p.skip_ws(0).map_err(fix)?;
    if p.at_end() {
        return Err(ParseError {
            line,
            column: column(text, end),
            message: format!("expected {what}, found an empty field"),
            eof: false,
        });
    }
    let v = p.value(0).map_err(fix)?;
    p.skip_ws(0).map_err(fix)?;
    if !p.at_end() {
        return Err(fix(
            p.expected(&format!("a tab or the end of the line after {what}"))
        ));
    }
    Ok(v)
}

/// Parses one line (`line` is its 0-based number relative to the chunk).
/// Blank lines give `None`.
pub(crate) fn parse_line(
    text: &[u8],
    line: usize,
    independent: bool,
) -> Result<Option<Event>, ParseError> {
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    if text.trim_ascii().is_empty() {
        return Ok(None);
    }
    let err = |byte: usize, message: String| ParseError {
        line,
        column: column(text, byte),
        message,
        eof: false,
    };
    // Field boundaries: [start, end) of each tab-separated field.
    let mut bounds = Vec::with_capacity(5);
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\t' {
            bounds.push((start, i));
            start = i + 1;
        }
    }
    bounds.push((start, text.len()));
    if bounds.len() < 3 {
        return Err(err(
            0,
            format!(
                "expected tab-separated `process type f value`, found {} field(s)",
                bounds.len()
            ),
        ));
    }
    // The process: the last word of the first field (after any logger prefix).
    let (p_start, p_end) = bounds[0];
    let first = &text[p_start..p_end];
    let word_end = first.trim_ascii_end().len();
    let word_start = first[..word_end]
        .iter()
        .rposition(|b| b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let word = &first[word_start..word_end];
    let process = match word {
        b"" => {
            return Err(err(
                p_end,
                "expected a process before the first tab, found nothing".to_string(),
            ))
        }
        b":nemesis" | b"nemesis" => Process::Nemesis,
        _ => match std::str::from_utf8(word)
            .ok()
            .and_then(|w| w.parse::<i64>().ok())
        {
            Some(i) => Process::Client(i),
            None => match word
                .strip_prefix(b":")
                .and_then(|w| std::str::from_utf8(w).ok())
            {
                Some(name) if !name.is_empty() => Process::Named(name.to_string()),
                _ => {
                    return Err(err(
                        p_start + word_start,
                        format!(
                            "expected a process (an integer or a keyword), found `{}`",
                            String::from_utf8_lossy(word)
                        ),
                    ))
                }
            },
        },
    };
    let (t_start, t_end) = bounds[1];
    let type_text = text[t_start..t_end].trim_ascii();
    let type_name = type_text.strip_prefix(b":").unwrap_or(type_text);
    let kind = std::str::from_utf8(type_name)
        .ok()
        .and_then(event_fields::kind_from_name);
    let Some(kind) = kind else {
        let found = if type_text.is_empty() {
            "an empty field".to_string()
        } else {
            format!("`{}`", String::from_utf8_lossy(type_text))
        };
        let lead = text[t_start..t_end].len() - text[t_start..t_end].trim_ascii_start().len();
        return Err(err(
            t_start + lead,
            format!("expected :invoke, :ok, :fail or :info, found {found}"),
        ));
    };
    let (f_start, f_end) = bounds[2];
    let f = field_value(text, f_start, f_end, line, "a function name")?;
    let value = match bounds.get(3) {
        Some(&(v_start, v_end)) => field_value(text, v_start, v_end, line, "a value")?,
        None => Value::Null,
    };
    let fields = Fields {
        process: Some(process),
        kind: Some(kind),
        f: Some(f),
        key: None,
        value: Some(value),
        time: None,
        index: None,
        line: line + 1,
    };
    event_fields::finish(fields, independent, Notation::Edn)
        .map(Some)
        .map_err(|e| {
            let byte = match e.field {
                Field::Map => 0,
                Field::F => f_start,
                Field::Value => bounds.get(3).map_or(text.len(), |b| b.0),
            };
            err(byte, e.message)
        })
}
