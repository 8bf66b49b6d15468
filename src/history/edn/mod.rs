//! An EDN parser over bytes, producing [`Value`]s and operation [`Event`]s.
//!
//! The grammar is EDN's (keywords, symbols, strings with escapes, characters,
//! integers with an optional `N`, floats with an optional `M`, ratios,
//! booleans, nil, vectors, lists, sets, maps, `;` comments, `#_` discards,
//! commas as whitespace, `#tag value` whose tag is dropped and value kept),
//! mapped onto JSON's data model in the canonical form of [`super::value`]
//! (docs/history-format.md): two values are equal exactly when Clojure's `=`
//! says so. Vectors and lists become arrays (Clojure's `=` equates them),
//! sets sorted one-entry objects, keywords, symbols, characters, big
//! integers, big decimals and ratios tagged strings.
//!
//! The parser works on one slice and tracks only the byte offset, the line
//! and where that line starts; columns are computed only for errors. Nesting
//! is limited to [`MAX_DEPTH`] so that garbage input cannot exhaust the stack.

use serde_json::Number;

use super::value;

mod event;

use super::error::ParseError;
use super::types::Value;

/// The deepest nesting of collections, tags and discards the parser accepts.
pub(crate) const MAX_DEPTH: usize = 200;

/// A position in the input: byte offset, 0-based line relative to where the
/// parser started, and the byte offset where that line starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) pos: usize,
    pub(crate) line: usize,
    pub(crate) line_start: usize,
}

/// The parser: a slice and a position in it.
pub(crate) struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

/// Byte classes, looked up once per byte in the hot loops.
const DELIMITER: u8 = 1;
const SYMBOL: u8 = 2;

const fn byte_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let delimiter = matches!(
            c,
            b' ' | b'\t'
                | b'\r'
                | b'\n'
                | b','
                | b'('
                | b')'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'"'
                | b';'
        );
        // Any non-ASCII byte may be part of a symbol: UTF-8 is validated when
        // the token becomes a string.
        let symbol = c.is_ascii_alphanumeric()
            || c >= 0x80
            || matches!(
                c,
                b'.' | b'*'
                    | b'+'
                    | b'!'
                    | b'-'
                    | b'_'
                    | b'?'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'='
                    | b'<'
                    | b'>'
                    | b'/'
                    | b':'
                    | b'#'
                    | b'\''
                    | b'|'
            );
        t[b] = (if delimiter { DELIMITER } else { 0 }) | (if symbol { SYMBOL } else { 0 });
        b += 1;
    }
    t
}

static CLASSES: [u8; 256] = byte_classes();

/// Bytes that end a token (whitespace, commas, brackets, quotes, comments).
fn is_delimiter(b: u8) -> bool {
    CLASSES[b as usize] & DELIMITER != 0
}

/// Bytes allowed inside a symbol or keyword.
fn is_symbol_byte(b: u8) -> bool {
    CLASSES[b as usize] & SYMBOL != 0
}

impl<'a> Parser<'a> {
    /// A parser over `buf` starting at `at` (whose `line` is the relative
    /// line the caller wants reported for that position).
    pub(crate) fn new(buf: &'a [u8], at: Mark) -> Self {
        Parser {
            buf,
            pos: at.pos,
            line: at.line,
            line_start: at.line_start,
        }
    }

    /// The current position.
    pub(crate) fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
        }
    }

    /// The next byte, if any.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Whether the whole slice has been consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Skips one byte known to be there (not a newline).
    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    /// An error at `at`.
    pub(crate) fn error_at(&self, at: Mark, message: String) -> ParseError {
        let end = at.pos.min(self.buf.len());
        let start = at.line_start.min(end);
        // Columns count characters: skip UTF-8 continuation bytes.
        let column = self.buf[start..end]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        ParseError {
            line: at.line,
            column,
            message,
            eof: at.pos >= self.buf.len(),
        }
    }

    /// An error at the current position: `expected X, found Y`.
    pub(crate) fn expected(&self, what: &str) -> ParseError {
        let found = self.found();
        self.error_at(self.mark(), format!("expected {what}, found {found}"))
    }

    /// Describes the text at the current position for a message.
    pub(crate) fn found(&self) -> String {
        describe(&self.buf[self.pos.min(self.buf.len())..])
    }

    /// Skips whitespace, commas, `;` comments and `#_` discarded forms.
    pub(crate) fn skip_ws(&mut self, depth: usize) -> Result<(), ParseError> {
        while let Some(&b) = self.buf.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                b';' => {
                    let rest = &self.buf[self.pos..];
                    self.pos += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                }
                b'#' if self.buf.get(self.pos + 1) == Some(&b'_') => {
                    if depth >= MAX_DEPTH {
                        return Err(self.nesting_error());
                    }
                    self.pos += 2;
                    self.skip_ws(depth + 1)?;
                    if self.at_end() {
                        return Err(self.expected("a form to discard after `#_`"));
                    }
                    self.value(depth + 1)?;
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn nesting_error(&self) -> ParseError {
        self.error_at(
            self.mark(),
            format!("nesting deeper than {MAX_DEPTH} levels (the parser's limit)"),
        )
    }

    /// Parses one value at the current position (whitespace already skipped).
    pub(crate) fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(self.nesting_error());
        }
        let Some(b) = self.peek() else {
            return Err(self.expected("a value"));
        };
        let next = self.buf.get(self.pos + 1).copied();
        match b {
            b'"' => self.string().map(value::string),
            b'[' => {
                self.pos += 1;
                self.sequence(b']', depth).map(Value::Array)
            }
            b'(' => {
                self.pos += 1;
                self.sequence(b')', depth).map(Value::Array)
            }
            b'{' => {
                self.pos += 1;
                self.map(depth)
            }
            b'#' => self.dispatch(depth),
            b':' => self.keyword().map(value::keyword),
            b'\\' => self.character().map(value::character),
            b'0'..=b'9' => self.number(),
            b'+' | b'-' if next.is_some_and(|n| n.is_ascii_digit()) => self.number(),
            _ if is_symbol_byte(b) => {
                let at = self.mark();
                let token = self.token();
                match token {
                    b"nil" => Ok(Value::Null),
                    b"true" => Ok(Value::Bool(true)),
                    b"false" => Ok(Value::Bool(false)),
                    _ => self.utf8(token, at).map(value::symbol),
                }
            }
            _ => Err(self.expected("a value")),
        }
    }

    /// After `#`: a set, a symbolic value, a tagged value or a discard.
    fn dispatch(&mut self, depth: usize) -> Result<Value, ParseError> {
        let at = self.mark();
        match self.buf.get(self.pos + 1).copied() {
            Some(b'{') => {
                self.pos += 2;
                self.sequence(b'}', depth).map(value::set)
            }
            Some(b'_') => {
                self.skip_ws(depth)?;
                if self.at_end() {
                    return Err(self.expected("a value"));
                }
                self.value(depth + 1)
            }
            Some(b'#') => {
                self.pos += 2;
                let token = self.token();
                match token {
                    b"Inf" | b"-Inf" | b"NaN" => {
                        let s = self.utf8(token, at)?;
                        Ok(value::special_float(s))
                    }
                    _ => Err(self.error_at(
                        at,
                        format!(
                            "expected ##Inf, ##-Inf or ##NaN, found `##{}`",
                            String::from_utf8_lossy(token)
                        ),
                    )),
                }
            }
            Some(b'"') => {
                // A regular expression literal: keep its source.
                self.pos += 1;
                self.string().map(value::string)
            }
            Some(c) if c.is_ascii_alphabetic() => {
                self.pos += 1;
                self.token();
                self.skip_ws(depth + 1)?;
                if self.at_end() {
                    return Err(self.expected("a value after the tag"));
                }
                if matches!(self.peek(), Some(b')' | b']' | b'}')) {
                    return Err(self.expected("a value after the tag"));
                }
                self.value(depth + 1)
            }
            _ => {
                self.pos += 1;
                Err(self.error_at(
                    at,
                    format!(
                        "expected a set, tag or discard after `#`, found {}",
                        self.found()
                    ),
                ))
            }
        }
    }

    /// The elements of a vector, list or set up to `close` (the opener consumed).
    fn sequence(&mut self, close: u8, depth: usize) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws(depth + 1)?;
            match self.peek() {
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                None | Some(b')' | b']' | b'}') => {
                    return Err(self.expected(&format!("a value or `{}`", close as char)));
                }
                Some(_) => items.push(self.value(depth + 1)?),
            }
        }
    }

    /// A map's entries up to `}` (the opener consumed).
    fn map(&mut self, depth: usize) -> Result<Value, ParseError> {
        let mut map = serde_json::Map::new();
        loop {
            self.skip_ws(depth + 1)?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                None | Some(b')' | b']') => return Err(self.expected("a key or `}`")),
                Some(_) => {
                    let key = value::map_key(self.value(depth + 1)?);
                    self.skip_ws(depth + 1)?;
                    if matches!(self.peek(), None | Some(b')' | b']' | b'}')) {
                        let shown = super::event_fields::show(
                            &value::key_of(&key),
                            super::event_fields::Notation::Edn,
                        );
                        return Err(self.expected(&format!("a value for the key `{shown}`")));
                    }
                    let value = self.value(depth + 1)?;
                    map.insert(key, value);
                }
            }
        }
    }

    /// Reads a token (symbol characters) and returns it.
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        let buf = self.buf;
        while self.pos < buf.len() && !is_delimiter(buf[self.pos]) {
            self.pos += 1;
        }
        &buf[start..self.pos]
    }

    fn utf8(&self, bytes: &'a [u8], at: Mark) -> Result<&'a str, ParseError> {
        std::str::from_utf8(bytes).map_err(|_| self.error_at(at, "invalid UTF-8".to_string()))
    }

    /// A keyword at `:`: its name without the colon(s).
    pub(crate) fn keyword(&mut self) -> Result<&'a str, ParseError> {
        let at = self.mark();
        self.pos += 1;
        if self.peek() == Some(b':') {
            self.pos += 1; // `::auto-resolved`
        }
        let start = self.pos;
        let buf = self.buf;
        let mut ascii = true;
        while let Some(&b) = buf.get(self.pos) {
            if !is_symbol_byte(b) {
                break;
            }
            ascii &= b < 0x80;
            self.pos += 1;
        }
        if let Some(&b) = buf.get(self.pos).filter(|&&b| !is_delimiter(b)) {
            return Err(self.error_at(
                at,
                format!("invalid character `{}` in keyword", b.escape_ascii()),
            ));
        }
        let token = &buf[start..self.pos];
        if token.is_empty() {
            return Err(self.error_at(
                at,
                format!("expected a keyword name after `:`, found {}", self.found()),
            ));
        }
        if ascii {
            // All bytes are ASCII: valid UTF-8 without a second look.
            return Ok(std::str::from_utf8(token).unwrap_or_default());
        }
        self.utf8(token, at)
    }

    /// A string literal at `"`, with its escapes resolved.
    pub(crate) fn string(&mut self) -> Result<String, ParseError> {
        let open = self.mark();
        self.pos += 1;
        let start = self.pos;
        let buf = self.buf;
        // Fast path: no escape.
        let mut i = start;
        while i < buf.len() {
            match buf[i] {
                b'"' => {
                    let s = std::str::from_utf8(&buf[start..i])
                        .map_err(|_| self.error_at(open, "invalid UTF-8 in string".to_string()))?
                        .to_string();
                    self.pos = i + 1;
                    return Ok(s);
                }
                b'\\' => break,
                b'\n' => {
                    self.line += 1;
                    self.line_start = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        let mut out: Vec<u8> = buf[start..i].to_vec();
        self.pos = i;
        loop {
            let Some(&b) = buf.get(self.pos) else {
                // Reported where the string opens; still an end-of-input
                // error, so that a string cut by a chunk boundary is resumed.
                let mut e = self.error_at(
                    open,
                    "expected `\"` to end this string, found end of input".to_string(),
                );
                e.eof = true;
                return Err(e);
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\n' => {
                    self.line += 1;
                    self.line_start = self.pos;
                    out.push(b);
                }
                b'\\' => {
                    let esc_at = Mark {
                        pos: self.pos - 1,
                        ..self.mark()
                    };
                    let Some(&e) = buf.get(self.pos) else {
                        return Err(self.expected("an escape character"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0C),
                        b'u' => {
                            let c = self.unicode_escape(esc_at)?;
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                        other => {
                            return Err(self.error_at(
                                esc_at,
                                format!("unknown escape `\\{}` in string", other.escape_ascii()),
                            ))
                        }
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8(out)
            .map_err(|_| self.error_at(open, "invalid UTF-8 in string".to_string()))
    }

    /// Four hex digits of a `\u` escape, as a UTF-16 code unit.
    fn hex4(&mut self, at: Mark) -> Result<u32, ParseError> {
        let digits = self.buf.get(self.pos..self.pos + 4);
        let code = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match code {
            Some(code) => {
                self.pos += 4;
                Ok(code)
            }
            None => Err(self.error_at(at, "expected four hex digits after `\\u`".to_string())),
        }
    }

    /// A string's `\u` escape: a character, or a UTF-16 surrogate pair
    /// written as two escapes (Java strings are UTF-16). A lone surrogate is
    /// refused: no Rust string holds it, and mapping every one to U+FFFD
    /// would make different strings equal.
    fn unicode_escape(&mut self, at: Mark) -> Result<char, ParseError> {
        let code = self.hex4(at)?;
        let lone = || "a lone UTF-16 surrogate in a `\\u` escape".to_string();
        if !(0xD800..0xDC00).contains(&code) {
            return char::from_u32(code).ok_or_else(|| self.error_at(at, lone()));
        }
        if self.buf.get(self.pos..self.pos + 2) != Some(b"\\u".as_slice()) {
            return Err(self.error_at(at, lone()));
        }
        self.pos += 2;
        let low = self.hex4(at)?;
        if !(0xDC00..0xE000).contains(&low) {
            return Err(self.error_at(at, lone()));
        }
        let c = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        char::from_u32(c).ok_or_else(|| self.error_at(at, lone()))
    }

    /// A character literal at `\`.
    fn character(&mut self) -> Result<char, ParseError> {
        let at = self.mark();
        self.pos += 1;
        let Some(first) = self.peek() else {
            return Err(self.expected("a character after `\\`"));
        };
        if is_delimiter(first) {
            // `\(`, `\ ` and the like: the delimiter itself. A newline
            // read so still ends a line: later positions count from it.
            self.pos += 1;
            if first == b'\n' {
                self.line += 1;
                self.line_start = self.pos;
            }
            return Ok(first as char);
        }
        let token = self.token();
        let text = self.utf8(token, at)?;
        let mut chars = text.chars();
        if let (Some(c), None) = (chars.next(), chars.clone().next()) {
            return Ok(c);
        }
        let named = match text {
            "newline" => Some('\n'),
            "space" => Some(' '),
            "tab" => Some('\t'),
            "return" => Some('\r'),
            "backspace" => Some('\u{8}'),
            "formfeed" => Some('\u{C}'),
            _ => None,
        };
        if let Some(c) = named {
            return Ok(c);
        }
        if let Some(hex) = text.strip_prefix('u') {
            if let Some(c) = u32::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 4)
                .and_then(char::from_u32)
            {
                return Ok(c);
            }
        }
        Err(self.error_at(at, format!("unknown character literal `\\{text}`")))
    }

    /// A number: integer (optional `N`), float, big decimal (`M`) or ratio,
    /// in [`value`]'s canonical form.
    fn number(&mut self) -> Result<Value, ParseError> {
        if let Some(i) = self.small_integer() {
            return Ok(Value::from(i));
        }
        let at = self.mark();
        let token = self.token();
        let text = std::str::from_utf8(token).unwrap_or("");
        let bad = || format!("invalid number `{}`", String::from_utf8_lossy(token));
        let parsed = if let Some(digits) = text.strip_suffix('N') {
            value::integer(digits)
        } else if let Some(v) = value::integer(text) {
            Some(v)
        } else if let Some((n, d)) = text.split_once('/') {
            value::ratio(n, d)
        } else if let Some(decimal) = text.strip_suffix('M') {
            value::decimal(decimal)
        } else {
            let valid = text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
            text.parse::<f64>()
                .ok()
                .filter(|_| valid)
                // Clojure's = and hash make -0.0 and 0.0 one value; one form
                // keeps sets and map keys (ordered by text) equal too.
                .map(|x| if x == 0.0 { 0.0 } else { x })
                .and_then(Number::from_f64)
                .map(Value::Number)
        };
        parsed.ok_or_else(|| self.error_at(at, bad()))
    }

    /// Fast path for the common integer: optional `-`, up to 18 digits, then
    /// a delimiter. `None` (position unchanged) for anything else.
    fn small_integer(&mut self) -> Option<i64> {
        let buf = self.buf;
        let mut i = self.pos;
        let negative = buf.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits_start = i;
        let mut n: i64 = 0;
        while let Some(&b) = buf.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            n = n * 10 + i64::from(b - b'0');
            i += 1;
            if i - digits_start > 18 {
                return None;
            }
        }
        if i == digits_start || buf.get(i).is_some_and(|&b| !is_delimiter(b)) {
            return None;
        }
        self.pos = i;
        Some(if negative { -n } else { n })
    }
}

/// Describes the start of `rest` for an error message.
pub(crate) fn describe(rest: &[u8]) -> String {
    let Some(&first) = rest.first() else {
        return "end of input".to_string();
    };
    let len = match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    };
    let text = String::from_utf8_lossy(&rest[..len.min(rest.len())]);
    let c = text.chars().next().unwrap_or('\u{FFFD}');
    if c == '\n' {
        "end of line".to_string()
    } else if c.is_control() {
        format!("{c:?}")
    } else {
        format!("`{c}`")
    }
}
