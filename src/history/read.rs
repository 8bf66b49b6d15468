//! The readers' driver: input in blocks, blocks in chunks parsed in parallel.
//!
//! A file is read in blocks of about [`BLOCK_BYTES`] that end at a line
//! boundary, so memory holds one block of input at a time, not the file.
//! Each block is cut at line boundaries into chunks of about
//! [`CHUNK_BYTES`], parsed in parallel with rayon.
//!
//! JSONL and txt chunks are independent: a line is an event. EDN is not: an
//! operation map may span lines, and a line boundary may fall inside a
//! string. So an EDN chunk is parsed *speculatively*, as if it started
//! between two top-level elements, and the chunks are then stitched in
//! order: a chunk's result is kept only if it starts exactly where the
//! previous accepted parse ended cleanly (between elements). Induction on
//! the chunks shows every kept result is what a sequential parse would give;
//! a chunk whose start is not such a boundary is parsed again, sequentially,
//! from the true boundary. A parse that runs out of input mid-element is
//! carried over into the next chunk or block, from the start of its line (so
//! that columns stay right).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use rayon::prelude::*;

use super::edn::{Mark, Parser};
use super::error::{HistoryError, ParseError};
use super::options::{format_from_extension, sniff, Format, ReadOptions};
use super::types::{Event, History};
use super::{jsonl, txt};

/// Bytes of input read per block (more when one element is larger).
pub const BLOCK_BYTES: usize = 16 << 20;
/// Bytes of a block parsed by one task.
pub const CHUNK_BYTES: usize = 512 << 10;

/// Reads a history file. With [`Format::Auto`], the format is the one the
/// extension names (`.jsonl`/`.json`, `.edn`, `.txt`/`.log`), else the one
/// the first non-blank character suggests.
///
/// # Errors
/// [`HistoryError`] naming the file, and for malformed input the line and
/// column, what was expected and what was found.
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<History, HistoryError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| HistoryError::Io {
        file: name.clone(),
        source,
    })?;
    let mut opts = opts.clone();
    if opts.format == Format::Auto {
        if let Some(f) = format_from_extension(path) {
            opts.format = f;
        }
    }
    read_reader(file, &name, &opts)
}

/// Reads a history held in a string (named `<string>` in errors).
///
/// # Errors
/// As [`read_file`].
pub fn read_str(text: &str, opts: &ReadOptions) -> Result<History, HistoryError> {
    let bytes = text.as_bytes();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let format = resolve(opts.format, bytes, "<string>")?;
    let mut driver = Driver::new("<string>", opts);
    driver.round(
        format,
        bytes,
        Mark {
            pos: 0,
            line: 0,
            line_start: 0,
        },
        true,
    )?;
    Ok(History {
        events: driver.events,
    })
}

/// Reads a history from any reader, block by block; `name` names it in
/// errors.
///
/// # Errors
/// As [`read_file`].
pub fn read_reader<R: Read>(
    mut reader: R,
    name: &str,
    opts: &ReadOptions,
) -> Result<History, HistoryError> {
    let io_error = |source| HistoryError::Io {
        file: name.to_string(),
        source,
    };
    let mut driver = Driver::new(name, opts);
    let mut buf: Vec<u8> = Vec::new();
    let mut start = Mark {
        pos: 0,
        line: 0,
        line_start: 0,
    };
    let mut eof = false;
    let mut target = BLOCK_BYTES;
    let mut format = None;
    loop {
        fill(&mut reader, &mut buf, target, &mut eof).map_err(io_error)?;
        let block_end = if eof {
            buf.len()
        } else {
            match buf.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => {
                    // One line longer than the block: read more of it.
                    target = buf.len() + BLOCK_BYTES.max(buf.len());
                    continue;
                }
            }
        };
        if format.is_none() {
            if buf.starts_with(b"\xEF\xBB\xBF") {
                start.pos = 3;
            }
            format = Some(resolve(opts.format, &buf[start.pos..block_end], name)?);
        }
        let fmt = format.unwrap_or(Format::Edn);
        let resume = driver.round(fmt, &buf[..block_end], start, eof)?;
        if eof {
            break;
        }
        // Keep the unparsed rest from the start of its line.
        let consumed = resume.line_start;
        buf.drain(..consumed);
        driver.base_line += resume.line;
        start = Mark {
            pos: resume.pos - consumed,
            line: 0,
            line_start: 0,
        };
        target = buf.len() + BLOCK_BYTES.max(buf.len());
    }
    Ok(History {
        events: driver.events,
    })
}

/// Reads until `buf` holds `target` bytes or the input ends.
fn fill<R: Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    target: usize,
    eof: &mut bool,
) -> io::Result<()> {
    while !*eof && buf.len() < target {
        let old = buf.len();
        buf.resize(target, 0);
        let mut filled = old;
        while filled < target {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    *eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.truncate(filled);
                    return Err(e);
                }
            }
        }
        buf.truncate(filled);
    }
    Ok(())
}

fn resolve(format: Format, start: &[u8], name: &str) -> Result<Format, HistoryError> {
    match format {
        Format::Auto => {
            sniff(&start[..start.len().min(4096)]).map_err(|found| HistoryError::UnknownFormat {
                file: name.to_string(),
                found,
            })
        }
        other => Ok(other),
    }
}

/// Cuts `block[from..]` into chunks of about `size` bytes ending after a newline.
fn chunks(block: &[u8], from: usize, size: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut s = from;
    while s < block.len() {
        let target = s + size;
        if target >= block.len() {
            out.push((s, block.len()));
            break;
        }
        let e = block[target..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(block.len(), |i| target + i + 1);
        out.push((s, e));
        s = e;
    }
    out
}

/// Where the top-level EDN parse is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EdnState {
    /// Nothing but blanks so far.
    Start,
    /// Inside the top-level collection (or stream) of operation maps.
    Inside(Mode),
    /// After the top-level collection's closing bracket.
    Closed,
}

/// The shape of an EDN history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Vector,
    List,
    Stream,
}

impl Mode {
    fn close(self) -> Option<u8> {
        match self {
            Mode::Vector => Some(b']'),
            Mode::List => Some(b')'),
            Mode::Stream => None,
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Mode::Vector => "an operation map or `]`",
            Mode::List => "an operation map or `)`",
            Mode::Stream => "an operation map",
        }
    }
}

/// How a span's parse ended.
enum Outcome {
    /// At the end of its input, between elements.
    Open,
    /// Its input ended inside an element (the error to report if that is
    /// the end of the whole input).
    Incomplete(ParseError),
    /// At the top-level closing bracket.
    Closed,
    /// A syntax or field error.
    Error(ParseError),
}

/// The result of parsing a span of EDN elements.
struct Span {
    start: usize,
    events: Vec<Event>,
    outcome: Outcome,
    /// Where a following parse resumes: the span's end when `Open`, the
    /// start of the incomplete element, or after the closing bracket.
    resume: Mark,
}

/// Parses top-level elements of `buf` from `at` to its end.
fn parse_span(buf: &[u8], at: Mark, mode: Mode, independent: bool) -> Span {
    let mut p = Parser::new(buf, at);
    let mut events = Vec::with_capacity(buf.len().saturating_sub(at.pos) / 64);
    let span = |events, outcome, resume| Span {
        start: at.pos,
        events,
        outcome,
        resume,
    };
    loop {
        let before = p.mark();
        if let Err(e) = p.skip_ws(1) {
            return if e.eof {
                span(events, Outcome::Incomplete(e), before)
            } else {
                span(events, Outcome::Error(e), before)
            };
        }
        match p.peek() {
            None => return span(events, Outcome::Open, p.mark()),
            Some(c) if Some(c) == mode.close() => {
                p.bump();
                return span(events, Outcome::Closed, p.mark());
            }
            Some(_) => match p.event(mode.expected(), independent) {
                Ok(ev) => events.push(ev),
                Err(e) if e.eof => return span(events, Outcome::Incomplete(e), before),
                Err(e) => return span(events, Outcome::Error(e), before),
            },
        }
    }
}

/// Parses one chunk of whole lines with `parse_line`; returns its events
/// (lines relative to the chunk) and the number of newlines in it.
fn parse_lines(
    chunk: &[u8],
    independent: bool,
    parse_line: LineParser,
) -> Result<(Vec<Event>, usize), ParseError> {
    let mut events = Vec::with_capacity(chunk.len() / 64);
    let mut line = 0;
    for text in chunk.split(|&b| b == b'\n') {
        if let Some(ev) = parse_line(text, line, independent)? {
            events.push(ev);
        }
        line += 1;
    }
    Ok((events, line - 1))
}

/// Parses one line of a line-based format (text, 0-based line, independent).
type LineParser = fn(&[u8], usize, bool) -> Result<Option<Event>, ParseError>;

/// The state of one read.
struct Driver<'o> {
    name: String,
    opts: &'o ReadOptions,
    events: Vec<Event>,
    /// The 0-based line of the current block's first byte.
    base_line: usize,
    edn: EdnState,
}

impl<'o> Driver<'o> {
    fn new(name: &str, opts: &'o ReadOptions) -> Self {
        Driver {
            name: name.to_string(),
            opts,
            events: Vec::new(),
            base_line: 0,
            edn: EdnState::Start,
        }
    }

    /// Converts an error whose line 0 is the block's line `line0`.
    fn error(&self, e: ParseError, line0: usize) -> HistoryError {
        e.into_history_error(&self.name, self.base_line + line0 + 1)
    }

    /// Appends events whose lines are relative to the block's line `line0`,
    /// enforcing the event limit.
    fn push(&mut self, events: Vec<Event>, line0: usize) -> Result<(), HistoryError> {
        let shift = self.base_line + line0;
        let room = self.opts.max_events.saturating_sub(self.events.len());
        if events.len() > room {
            return Err(HistoryError::TooManyEvents {
                file: self.name.clone(),
                line: events[room].line + shift,
                limit: self.opts.max_events,
            });
        }
        self.events.reserve(events.len());
        self.events.extend(events.into_iter().map(|mut e| {
            e.line += shift;
            e
        }));
        Ok(())
    }

    /// Parses `block` from `start`; returns where the next block resumes.
    /// With `eof`, the block is the rest of the input and must be complete.
    fn round(
        &mut self,
        format: Format,
        block: &[u8],
        start: Mark,
        eof: bool,
    ) -> Result<Mark, HistoryError> {
        match format {
            Format::Jsonl => self.line_round(block, start, jsonl::parse_line),
            Format::Txt => self.line_round(block, start, txt::parse_line),
            Format::Edn | Format::Auto => self.edn_round(block, start, eof),
        }
    }

    fn line_round(
        &mut self,
        block: &[u8],
        start: Mark,
        parse_line: LineParser,
    ) -> Result<Mark, HistoryError> {
        let independent = self.opts.independent;
        let bounds = chunks(block, start.pos, CHUNK_BYTES);
        let results: Vec<_> = bounds
            .par_iter()
            .map(|&(s, e)| parse_lines(&block[s..e], independent, parse_line))
            .collect();
        let mut line0 = start.line;
        for result in results {
            match result {
                Ok((events, lines)) => {
                    self.push(events, line0)?;
                    line0 += lines;
                }
                Err(e) => return Err(self.error(e, line0)),
            }
        }
        Ok(Mark {
            pos: block.len(),
            line: line0,
            line_start: block.len(),
        })
    }

    fn edn_round(&mut self, block: &[u8], start: Mark, eof: bool) -> Result<Mark, HistoryError> {
        let mut cursor = start;
        if self.edn == EdnState::Start {
            let mut p = Parser::new(block, cursor);
            match p.skip_ws(0) {
                Err(e) if e.eof && !eof => return Ok(cursor),
                Err(e) => return Err(self.error(e, 0)),
                Ok(()) => {}
            }
            let mode = match p.peek() {
                None => return Ok(p.mark()),
                Some(b'[') => Mode::Vector,
                Some(b'(') => Mode::List,
                Some(b'{' | b'#') => Mode::Stream,
                Some(_) => return Err(self.error(p.expected("`[`, `(` or an operation map"), 0)),
            };
            if mode != Mode::Stream {
                p.bump();
            }
            self.edn = EdnState::Inside(mode);
            cursor = p.mark();
        }
        let mode = match self.edn {
            EdnState::Inside(mode) => mode,
            _ => return self.after_close(block, cursor, eof),
        };
        let independent = self.opts.independent;
        let bounds = chunks(block, cursor.pos, CHUNK_BYTES);
        let first = cursor;
        let mut spans: Vec<Option<Span>> = bounds
            .par_iter()
            .enumerate()
            .map(|(i, &(s, e))| {
                let at = if i == 0 {
                    Mark { line: 0, ..first }
                } else {
                    Mark {
                        pos: s,
                        line: 0,
                        line_start: s,
                    }
                };
                Some(parse_span(&block[..e], at, mode, independent))
            })
            .collect();
        let last = bounds.len().saturating_sub(1);
        for (i, &(_, e)) in bounds.iter().enumerate() {
            let span = match spans[i].take() {
                Some(span) if span.start == cursor.pos => span,
                _ => parse_span(&block[..e], Mark { line: 0, ..cursor }, mode, independent),
            };
            let line0 = cursor.line;
            self.push(span.events, line0)?;
            cursor = Mark {
                line: line0 + span.resume.line,
                ..span.resume
            };
            match span.outcome {
                Outcome::Open => {}
                Outcome::Incomplete(err) => {
                    if i == last {
                        return if eof {
                            Err(self.error(err, line0))
                        } else {
                            Ok(cursor)
                        };
                    }
                }
                Outcome::Closed => {
                    self.edn = EdnState::Closed;
                    return self.after_close(block, cursor, eof);
                }
                Outcome::Error(err) => return Err(self.error(err, line0)),
            }
        }
        if eof && mode != Mode::Stream {
            let p = Parser::new(block, cursor);
            return Err(self.error(p.expected(mode.expected()), 0));
        }
        Ok(cursor)
    }

    /// After the top-level closing bracket only blanks may follow.
    fn after_close(&mut self, block: &[u8], cursor: Mark, eof: bool) -> Result<Mark, HistoryError> {
        let mut p = Parser::new(block, cursor);
        match p.skip_ws(0) {
            Err(e) if e.eof && !eof => return Ok(cursor),
            Err(e) => return Err(self.error(e, 0)),
            Ok(()) => {}
        }
        if !p.at_end() {
            return Err(self.error(p.expected("the end of input after the closing bracket"), 0));
        }
        Ok(p.mark())
    }
}
