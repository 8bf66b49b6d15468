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
    /// Storage holds less than was made durable, or damaged data: a segment
    /// or the snapshot missing or short, a damaged record that was synced. The
    /// node must not start from it as a voting member (exit 3; with
    /// `--recover-amnesiac` it sets the state aside and starts amnesiac).
    #[error("corrupt storage: {path} at byte offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the damaged record or header starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A WAL segment or snapshot of a format version this build does not
    /// read: the node refuses to start rather than guess at its layout.
    #[error(
        "{path} at byte offset {offset}: storage format version {found} is not supported (this build reads version \
         {supported}); start a build that reads it, or restart this node with \
         --recover-amnesiac to set the state aside"
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Where its version (or, for format 1, its magic) is.
        offset: u64,
        /// The version it carries (1: the format before version fields).
        found: u32,
        /// [`super::FORMAT_VERSION`].
        supported: u32,
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
    /// Whether this error is about what is on disk (corruption, lost data,
    /// an unknown format) rather than a failing operation: the node refuses
    /// to start (exit 3) until the operator decides.
    pub fn is_bad_state(&self) -> bool {
        matches!(
            self,
            StorageError::Corrupt { .. } | StorageError::UnsupportedFormat { .. }
        )
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
