//! The readers' public API: files, strings and streams, read block by block
//! (see `driver` for how a block is parsed in parallel).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::driver::Driver;
use super::edn::{Mark, Parser};
use super::error::HistoryError;
use super::header::Header;
use super::options::{format_from_extension, sniff, Format, ReadOptions};
use super::types::{Event, History, Value};

/// Bytes of input read per block (more when one element is larger).
pub const BLOCK_BYTES: usize = 16 << 20;
/// Bytes of a block parsed by one task.
pub const CHUNK_BYTES: usize = 512 << 10;

/// How input is cut: blocks read at a time, and chunks parsed in parallel.
/// The result never depends on it (the tests check this with tiny sizes);
/// only speed and memory do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunking {
    /// Bytes read per block (at least 1).
    pub block_bytes: usize,
    /// Bytes per parallel chunk (at least 1).
    pub chunk_bytes: usize,
}

impl Default for Chunking {
    fn default() -> Self {
        Chunking {
            block_bytes: BLOCK_BYTES,
            chunk_bytes: CHUNK_BYTES,
        }
    }
}

/// Reads a history file. With [`Format::Auto`], the format is the one the
/// extension names (`.jsonl`/`.json`, `.edn`, `.txt`/`.log`), else the one
/// the first non-blank character suggests. [`read_source`] without the
/// format: pipes and `-` (standard input) are read once too.
///
/// # Errors
/// [`HistoryError`] naming the file, and for malformed input the line and
/// column, what was expected and what was found.
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<History, HistoryError> {
    read_source(path, opts).map(|(history, _, _)| history)
}

/// Reads the history at `path` once, whatever it is: a regular file, a
/// pipe or device (`/dev/stdin`, a named pipe, `<(...)`), or `-` for
/// standard input. The format is [`file_format`]'s, except that the first
/// bytes are sniffed from the same read as the rest: opening a pipe twice
/// would find it already drained, and an empty history called valid.
/// Returns the history, the format it was read as, and its header
/// ([`Header`], docs/history-format.md) if it has one.
///
/// # Errors
/// As [`read_file`]; `-` is named `<stdin>`. A malformed header is a
/// [`HistoryError::Syntax`] on its line.
pub fn read_source(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(History, Format, Option<Header>), HistoryError> {
    let stdin = path == Path::new("-");
    let name = if stdin {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let io_error = |source| HistoryError::Io {
        file: name.clone(),
        source,
    };
    let (mut input, size_hint): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = File::open(path).map_err(io_error)?;
        // A pipe's length is 0 whatever it will carry: no hint.
        let hint = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        (Box::new(file), hint)
    };
    let mut format = opts.format;
    if format == Format::Auto && !stdin {
        format = format_from_extension(path).unwrap_or(Format::Auto);
    }
    let mut start = Vec::new();
    (&mut input)
        .take(4096)
        .read_to_end(&mut start)
        .map_err(io_error)?;
    let sniffed = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&start);
    let format = resolve(format, sniffed, &name)?;
    let header =
        super::header::find(sniffed, format).map_err(|(line, message)| HistoryError::Syntax {
            file: name.clone(),
            line,
            column: 1,
            message,
        })?;
    let opts = ReadOptions {
        format,
        ..opts.clone()
    };
    let reader = std::io::Cursor::new(start).chain(input);
    read_stream(reader, &name, &opts, Chunking::default(), size_hint, None)
        .map(|(history, _)| (history, format, header))
}

/// Reads a history file in batches: each block's events (about
/// [`BLOCK_BYTES`] of input), in file order, go to `sink` as soon as they
/// are parsed, so that a consumer that converts events into its own form
/// never holds the whole [`History`]. Event lines are those of the file;
/// an event's position in the file is the number of events in earlier
/// batches plus its index in its batch. Returns the number of events.
///
/// # Errors
/// As [`read_file`]. Batches before the error have been delivered: a
/// consumer must discard what it built from them.
pub fn read_file_batched<F: FnMut(Vec<Event>)>(
    path: &Path,
    opts: &ReadOptions,
    mut sink: F,
) -> Result<usize, HistoryError> {
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
    read_stream(
        file,
        &name,
        &opts,
        Chunking::default(),
        None,
        Some(&mut sink),
    )
    .map(|(_, delivered)| delivered)
}

/// [`read_file_batched`] over any reader, with explicit chunking.
///
/// # Errors
/// As [`read_file_batched`].
pub fn read_reader_batched<R: Read, F: FnMut(Vec<Event>)>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
    chunking: Chunking,
    mut sink: F,
) -> Result<usize, HistoryError> {
    read_stream(reader, name, opts, chunking, None, Some(&mut sink)).map(|(_, delivered)| delivered)
}

/// The format [`read_file`] reads `path` as: `format` unless it is
/// [`Format::Auto`], else the one the extension names, else the one the
/// first non-blank characters suggest (`{"` starts JSONL).
///
/// # Errors
/// [`HistoryError::Io`] when the file cannot be read,
/// [`HistoryError::UnknownFormat`] when no format fits.
pub fn file_format(path: &Path, format: Format) -> Result<Format, HistoryError> {
    if format != Format::Auto {
        return Ok(format);
    }
    if let Some(f) = format_from_extension(path) {
        return Ok(f);
    }
    let name = path.display().to_string();
    let io_error = |source| HistoryError::Io {
        file: name.clone(),
        source,
    };
    let mut start = Vec::new();
    File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut start))
        .map_err(io_error)?;
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&start);
    resolve(Format::Auto, start, &name)
}

/// Parses one JSON value as the JSONL reader reads values (integers beyond 64
/// bits kept exact, docs/history-format.md).
///
/// # Errors
/// serde_json's, with its line and column.
pub fn parse_json_value(text: &str) -> Result<Value, serde_json::Error> {
    super::jsonl::parse_value(text)
}

/// Parses one EDN value filling `text` (blanks and comments around it
/// allowed), mapped onto JSON's data model as in histories: for literals
/// such as a checker's initial state (`{:x 0 :y 0}`). Errors name the input
/// `<value>`.
///
/// # Errors
/// [`HistoryError::Syntax`] with the line and column.
pub fn parse_edn_value(text: &str) -> Result<Value, HistoryError> {
    let bytes = text.as_bytes();
    let mut p = Parser::new(
        bytes,
        Mark {
            pos: 0,
            line: 0,
            line_start: 0,
        },
    );
    let parsed = (|| {
        p.skip_ws(0)?;
        let v = p.value(0)?;
        p.skip_ws(0)?;
        if !p.at_end() {
            return Err(p.expected("the end of the value"));
        }
        Ok(v)
    })();
    parsed.map_err(|e| e.into_history_error("<value>", 1))
}

/// Reads a history held in a string (named `<string>` in errors).
///
/// # Errors
/// As [`read_file`].
pub fn read_str(text: &str, opts: &ReadOptions) -> Result<History, HistoryError> {
    read_str_chunked(text, opts, Chunking::default())
}

/// [`read_str`] with explicit chunking (for tests and tuning).
///
/// # Errors
/// As [`read_file`].
pub fn read_str_chunked(
    text: &str,
    opts: &ReadOptions,
    chunking: Chunking,
) -> Result<History, HistoryError> {
    let bytes = text.as_bytes();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let format = resolve(opts.format, bytes, "<string>")?;
    let mut driver = Driver::new("<string>", opts, chunking.chunk_bytes);
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
    Ok(driver.finish())
}

/// Reads a history from any reader, block by block; `name` names it in
/// errors.
///
/// # Errors
/// As [`read_file`].
pub fn read_reader<R: Read>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
) -> Result<History, HistoryError> {
    read_reader_chunked(reader, name, opts, Chunking::default())
}

/// [`read_reader`] with explicit chunking (for tests and tuning).
///
/// # Errors
/// As [`read_file`].
pub fn read_reader_chunked<R: Read>(
    reader: R,
    name: &str,
    opts: &ReadOptions,
    chunking: Chunking,
) -> Result<History, HistoryError> {
    read_stream(reader, name, opts, chunking, None, None).map(|(history, _)| history)
}

/// The block loop behind every reader; `size_hint` is the input's size
/// when known. With a `sink`, events go to it after each block and the
/// history returned is empty; the count is of the events handed out.
fn read_stream<R: Read>(
    mut reader: R,
    name: &str,
    opts: &ReadOptions,
    chunking: Chunking,
    size_hint: Option<u64>,
    mut sink: Option<&mut dyn FnMut(Vec<Event>)>,
) -> Result<(History, usize), HistoryError> {
    let block_bytes = chunking.block_bytes.max(1);
    let mut bytes_done: u64 = 0;
    let io_error = |source| HistoryError::Io {
        file: name.to_string(),
        source,
    };
    let mut driver = Driver::new(name, opts, chunking.chunk_bytes);
    let mut buf: Vec<u8> = Vec::new();
    let mut start = Mark {
        pos: 0,
        line: 0,
        line_start: 0,
    };
    let mut eof = false;
    let mut target = block_bytes;
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
                    target = buf.len() + block_bytes.max(buf.len());
                    continue;
                }
            }
        };
        if format.is_none() {
            if buf.starts_with(b"\xEF\xBB\xBF") {
                start.pos = 3;
            }
            // Blank lines say nothing of the format: settle it only on a
            // block with content (or at the end), else the verdict would
            // depend on the block size.
            if !eof
                && buf[start.pos..block_end]
                    .iter()
                    .all(u8::is_ascii_whitespace)
            {
                target = buf.len() + block_bytes;
                continue;
            }
            format = Some(resolve(opts.format, &buf[start.pos..block_end], name)?);
        }
        let fmt = format.unwrap_or(Format::Edn);
        let resume = driver.round(fmt, &buf[..block_end], start, eof)?;
        if let Some(sink) = sink.as_mut() {
            let batch = driver.take_batch();
            if !batch.is_empty() {
                sink(batch);
            }
        }
        if eof {
            break;
        }
        // Keep the unparsed rest from the start of its line.
        let consumed = resume.line_start;
        if bytes_done == 0 && consumed > 0 {
            if let (Some(size), None) = (size_hint, &sink) {
                driver.reserve_for(size, consumed as u64);
            }
        }
        bytes_done += consumed as u64;
        buf.drain(..consumed);
        driver.base_line += resume.line;
        start = Mark {
            pos: resume.pos - consumed,
            line: 0,
            line_start: 0,
        };
        target = buf.len() + block_bytes.max(buf.len());
    }
    let delivered = driver.delivered();
    Ok((driver.finish(), delivered))
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
        Format::Auto => sniff(start).map_err(|found| HistoryError::UnknownFormat {
            file: name.to_string(),
            found,
        }),
        other => Ok(other),
    }
}
