//! [`FileStorage`]: the WAL and snapshot in one directory.
//!
//! Layout: `wal-<seq>.log` segments of groups of framed records
//! ([`super::frame`]) and one `snapshot` file ([`super::snapshot`]) holding
//! the compaction base (the records that replace the log's prefix,
//! [`Storage::compact`]) and naming the live segment after it: the manifest,
//! written atomically when storage is created and at each compaction, never
//! per write. A new segment starts at every compaction, and the segments the
//! snapshot covers are deleted: the log's truncation.
//!
//! Recovery never returns less than was made durable without saying so: a
//! missing directory (for [`FileStorage::open_existing`]), manifest or live
//! segment, a segment shorter than its header, and damage to a synced group
//! are [`StorageError::Corrupt`] naming file and offset; only the unsynced
//! last group may be cut ([`super::segment`] has the rule).
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

use super::frame::{self, GROUP_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use super::fsutil::{sync_dir, write_atomic};
use super::segment;
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
    /// The compaction base, then the live segment's records.
    records: Vec<R>,
    base_records: usize,
    /// The live segment: the one the manifest names.
    segment_seq: u64,
    /// The seq of the next group to write in it.
    next_group: u64,
    /// A torn tail found in the live segment (not yet cut).
    torn: Option<TornTail>,
    /// Segments to remove: older ones the snapshot covers, left by a crash
    /// during truncation, and empty newer ones left by a crash during a
    /// compaction.
    leftovers: Vec<PathBuf>,
}

fn corrupt(path: PathBuf, offset: u64, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        path,
        offset,
        reason: reason.into(),
    }
}

/// The manifest's live segment and the compaction base.
fn read_base<R: DeserializeOwned>(
    path: &Path,
    limits: StorageLimits,
) -> Result<(u64, Vec<R>), StorageError> {
    let Some((first, bytes)) = snapshot::read(path, limits.max_snapshot_bytes)? else {
        return Err(corrupt(
            path.to_path_buf(),
            0,
            "the snapshot file, which is the WAL's manifest, is missing: the log it named \
             (and what it promised) cannot be checked",
        ));
    };
    // Checksummed already: a decode failure is a format mismatch, not a torn
    // write. (serde caps a sequence's preallocation, so a wrong element
    // count cannot allocate much before failing.)
    let base = postcard::from_bytes(&bytes).map_err(|e| {
        corrupt(
            path.to_path_buf(),
            0,
            format!("snapshot with a valid checksum does not decode: {e}"),
        )
    })?;
    Ok((first, base))
}

/// The segment files of `dir`, by seq.
fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| StorageError::io("list directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("list directory", dir, e))?;
        let name = entry.file_name();
        if let Some(seq) = name.to_str().and_then(parse_segment_name) {
            found.push((seq, entry.path()));
        }
    }
    found.sort_unstable();
    Ok(found)
}

fn file_len(path: &Path) -> Result<u64, StorageError> {
    Ok(std::fs::metadata(path)
        .map_err(|e| StorageError::io("stat", path, e))?
        .len())
}

/// Segments other than the live one: covered by the snapshot, or empty ones
/// a compaction created before its crash. A newer one holding data is
/// corruption (nothing is appended to a segment the manifest does not name).
fn leftover_segments(dir: &Path, live: u64) -> Result<Vec<PathBuf>, StorageError> {
    let mut leftovers = Vec::new();
    for (seq, path) in segment_files(dir)? {
        if seq > live && file_len(&path)? > SEGMENT_HEADER_BYTES as u64 {
            return Err(corrupt(
                path,
                SEGMENT_HEADER_BYTES as u64,
                format!("WAL segment {seq} holds data, but the manifest names segment {live}"),
            ));
        }
        if seq != live {
            leftovers.push(path);
        }
    }
    Ok(leftovers)
}

fn read_dir_state<R: DeserializeOwned>(
    dir: &Path,
    limits: StorageLimits,
) -> Result<OnDisk<R>, StorageError> {
    let snapshot_path = dir.join(SNAPSHOT_FILE);
    let (live, mut records) = read_base::<R>(&snapshot_path, limits)?;
    let base_records = records.len();
    let leftovers = leftover_segments(dir, live)?;
    let path = dir.join(segment_file_name(live));
    if !path.exists() {
        return Err(corrupt(
            path,
            0,
            format!(
                "WAL segment {live} is missing, though the manifest {} names it: \
                 records made durable are gone",
                snapshot_path.display()
            ),
        ));
    }
    let mut scanned = segment::scan::<R>(&path, live, limits.max_record_bytes)?;
    records.append(&mut scanned.records);
    let torn = match scanned.torn {
        Some(offset) => Some(TornTail {
            bytes_cut: file_len(&path)? - offset,
            path,
            offset,
        }),
        None => None,
    };
    Ok(OnDisk {
        records,
        base_records,
        segment_seq: live,
        next_group: scanned.next_group,
        torn,
        leftovers,
    })
}

/// Creates WAL segment `seq` (its header written and fsynced; the caller
/// syncs the directory) and returns it open for appending.
fn create_segment(dir: &Path, seq: u64) -> Result<File, StorageError> {
    let path = dir.join(segment_file_name(seq));
    let mut segment = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .map_err(|e| StorageError::io("create", &path, e))?;
    segment
        .write_all(&frame::segment_header(seq))
        .map_err(|e| StorageError::io("write", &path, e))?;
    segment
        .sync_all()
        .map_err(|e| StorageError::io("fsync", &path, e))?;
    Ok(segment)
}

/// Whether `dir` holds no storage yet: it does not exist, or it has no
/// snapshot (manifest) and no segment with data (a creation that crashed
/// before its manifest was written had appended nothing).
fn is_new(dir: &Path) -> Result<bool, StorageError> {
    if !dir.exists() {
        return Ok(true);
    }
    if dir.join(SNAPSHOT_FILE).exists() {
        return Ok(false);
    }
    // A segment numbered above 1 proves a compaction happened (the
    // manifest naming it is lost), even if it holds only its header.
    for (seq, path) in segment_files(dir)? {
        if seq > 1 || file_len(&path)? > SEGMENT_HEADER_BYTES as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Creates empty storage in `dir` durably: segment 1, then the manifest
/// naming it (an empty snapshot).
fn create(dir: &Path) -> Result<(), StorageError> {
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| StorageError::io("create directory", dir, e))?;
    if created {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    create_segment(dir, 1)?;
    sync_dir(dir)?;
    let empty = postcard::to_stdvec(&Vec::<()>::new()).map_err(StorageError::Encode)?;
    write_atomic(&dir.join(SNAPSHOT_FILE), &snapshot::encode(1, &empty))
}

/// Creates empty storage in `dir` (a new node's, before its identity is
/// written), unless it holds storage already.
pub fn create_storage_dir(dir: &Path) -> Result<(), StorageError> {
    if is_new(dir)? {
        create(dir)?;
    }
    Ok(())
}

/// The write-ahead log and snapshots of one node, in one directory, holding
/// records of type `R` (typed, so a log is never read back as another type).
pub struct FileStorage<R> {
    dir: PathBuf,
    limits: StorageLimits,
    segment: File,
    segment_seq: u64,
    /// The seq of the next group written to the segment.
    next_group: u64,
    /// Encoded frames of one append, reused between appends.
    frames: Vec<u8>,
    /// Where each frame in `frames` ends.
    frame_ends: Vec<usize>,
    /// A record's payload, reused between records.
    scratch: Vec<u8>,
    /// Set by the first failed write or sync; all later writes are refused.
    failed: Option<String>,
    /// The group being built: room for its header, then the frames
    /// appended since the last sync (empty if none).
    pending: Vec<u8>,
    /// The planted bug of [`FileStorage::skip_fsync`].
    skip_fsync: bool,
    _records: PhantomData<fn(R) -> R>,
}

/// The most unsynced bytes [`FileStorage`] keeps in memory; an append past
/// it first writes and syncs the group so far, to bound memory.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

impl<R> std::fmt::Debug for FileStorage<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStorage")
            .field("dir", &self.dir)
            .field("segment_seq", &self.segment_seq)
            .field("next_group", &self.next_group)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned> FileStorage<R> {
    /// Opens the storage in `dir`, creating it if `dir` holds none, and
    /// recovers it: the compaction base and every record after it. A torn
    /// tail is cut off (the file truncated and synced) and reported; lost or
    /// damaged durable data is an error naming the file and byte offset, and
    /// the node must not start. A node recovering its own state uses
    /// [`FileStorage::open_existing`], which never creates.
    pub fn open(dir: &Path, limits: StorageLimits) -> Result<(Self, Recovered<R>), StorageError> {
        create_storage_dir(dir)?;
        Self::open_existing(dir, limits)
    }

    /// [`FileStorage::open`] of storage that must exist: a missing directory
    /// or manifest is corruption (state made durable is gone), not a new log.
    pub fn open_existing(
        dir: &Path,
        limits: StorageLimits,
    ) -> Result<(Self, Recovered<R>), StorageError> {
        if !dir.is_dir() {
            return Err(corrupt(
                dir.to_path_buf(),
                0,
                "the WAL directory is missing: the log this node made durable is gone",
            ));
        }
        let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        if tmp.exists() {
            // A snapshot whose rename never happened: the old one stands.
            std::fs::remove_file(&tmp).map_err(|e| StorageError::io("remove", &tmp, e))?;
        }
        let state = read_dir_state::<R>(dir, limits)?;
        let segment_path = dir.join(segment_file_name(state.segment_seq));
        settle(dir, &state)?;
        let segment = OpenOptions::new()
            .append(true)
            .open(&segment_path)
            .map_err(|e| StorageError::io("open", &segment_path, e))?;
        // What recovery read may be in the page cache only (a process killed
        // between a write and its fdatasync): make it durable before anything
        // is appended after it or sent because of it.
        segment
            .sync_all()
            .map_err(|e| StorageError::io("fsync", &segment_path, e))?;
        let storage = FileStorage {
            dir: dir.to_path_buf(),
            limits,
            segment,
            segment_seq: state.segment_seq,
            next_group: state.next_group,
            frames: Vec::new(),
            frame_ends: Vec::new(),
            scratch: Vec::new(),
            failed: None,
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

/// Removes leftover segments and cuts a torn tail, durably.
fn settle<R>(dir: &Path, state: &OnDisk<R>) -> Result<(), StorageError> {
    for path in &state.leftovers {
        std::fs::remove_file(path).map_err(|e| StorageError::io("remove", path, e))?;
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
    if !state.leftovers.is_empty() {
        sync_dir(dir)?;
    }
    Ok(())
}

impl<R> FileStorage<R> {
    /// Planted bug (the `faults` feature only): `sync` reports success
    /// without writing the group or calling fdatasync. Appended records stay
    /// in this process's memory until a sync, so a SIGKILL (or a
    /// `mem::forget`) then loses acknowledged records, which a crash test
    /// must catch.
    #[cfg(feature = "faults")]
    pub fn skip_fsync(mut self) -> Self {
        self.skip_fsync = true;
        self
    }

    /// Writes the pending group (header, then its frames) in one write and
    /// fdatasyncs it: the next group is written only after this returns.
    fn write_group(&mut self) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let body_len = self.pending.len() - GROUP_HEADER_BYTES;
        let body_len = u32::try_from(body_len).map_err(|_| StorageError::RecordTooLarge {
            len: body_len,
            limit: u32::MAX,
        })?;
        let header = frame::group_header(self.segment_seq, body_len, self.next_group);
        self.pending[..GROUP_HEADER_BYTES].copy_from_slice(&header);
        let path = self.current_segment();
        self.segment
            .write_all(&self.pending)
            .map_err(|e| StorageError::io("append", &path, e))?;
        self.segment
            .sync_data()
            .map_err(|e| StorageError::io("fdatasync", path, e))?;
        self.pending.clear();
        self.next_group += 1;
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

    /// Encodes `records` into `frames` (all or none: a record that is too
    /// large or does not serialize rejects the batch).
    fn encode_batch(&mut self, records: &[R]) -> Result<(), StorageError>
    where
        R: Serialize,
    {
        self.frames.clear();
        self.frame_ends.clear();
        for record in records {
            self.scratch.clear();
            self.scratch = postcard::to_extend(record, std::mem::take(&mut self.scratch))
                .map_err(StorageError::Encode)?;
            frame::encode(
                &self.scratch,
                self.limits.max_record_bytes,
                &mut self.frames,
            )?;
            self.frame_ends.push(self.frames.len());
        }
        Ok(())
    }
}

impl<R: Serialize + DeserializeOwned> Storage<R> for FileStorage<R> {
    /// Keeps the records in memory: they are written, as one group, by the
    /// next [`Storage::sync`] (or earlier, synced, past
    /// [`MAX_PENDING_BYTES`]).
    fn append(&mut self, records: &[R]) -> Result<(), StorageError> {
        self.check_usable()?;
        self.encode_batch(records)?;
        let mut start = 0;
        for i in 0..self.frame_ends.len() {
            let end = self.frame_ends[i];
            let body = self.pending.len().saturating_sub(GROUP_HEADER_BYTES);
            if body > 0 && body + (end - start) > MAX_PENDING_BYTES {
                self.guarded(|s| s.write_group())?;
            }
            if self.pending.is_empty() {
                self.pending.resize(GROUP_HEADER_BYTES, 0);
            }
            self.pending.extend_from_slice(&self.frames[start..end]);
            start = end;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        if self.skip_fsync {
            return Ok(());
        }
        self.guarded(|s| s.write_group())
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
            // Its header is durable, and its entry, before the manifest
            // names it.
            let segment = create_segment(&s.dir, next)?;
            sync_dir(&s.dir)?;
            write_atomic(
                &s.dir.join(SNAPSHOT_FILE),
                &snapshot::encode(next, &snapshot),
            )?;
            s.segment = segment;
            s.segment_seq = next;
            s.next_group = 1;
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

    /// The durable state: records appended but not yet synced are not in it.
    fn recover(&mut self) -> Result<Recovered<R>, StorageError> {
        self.check_usable()?;
        let state = read_dir_state::<R>(&self.dir, self.limits)?;
        if let Some(torn) = state.torn {
            // Every group is one whole write, synced; a partial one while the
            // storage is open means something else wrote to the file.
            return Err(StorageError::Corrupt {
                path: torn.path,
                offset: torn.offset,
                reason: "partial group in the WAL while it is open".to_string(),
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
        // A clean stop keeps what was appended: it writes and syncs the
        // pending group (a killed process never gets here).
        if self.failed.is_none() && self.write_group().is_err() {
            tracing::warn!(dir = %self.dir.display(), "could not write unsynced records at close");
        }
    }
}
