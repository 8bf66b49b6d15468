//! [`FileStorage`]: the WAL and snapshot in one directory.
//!
//! Layout: `wal-<seq>.log` segments of framed records ([`super::frame`]) and
//! one `snapshot` file ([`super::snapshot`]) holding the compaction base (the
//! records that replace the log's prefix, [`Storage::compact`]) and naming
//! the first segment after it. A new segment starts at every compaction, and
//! the segments the snapshot covers are deleted: the log's truncation.
//!
//! Records are serialized with `postcard`: compact (varints, no field names:
//! a WAL is written on every request, so bytes per record are fsync
//! bandwidth), well kept, serde-native, and stable in its wire format since
//! 1.0. Its one constraint: types must not need `deserialize_any` (no
//! untagged enums, no `serde_json::Value`); the core's records satisfy it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::frame::{self, SegmentEnd};
use super::fsutil::{sync_dir, write_atomic};
use super::snapshot::{self, SNAPSHOT_FILE};
use super::{Recovered, Storage, StorageError, StorageLimits, TornTail};

const SEGMENT_PREFIX: &str = "wal-";
const SEGMENT_SUFFIX: &str = ".log";

/// The file name of WAL segment `seq`.
pub fn segment_file_name(seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{seq:020}{SEGMENT_SUFFIX}")
}

fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The durable state read from a directory.
struct OnDisk<R> {
    /// The compaction base, then the segments' records.
    records: Vec<R>,
    base_records: usize,
    /// The segment records are appended to next.
    last_segment: u64,
    /// A torn tail found in the last segment (not yet cut).
    torn: Option<TornTail>,
    /// Segments older than the snapshot, left by a crash during truncation.
    stale: Vec<PathBuf>,
}

fn read_dir_state<R: DeserializeOwned>(
    dir: &Path,
    limits: StorageLimits,
) -> Result<OnDisk<R>, StorageError> {
    let snapshot_path = dir.join(SNAPSHOT_FILE);
    let (first_segment, mut records) =
        match snapshot::read(&snapshot_path, limits.max_snapshot_bytes)? {
            Some((first, bytes)) => {
                // Checksummed already: a decode failure is a format mismatch,
                // not a torn write. (serde caps a sequence's preallocation, so a
                // wrong element count cannot allocate much before failing.)
                let base: Vec<R> =
                    postcard::from_bytes(&bytes).map_err(|e| StorageError::Corrupt {
                        path: snapshot_path.clone(),
                        offset: 0,
                        reason: format!("snapshot with a valid checksum does not decode: {e}"),
                    })?;
                (first, base)
            }
            None => (1, Vec::new()),
        };
    let base_records = records.len();
    let mut live = Vec::new();
    let mut stale = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io("list directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list directory", dir, e))?;
        let name = entry.file_name();
        let Some(seq) = name.to_str().and_then(parse_segment_name) else {
            continue;
        };
        if seq < first_segment {
            stale.push(entry.path());
        } else {
            live.push(seq);
        }
    }
    live.sort_unstable();
    for (expected, &seq) in (first_segment..).zip(&live) {
        if seq != expected {
            // A hole means lost records: replaying around it would apply
            // later records without earlier ones.
            return Err(StorageError::Corrupt {
                path: dir.join(segment_file_name(expected)),
                offset: 0,
                reason: format!("WAL segment {expected} is missing (segment {seq} exists)"),
            });
        }
    }
    let mut torn = None;
    for (i, &seq) in live.iter().enumerate() {
        let path = dir.join(segment_file_name(seq));
        match frame::scan(&path, limits.max_record_bytes, &mut records)? {
            SegmentEnd::Clean => {}
            SegmentEnd::Torn { offset } => {
                if i + 1 != live.len() {
                    // Segments before the last were synced before the next
                    // was created: a partial record there is damage.
                    return Err(StorageError::Corrupt {
                        path,
                        offset,
                        reason: "partial record in a WAL segment that is not the last".to_string(),
                    });
                }
                let file_len = std::fs::metadata(&path)
                    .map_err(|e| StorageError::io("stat", &path, e))?
                    .len();
                torn = Some(TornTail {
                    path,
                    offset,
                    bytes_cut: file_len - offset,
                });
            }
        }
    }
    Ok(OnDisk {
        records,
        base_records,
        last_segment: live.last().copied().unwrap_or(first_segment),
        torn,
        stale,
    })
}

/// The write-ahead log and snapshots of one node, in one directory, holding
/// records of type `R` (typed, so a log is never read back as another type).
pub struct FileStorage<R> {
    dir: PathBuf,
    limits: StorageLimits,
    segment: File,
    segment_seq: u64,
    /// Encoded frames, reused between appends.
    frames: Vec<u8>,
    /// A record's payload, reused between records.
    scratch: Vec<u8>,
    /// Whether bytes were written since the last `fdatasync`.
    dirty: bool,
    /// Set by the first failed write or sync; all later writes are refused.
    failed: Option<String>,
    /// Test mode ([`FileStorage::buffer_until_sync`]): frames stay in
    /// `pending` until `sync` writes them.
    buffer_until_sync: bool,
    /// Frames appended but not yet written (only with `buffer_until_sync`).
    pending: Vec<u8>,
    /// The planted bug of [`FileStorage::skip_fsync`].
    skip_fsync: bool,
    _records: PhantomData<fn(R) -> R>,
}

/// The most unsynced bytes [`FileStorage::buffer_until_sync`] keeps in
/// memory; beyond it they are written (without fdatasync) to bound memory.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

impl<R> std::fmt::Debug for FileStorage<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStorage")
            .field("dir", &self.dir)
            .field("segment_seq", &self.segment_seq)
            .field("dirty", &self.dirty)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned> FileStorage<R> {
    /// Opens (creating it if needed) the storage in `dir` and recovers it:
    /// the compaction base and every record after it. A torn tail is cut off (the
    /// file truncated and synced) and reported; corruption is an error naming
    /// the file and byte offset, and the node must not start.
    pub fn open(dir: &Path, limits: StorageLimits) -> Result<(Self, Recovered<R>), StorageError> {
        let created = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| StorageError::io("create directory", dir, e))?;
        if created {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        if tmp.exists() {
            // A snapshot whose rename never happened: the old one stands.
            std::fs::remove_file(&tmp).map_err(|e| StorageError::io("remove", &tmp, e))?;
        }
        let state = read_dir_state::<R>(dir, limits)?;
        let mut dir_changed = false;
        for path in &state.stale {
            // Covered by the snapshot; a crash interrupted their deletion.
            std::fs::remove_file(path).map_err(|e| StorageError::io("remove", path, e))?;
            dir_changed = true;
        }
        if let Some(torn) = &state.torn {
            tracing::warn!(
                path = %torn.path.display(),
                offset = torn.offset,
                bytes_cut = torn.bytes_cut,
                "cutting a torn write off the end of the WAL"
            );
            let file = OpenOptions::new()
                .write(true)
                .open(&torn.path)
                .map_err(|e| StorageError::io("open", &torn.path, e))?;
            file.set_len(torn.offset)
                .map_err(|e| StorageError::io("truncate", &torn.path, e))?;
            file.sync_all()
                .map_err(|e| StorageError::io("fsync", &torn.path, e))?;
        }
        let segment_path = dir.join(segment_file_name(state.last_segment));
        let existed = segment_path.exists();
        let segment = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&segment_path)
            .map_err(|e| StorageError::io("open", &segment_path, e))?;
        if !existed || dir_changed {
            sync_dir(dir)?;
        }
        let storage = FileStorage {
            dir: dir.to_path_buf(),
            limits,
            segment,
            segment_seq: state.last_segment,
            frames: Vec::new(),
            scratch: Vec::new(),
            dirty: false,
            failed: None,
            buffer_until_sync: false,
            pending: Vec::new(),
            skip_fsync: false,
            _records: PhantomData,
        };
        let recovered = Recovered {
            records: state.records,
            base_records: state.base_records,
            torn_tail: state.torn,
        };
        Ok((storage, recovered))
    }
}

impl<R> FileStorage<R> {
    /// Test mode for process-level crash tests: appended records stay in
    /// this process's memory until [`Storage::sync`] writes and fdatasyncs
    /// them, so killing the process (SIGKILL) loses exactly the unsynced
    /// records, as a power loss would. (Normally a SIGKILL loses nothing:
    /// the page cache survives it, so it cannot show a missing fsync.)
    /// Past [`MAX_PENDING_BYTES`] unsynced bytes they are written early.
    pub fn buffer_until_sync(mut self) -> Self {
        self.buffer_until_sync = true;
        self
    }

    /// Planted bug (the `faults` feature only): `sync` reports success
    /// without writing buffered records or calling fdatasync. With
    /// [`FileStorage::buffer_until_sync`], a SIGKILL then loses acknowledged
    /// records, which a crash test must catch.
    #[cfg(feature = "faults")]
    pub fn skip_fsync(mut self) -> Self {
        self.skip_fsync = true;
        self
    }

    /// Writes the pending frames (buffered mode) to the segment.
    fn write_pending(&mut self) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let path = self.current_segment();
        self.dirty = true;
        self.segment
            .write_all(&self.pending)
            .map_err(|e| StorageError::io("append", path, e))?;
        self.pending.clear();
        Ok(())
    }

    /// The storage directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of the segment being appended to.
    pub fn current_segment(&self) -> PathBuf {
        self.dir.join(segment_file_name(self.segment_seq))
    }

    fn check_usable(&self) -> Result<(), StorageError> {
        match &self.failed {
            Some(why) => Err(StorageError::Failed(why.clone())),
            None => Ok(()),
        }
    }

    /// Runs a write-side operation; its failure poisons the storage, since
    /// after a failed write or fsync what is on disk is unknown (and a
    /// retried fsync may report success for lost data).
    fn guarded<T>(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.check_usable()?;
        let result = op(self);
        if let Err(e) = &result {
            if !matches!(
                e,
                StorageError::RecordTooLarge { .. }
                    | StorageError::SnapshotTooLarge { .. }
                    | StorageError::Encode(_)
            ) {
                self.failed = Some(e.to_string());
            }
        }
        result
    }
}

impl<R: Serialize + DeserializeOwned> Storage<R> for FileStorage<R> {
    fn append(&mut self, records: &[R]) -> Result<(), StorageError> {
        self.check_usable()?;
        // Encode the whole batch first: a record that is too large or does
        // not serialize rejects the batch before any byte is written.
        self.frames.clear();
        for record in records {
            self.scratch.clear();
            self.scratch = postcard::to_extend(record, std::mem::take(&mut self.scratch))
                .map_err(StorageError::Encode)?;
            frame::encode(
                &self.scratch,
                self.limits.max_record_bytes,
                &mut self.frames,
            )?;
        }
        if self.frames.is_empty() {
            return Ok(());
        }
        if self.buffer_until_sync {
            self.pending.extend_from_slice(&self.frames);
            if self.pending.len() <= MAX_PENDING_BYTES {
                return Ok(());
            }
            return self.guarded(|s| s.write_pending());
        }
        self.guarded(|s| {
            let path = s.current_segment();
            s.dirty = true;
            s.segment
                .write_all(&s.frames)
                .map_err(|e| StorageError::io("append", path, e))
        })
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        if self.skip_fsync {
            return Ok(());
        }
        self.guarded(|s| s.write_pending())?;
        if !self.dirty {
            return Ok(());
        }
        self.guarded(|s| {
            let path = s.current_segment();
            s.segment
                .sync_data()
                .map_err(|e| StorageError::io("fdatasync", path, e))?;
            s.dirty = false;
            Ok(())
        })
    }

    fn compact(&mut self, base: &[R]) -> Result<(), StorageError> {
        self.check_usable()?;
        let snapshot = postcard::to_stdvec(base).map_err(StorageError::Encode)?;
        let len = snapshot.len() as u64;
        if len > self.limits.max_snapshot_bytes {
            return Err(StorageError::SnapshotTooLarge {
                len,
                limit: self.limits.max_snapshot_bytes,
            });
        }
        // The current segment must be durable before a later segment can be:
        // otherwise a crash before the snapshot's rename would recover the
        // new segment's records without some of the old one's.
        self.sync()?;
        // Replaced by the base (only the skip_fsync bug leaves any).
        self.pending.clear();
        self.guarded(|s| {
            let next = s.segment_seq + 1;
            let next_path = s.dir.join(segment_file_name(next));
            let segment = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&next_path)
                .map_err(|e| StorageError::io("create", &next_path, e))?;
            sync_dir(&s.dir)?;
            write_atomic(
                &s.dir.join(SNAPSHOT_FILE),
                &snapshot::encode(next, &snapshot),
            )?;
            s.segment = segment;
            s.segment_seq = next;
            // The snapshot now covers every older segment: truncate the log.
            for seq in (1..next).rev() {
                let old = s.dir.join(segment_file_name(seq));
                match std::fs::remove_file(&old) {
                    Ok(()) => {}
                    // Older ones went at an earlier snapshot.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) => return Err(StorageError::io("remove", old, e)),
                }
            }
            sync_dir(&s.dir)
        })
    }

    fn recover(&mut self) -> Result<Recovered<R>, StorageError> {
        self.check_usable()?;
        let state = read_dir_state::<R>(&self.dir, self.limits)?;
        if let Some(torn) = state.torn {
            // Every append is one whole write; a partial record while the
            // storage is open means something else wrote to the file.
            return Err(StorageError::Corrupt {
                path: torn.path,
                offset: torn.offset,
                reason: "partial record in the WAL while it is open".to_string(),
            });
        }
        Ok(Recovered {
            records: state.records,
            base_records: state.base_records,
            torn_tail: None,
        })
    }
}

impl<R> Drop for FileStorage<R> {
    fn drop(&mut self) {
        // A clean stop keeps what was appended, as the page cache would
        // (buffered mode only; a killed process never gets here).
        if self.failed.is_none() && self.write_pending().is_err() {
            tracing::warn!(dir = %self.dir.display(), "could not write unsynced records at close");
        }
    }
}
