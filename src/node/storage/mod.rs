//! Durable storage of the core's records: a write-ahead log plus snapshots.
//!
//! The core's rule (DESIGN.md): persist a batch's records durably, then send
//! its messages and replies. [`Storage`] is the seam that rule needs: the real
//! [`FileStorage`] (append-only WAL, CRC32C per record, `fdatasync`,
//! snapshots written by rename) and the test double [`CrashStorage`], which
//! keeps unsynced records apart and loses them on a simulated crash. A
//! SIGKILL cannot show a missing fsync (the page cache survives it); the
//! double can.
//!
//! Records are any `serde` type; the node stores the core's `Record`.

mod crash;
mod error;
mod file;
mod frame;
mod fsutil;
pub(crate) use fsutil::{sync_dir, write_atomic};
mod probe;
mod segment;
mod snapshot;

pub use crash::{CrashStorage, CrashStorageFaults};
pub use error::StorageError;
pub use file::{create_storage_dir, segment_file_name, FileStorage, MAX_PENDING_BYTES};
pub use frame::{FORMAT_VERSION, FRAME_HEADER_BYTES, GROUP_HEADER_BYTES, SEGMENT_HEADER_BYTES};
pub use probe::{probe_fdatasync, FdatasyncProbe, MAX_PROBE_SAMPLES};
pub use segment::SECTOR_BYTES;

use std::path::PathBuf;

/// Limits on what storage writes and, more importantly, what recovery is
/// willing to read: a corrupted length field must produce an error, never a
/// multi-gigabyte allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageLimits {
    /// The largest serialized record (payload bytes, without the frame).
    pub max_record_bytes: u32,
    /// The largest snapshot file (the serialized compaction base).
    pub max_snapshot_bytes: u64,
}

impl Default for StorageLimits {
    fn default() -> Self {
        StorageLimits {
            max_record_bytes: 16 << 20,
            max_snapshot_bytes: 1 << 30,
        }
    }
}

/// A torn write cut off the end of the log during recovery: the last group
/// (the last write, never synced) was partial (the file ends inside it, or a
/// sector of it is zero-filled). Reported, never silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment file that was cut.
    pub path: PathBuf,
    /// The byte offset the file was truncated to (the torn group's start).
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes_cut: u64,
}

/// What recovery found: the records to replay, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered<R> {
    /// The base of the last [`Storage::compact`] (if any), then every record
    /// appended after it, in append order.
    pub records: Vec<R>,
    /// How many of `records`, at the front, are the compaction base.
    pub base_records: usize,
    /// The torn tail that was cut, if any.
    pub torn_tail: Option<TornTail>,
}

/// Durable storage for records of type `R`.
///
/// The contract a driver relies on: after [`Storage::sync`] returns `Ok`,
/// every record passed to [`Storage::append`] before it survives a crash;
/// records not yet synced may or may not. An error from any method means
/// the storage's state on disk is unknown (a failed `fsync` cannot be
/// retried safely): implementations refuse all further writes, and the node
/// must stop.
pub trait Storage<R> {
    /// Queues `records` for the log, after all records appended before.
    /// Not durable until [`Storage::sync`].
    fn append(&mut self, records: &[R]) -> Result<(), StorageError>;

    /// Makes every appended record durable.
    fn sync(&mut self) -> Result<(), StorageError>;

    /// Log compaction: durably replaces every record appended before this
    /// call by `base`, records that replayed leave the reader where the
    /// replaced ones did (for the core: its latest `Record::Snapshot`, its
    /// promise, its amnesia mark, accepts and chosen entries above the
    /// snapshot). The replaced records are discarded (the log truncated);
    /// records appended afterwards are recovered after `base`. Durable when
    /// it returns `Ok`.
    fn compact(&mut self, base: &[R]) -> Result<(), StorageError>;

    /// Reads the durable state: the compaction base and the records after it.
    fn recover(&mut self) -> Result<Recovered<R>, StorageError>;
}

/// A boxed storage is a storage, so a node can pick one at run time.
impl<R, S: Storage<R> + ?Sized> Storage<R> for Box<S> {
    fn append(&mut self, records: &[R]) -> Result<(), StorageError> {
        (**self).append(records)
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        (**self).sync()
    }

    fn compact(&mut self, base: &[R]) -> Result<(), StorageError> {
        (**self).compact(base)
    }

    fn recover(&mut self) -> Result<Recovered<R>, StorageError> {
        (**self).recover()
    }
}
