//! Storage errors: each names the file and, for bad data, the byte offset,
//! so an operator can find what is wrong.

use std::io;
use std::path::PathBuf;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"open"`, `"fdatasync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A complete record or snapshot is damaged: the node must not start
    /// from it (the operator may wipe the directory; the node then starts
    /// amnesiac).
    #[error("corrupt storage: {path} at byte offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the damaged record or header starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record to append serializes to more than the limit.
    #[error("record of {len} bytes exceeds max_record_bytes {limit}")]
    RecordTooLarge {
        /// Its serialized size.
        len: usize,
        /// [`super::StorageLimits::max_record_bytes`].
        limit: u32,
    },
    /// A snapshot to install is larger than the limit.
    #[error("snapshot of {len} bytes exceeds max_snapshot_bytes {limit}")]
    SnapshotTooLarge {
        /// Its size.
        len: u64,
        /// [`super::StorageLimits::max_snapshot_bytes`].
        limit: u64,
    },
    /// A record could not be serialized.
    #[error("cannot serialize record: {0}")]
    Encode(#[source] postcard::Error),
    /// An earlier write or sync failed; the state on disk is unknown, so
    /// this storage refuses all further writes.
    #[error("storage refused: an earlier failure left it in an unknown state ({0})")]
    Failed(String),
    /// A fault injected by a test double.
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

impl StorageError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
