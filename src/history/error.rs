//! The one error type of the history readers and writers.

use std::io;

/// Why a history could not be read or written. Every variant names the file
/// (or `<string>` for [`crate::history::read_str`]); syntax and field errors
/// also name the 1-based line and column, and say what was expected and what
/// was found.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Reading or writing failed.
    #[error("{file}: {source}")]
    Io {
        /// The file (or stream name).
        file: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The input is not a history of the given format: a syntax error, or an
    /// event field with an invalid value (`:type :frobnicate`).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file (or stream name).
        file: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// What was expected and what was found.
        message: String,
    },
    /// The history has more events than [`crate::history::ReadOptions::max_events`].
    #[error("{file}:{line}: more than {limit} events (the max_events limit); raise the limit to read this history")]
    TooManyEvents {
        /// The file (or stream name).
        file: String,
        /// The line where the event over the limit starts.
        line: usize,
        /// The limit that was reached.
        limit: usize,
    },
    /// `Format::Auto` could not tell the format of the input.
    #[error("{file}: cannot tell the history format (not .jsonl, .json, .edn, .txt or .log, and the first character `{found}` starts none of them); pass a format")]
    UnknownFormat {
        /// The file (or stream name).
        file: String,
        /// The first non-blank character of the input.
        found: String,
    },
}

/// A syntax error inside one chunk of input, before the file name and the
/// chunk's first line are known. `line` is 0-based and relative to the
/// parser's starting line; `column` is 1-based and absolute.
#[derive(Debug, Clone)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
    /// The error is only that the input ended: with more input the same text
    /// might parse (used to stitch chunks; a real end of input is reported).
    pub(crate) eof: bool,
}

impl ParseError {
    /// The final error, with `first_line` the 1-based line the relative line
    /// 0 stands for.
    pub(crate) fn into_history_error(self, file: &str, first_line: usize) -> HistoryError {
        HistoryError::Syntax {
            file: file.to_string(),
            line: first_line + self.line,
            column: self.column,
            message: self.message,
        }
    }
}
