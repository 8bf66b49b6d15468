//! `wal_recover`: WAL and snapshot files in a temporary data directory,
//! recovered by the node's real `FileStorage` (records are `Vec<u8>`).
//!
//! Input: a mode byte. Structured (even): a run of appends, syncs and
//! compactions through `FileStorage`, then one damage to the last segment.
//! With no damage, recovery returns exactly the records written; after a
//! truncation past the segment header (the unsynced end of the last write
//! cut) it returns the groups before the cut, at least the compaction base,
//! and reports a torn tail exactly when the cut is inside a group; a cut
//! inside the segment header, and a changed payload byte in a group that is
//! not the last, are reported as corruption. Raw (odd): arbitrary bytes as
//! the snapshot and segment files: never a panic; an error names a file in
//! the directory; a successful recovery is stable (a second recovery
//! returns the same records and no torn tail).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::input::Input;
use crate::node::storage::{
    segment_file_name, FileStorage, Recovered, Storage, StorageError, StorageLimits,
    FRAME_HEADER_BYTES, GROUP_HEADER_BYTES, SEGMENT_HEADER_BYTES,
};

type Rec = Vec<u8>;

/// Small limits, so that oversized lengths are easy to reach.
pub fn limits() -> StorageLimits {
    StorageLimits {
        max_record_bytes: 1 << 12,
        max_snapshot_bytes: 1 << 16,
    }
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // tmpfs when there is one: FileStorage fsyncs, and a disk's fsync
        // would bound the target at a few hundred inputs per second.
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let path = base.join(format!(
            "synod-fuzz-wal-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(dir: &Path) -> Result<Recovered<Rec>, StorageError> {
    FileStorage::<Rec>::open(dir, limits()).map(|(_, r)| r)
}

fn check_error(dir: &Path, e: &StorageError) {
    match e {
        StorageError::Corrupt { path, offset, .. } => {
            assert!(
                path.starts_with(dir),
                "error names {path:?}, outside the directory"
            );
            let len = std::fs::metadata(path).map_or(0, |m| m.len());
            assert!(
                *offset <= len,
                "offset {offset} past the end of {path:?} ({len} bytes)"
            );
        }
        StorageError::UnsupportedFormat { path, .. } => {
            assert!(path.starts_with(dir), "error names {path:?}");
        }
        other => panic!("recovery failed other than as corruption: {other}"),
    }
}

fn stable(dir: &Path, first: &Recovered<Rec>) {
    let again = open(dir).unwrap_or_else(|e| panic!("a second recovery failed: {e}"));
    assert_eq!(again.records, first.records, "a second recovery differs");
    assert_eq!(again.torn_tail, None, "the torn tail was not cut");
}

fn last_segment(dir: &Path) -> PathBuf {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("wal-"))
        .collect();
    names.sort();
    dir.join(names.last().expect("a segment exists"))
}

/// The byte ranges of the last segment's groups and of each record's frame:
/// `(group ends, record frame spans)`, after the segment header.
fn layout(groups: &[Vec<Rec>]) -> (Vec<usize>, Vec<(usize, usize)>) {
    let mut ends = vec![SEGMENT_HEADER_BYTES];
    let mut frames = Vec::new();
    for group in groups {
        let mut at = ends.last().copied().unwrap_or(0) + GROUP_HEADER_BYTES;
        for r in group {
            let len = postcard::to_allocvec(r).expect("encodes").len();
            frames.push((at, at + FRAME_HEADER_BYTES + len));
            at += FRAME_HEADER_BYTES + len;
        }
        ends.push(at);
    }
    (ends, frames)
}

/// Appends and compactions as the input says; the base and the last
/// segment's groups.
fn write_run(input: &mut Input, dir: &Path) -> (Vec<Rec>, Vec<Vec<Rec>>) {
    let (mut storage, _) = FileStorage::<Rec>::open(dir, limits()).expect("opens empty");
    let mut base: Vec<Rec> = Vec::new();
    let mut groups: Vec<Vec<Rec>> = Vec::new();
    for _ in 0..1 + input.below(6) {
        if input.below(4) == 0 {
            let b: Vec<Rec> = (0..input.below(3))
                .map(|_| input.bytes().to_vec())
                .collect();
            storage.compact(&b).expect("compact");
            base = b;
            groups.clear();
        } else {
            let batch: Vec<Rec> = (0..1 + input.below(3))
                .map(|_| input.bytes().to_vec())
                .collect();
            storage.append(&batch).expect("append");
            storage.sync().expect("sync");
            groups.push(batch);
        }
    }
    (base, groups)
}

fn structured(input: &mut Input, dir: &Path) {
    let (base, groups) = write_run(input, dir);
    let expected: Vec<Rec> = base
        .iter()
        .chain(groups.iter().flatten())
        .cloned()
        .collect();
    let segment = last_segment(dir);
    let mut bytes = std::fs::read(&segment).expect("read segment");
    let (ends, frames) = layout(&groups);
    assert_eq!(ends.last().copied(), Some(bytes.len()), "segment size");
    match input.below(3) {
        0 => {
            let got = open(dir).unwrap_or_else(|e| panic!("undamaged WAL fails: {e}"));
            assert_eq!(
                got.records, expected,
                "undamaged WAL recovers other records"
            );
            assert_eq!(got.base_records, base.len());
            assert_eq!(got.torn_tail, None);
        }
        1 => {
            let cut = input.u16() as usize % (bytes.len() + 1);
            bytes.truncate(cut);
            std::fs::write(&segment, &bytes).expect("write");
            if cut < SEGMENT_HEADER_BYTES {
                // The header was synced at creation: lost data, not torn.
                match open(dir) {
                    Ok(_) => panic!("a cut at {cut} inside the segment header was accepted"),
                    Err(e) => return check_error(dir, &e),
                }
            }
            let got =
                open(dir).unwrap_or_else(|e| panic!("a cut at {cut} is not a torn tail: {e}"));
            let whole: usize = (1..ends.len())
                .filter(|&g| ends[g] <= cut)
                .map(|g| groups[g - 1].len())
                .sum();
            assert_eq!(
                got.records,
                expected[..base.len() + whole],
                "a cut at {cut} recovers other records"
            );
            assert_eq!(
                got.torn_tail.is_some(),
                !ends.contains(&cut),
                "torn tail at cut {cut}"
            );
            stable(dir, &got);
        }
        _ => {
            // A payload byte of a record in a group that is not the last.
            let in_last = groups.last().map_or(0, Vec::len);
            let candidates: Vec<usize> = (0..frames.len().saturating_sub(in_last))
                .filter(|&i| frames[i].1 > frames[i].0 + FRAME_HEADER_BYTES)
                .collect();
            if candidates.is_empty() {
                return;
            }
            let i = input.pick(&candidates);
            let span = frames[i].0 + FRAME_HEADER_BYTES..frames[i].1;
            let at = span.start + input.u16() as usize % span.len();
            bytes[at] ^= 1 | input.u8();
            std::fs::write(&segment, &bytes).expect("write");
            match open(dir) {
                Ok(got) => panic!(
                    "a changed byte at {at} (record {i} of {}) was not reported; recovered {} records",
                    frames.len(),
                    got.records.len()
                ),
                Err(e) => check_error(dir, &e),
            }
        }
    }
}

fn raw(input: &mut Input, dir: &Path) {
    if input.bool() {
        std::fs::write(dir.join("snapshot"), input.long_bytes()).expect("write");
    }
    let first = 1 + input.below(2) as u64;
    let segments = input.below(3) as u64;
    for seq in first..first + segments {
        std::fs::write(dir.join(segment_file_name(seq)), input.long_bytes()).expect("write");
    }
    match open(dir) {
        Ok(got) => {
            assert!(got.base_records <= got.records.len());
            if let Some(t) = &got.torn_tail {
                assert!(t.path.starts_with(dir));
            }
            stable(dir, &got);
        }
        Err(e) => check_error(dir, &e),
    }
}

/// The body.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let dir = TempDir::new();
    if input.u8() % 2 == 0 {
        structured(&mut input, &dir.0);
    } else {
        raw(&mut input, &dir.0);
    }
}
