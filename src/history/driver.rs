//! The readers' driver: blocks cut into chunks parsed in parallel.
//!
//! A file is read in blocks of about `BLOCK_BYTES` that end at a line
//! boundary, so memory holds one block of input at a time, not the file.
//! Each block is cut at line boundaries into chunks of about
//! `CHUNK_BYTES`, parsed in parallel with rayon.
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

use rayon::prelude::*;

use super::edn::{Mark, Parser};
use super::error::{HistoryError, ParseError};
use super::options::{Format, ReadOptions};
use super::types::{Event, History};
use super::{jsonl, txt};

/// How far past a chunk's nominal end [`chunks`] looks for a line that
/// seems to start an operation map.
const SPLIT_SEARCH_BYTES: usize = 64 << 10;

/// Cuts `block[from..]` into chunks of about `size` bytes ending after a
/// newline. With `maps_start_lines` (EDN), a cut is moved, within
/// [`SPLIT_SEARCH_BYTES`], to before a line whose first non-blank byte is
/// `{` or `#`: in a pretty-printed history whose maps span several lines,
/// that is where the speculative parse of the next chunk has a chance. Any
/// cut is correct (chunks are stitched); a good one saves a sequential
/// reparse.
fn chunks(block: &[u8], from: usize, size: usize, maps_start_lines: bool) -> Vec<(usize, usize)> {
    let newline_after = |at: usize| {
        block[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(block.len(), |i| at + i + 1)
    };
    let starts_map = |line: usize| {
        block[line..]
            .iter()
            .find(|&&b| !matches!(b, b' ' | b'\t' | b',' | b'\r'))
            .is_some_and(|&b| b == b'{' || b == b'#')
    };
    let mut out = Vec::new();
    let mut s = from;
    while s < block.len() {
        let target = s + size;
        if target >= block.len() {
            out.push((s, block.len()));
            break;
        }
        let mut e = newline_after(target);
        if maps_start_lines {
            let mut candidate = e;
            while candidate < block.len() && candidate - e < SPLIT_SEARCH_BYTES {
                if starts_map(candidate) {
                    e = candidate;
                    break;
                }
                candidate = newline_after(candidate);
            }
        }
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
pub(crate) struct Driver<'o> {
    name: String,
    opts: &'o ReadOptions,
    events: Vec<Event>,
    /// The 0-based line of the current block's first byte.
    pub(crate) base_line: usize,
    edn: EdnState,
    chunk_bytes: usize,
    /// Parsed spans waiting to be moved into `events`, with their line shift.
    queue: Vec<(Vec<Event>, usize)>,
    /// Events already handed out in batches.
    delivered: usize,
}

impl<'o> Driver<'o> {
    pub(crate) fn new(name: &str, opts: &'o ReadOptions, chunk_bytes: usize) -> Self {
        Driver {
            name: name.to_string(),
            opts,
            events: Vec::new(),
            base_line: 0,
            edn: EdnState::Start,
            chunk_bytes: chunk_bytes.max(1),
            queue: Vec::new(),
            delivered: 0,
        }
    }

    /// The history read, without spare capacity.
    /// Hands out the events read so far (for batched reading); they still
    /// count toward the event limit.
    pub(crate) fn take_batch(&mut self) -> Vec<Event> {
        let batch = std::mem::take(&mut self.events);
        self.delivered += batch.len();
        batch
    }

    /// The events handed out by [`Driver::take_batch`] so far.
    pub(crate) fn delivered(&self) -> usize {
        self.delivered
    }

    pub(crate) fn finish(mut self) -> History {
        self.events.shrink_to_fit();
        History {
            events: self.events,
        }
    }

    /// Reserves room for the events of an input of `size` bytes, given that
    /// its first `done` bytes held the events read so far (with a margin:
    /// unused capacity is never touched, so it costs address space only,
    /// and [`Driver::finish`] gives it back).
    pub(crate) fn reserve_for(&mut self, size: u64, done: u64) {
        let per_byte = self.events.len() as f64 / done as f64;
        let estimate = (per_byte * size as f64 * 1.1) as usize;
        let estimate = estimate.min(self.opts.max_events);
        self.events
            .reserve(estimate.saturating_sub(self.events.len()));
    }

    /// Converts an error whose line 0 is the block's line `line0`.
    fn error(&self, e: ParseError, line0: usize) -> HistoryError {
        e.into_history_error(&self.name, self.base_line + line0 + 1)
    }

    /// Queues events whose lines are relative to the block's line `line0`,
    /// enforcing the event limit; [`Driver::flush`] moves them into place.
    fn push(&mut self, events: Vec<Event>, line0: usize) -> Result<(), HistoryError> {
        let shift = self.base_line + line0;
        let queued: usize = self.queue.iter().map(|(q, _)| q.len()).sum();
        let room = self
            .opts
            .max_events
            .saturating_sub(self.delivered + self.events.len() + queued);
        if events.len() > room {
            return Err(HistoryError::TooManyEvents {
                file: self.name.clone(),
                line: events[room].line + shift,
                limit: self.opts.max_events,
            });
        }
        if !events.is_empty() {
            self.queue.push((events, shift));
        }
        Ok(())
    }

    /// Moves the queued events to the end of the history, in parallel, each
    /// span into its own part of the vector's spare capacity: a block's
    /// events are a few hundred MiB for big histories, too many to copy (and
    /// page in) on one thread while the other cores wait.
    fn flush(&mut self) {
        let queue = std::mem::take(&mut self.queue);
        let total: usize = queue.iter().map(|(q, _)| q.len()).sum();
        self.events.reserve(total);
        let old = self.events.len();
        let mut spare = &mut self.events.spare_capacity_mut()[..total];
        let mut parts = Vec::with_capacity(queue.len());
        for (events, shift) in queue {
            let (part, rest) = std::mem::take(&mut spare).split_at_mut(events.len());
            parts.push((part, events, shift));
            spare = rest;
        }
        parts.into_par_iter().for_each(|(part, events, shift)| {
            for (slot, mut event) in part.iter_mut().zip(events) {
                event.line += shift;
                slot.write(event);
            }
        });
        // SAFETY: the parts tile the first `total` spare slots (each part is
        // exactly as long as its event vector, and the zip wrote every
        // slot), so the `total` elements after `old` are initialized. Had a
        // task panicked, this line would not run: the events would leak,
        // never be read uninitialized.
        unsafe { self.events.set_len(old + total) };
    }

    /// Parses `block` from `start`; returns where the next block resumes.
    /// With `eof`, the block is the rest of the input and must be complete.
    pub(crate) fn round(
        &mut self,
        format: Format,
        block: &[u8],
        start: Mark,
        eof: bool,
    ) -> Result<Mark, HistoryError> {
        let resume = match format {
            Format::Jsonl => self.line_round(block, start, jsonl::parse_line),
            Format::Txt => self.line_round(block, start, txt::parse_line),
            Format::Edn | Format::Auto => self.edn_round(block, start, eof),
        }?;
        self.flush();
        Ok(resume)
    }

    fn line_round(
        &mut self,
        block: &[u8],
        start: Mark,
        parse_line: LineParser,
    ) -> Result<Mark, HistoryError> {
        let independent = self.opts.independent;
        let bounds = chunks(block, start.pos, self.chunk_bytes, false);
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
        let bounds = chunks(block, cursor.pos, self.chunk_bytes, true);
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
