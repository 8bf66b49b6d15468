//! Issue 11, item 1: never recover with less than was promised. Storage
//! that finds less than it made durable (a segment missing or emptied, the
//! WAL directory or its manifest gone, damage to a synced group) refuses,
//! naming file and byte offset; a format version it does not read is
//! refused by name; only the unsynced end of the last write is cut.

use std::path::{Path, PathBuf};

use synod::node::storage::{
    segment_file_name, FileStorage, Recovered, Storage, StorageError, StorageLimits,
    GROUP_HEADER_BYTES, SECTOR_BYTES,
};
use synod::paxos::Record;
use synod::sim::AppendLog;

use super::wal::write_synced;

type Rec = (u64, String);

fn rec(i: u64) -> Rec {
    (i, format!("value-{i}"))
}

fn open(dir: &Path) -> Result<(FileStorage<Rec>, Recovered<Rec>), StorageError> {
    FileStorage::open(dir, StorageLimits::default())
}

fn open_existing(dir: &Path) -> Result<(FileStorage<Rec>, Recovered<Rec>), StorageError> {
    FileStorage::open_existing(dir, StorageLimits::default())
}

fn segment(dir: &Path, seq: u64) -> PathBuf {
    dir.join(segment_file_name(seq))
}

fn patch(path: &Path, offset: u64, f: impl FnOnce(&mut [u8])) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes[offset as usize..]);
    std::fs::write(path, bytes).unwrap();
}

/// 20 records, each acknowledged (synced) on its own; the segment's path
/// and each record's offset.
fn twenty_acknowledged(dir: &Path) -> (PathBuf, Vec<u64>) {
    let (mut storage, _) = open(dir).unwrap();
    let records: Vec<Rec> = (1..=20).map(rec).collect();
    let offsets = write_synced(&mut storage, &records);
    (storage.current_segment(), offsets)
}

/// Asserts a refusal naming `path` at `offset`, in the message too; returns
/// the reason.
fn assert_refused(result: Result<impl Sized, StorageError>, path: &Path, offset: u64) -> String {
    let Err(err) = result else {
        panic!("recovered from {} instead of refusing", path.display());
    };
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    match err {
        StorageError::Corrupt {
            path: p,
            offset: o,
            reason,
        } => {
            assert_eq!((p.as_path(), o), (path, offset), "{reason}");
            reason
        }
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn an_emptied_segment_is_refused_not_an_empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = twenty_acknowledged(dir.path());
    std::fs::File::create(&path).unwrap(); // truncated to zero bytes
    let reason = assert_refused(open(dir.path()), &path, 0);
    assert!(reason.contains("shorter than its"), "{reason}");
    // Refusing changes nothing.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
}

#[test]
fn a_deleted_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = twenty_acknowledged(dir.path());
    std::fs::remove_file(&path).unwrap();
    let reason = assert_refused(open(dir.path()), &path, 0);
    assert!(reason.contains("missing"), "{reason}");
    assert!(!path.exists(), "refusing created nothing");
}

#[test]
fn a_missing_wal_directory_or_manifest_is_refused_by_open_existing() {
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    twenty_acknowledged(&wal);
    let manifest = wal.join("snapshot");
    std::fs::remove_file(&manifest).unwrap();
    let reason = assert_refused(open_existing(&wal), &manifest, 0);
    assert!(reason.contains("manifest"), "{reason}");
    // `open` does not take segments with data for a new directory either.
    assert_refused(open(&wal), &manifest, 0);
    std::fs::remove_dir_all(&wal).unwrap();
    let reason = assert_refused(open_existing(&wal), &wal, 0);
    assert!(reason.contains("missing"), "{reason}");
    assert!(!wal.exists(), "refusing created nothing");
}

#[test]
fn a_missing_segment_after_a_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[rec(1), rec(2)]);
    storage.compact(&[rec(2)]).unwrap();
    write_synced(&mut storage, &[rec(3), rec(4)]);
    let path = storage.current_segment();
    assert_eq!(path, segment(dir.path(), 2));
    drop(storage);
    std::fs::remove_file(&path).unwrap();
    let reason = assert_refused(open(dir.path()), &path, 0);
    assert!(reason.contains("manifest"), "{reason}");
}

#[test]
fn a_zeroed_page_over_the_whole_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = twenty_acknowledged(dir.path());
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len < 4096);
    patch(&path, 0, |bytes| bytes.fill(0));
    let reason = assert_refused(open(dir.path()), &path, 0);
    assert!(reason.contains("zero-filled"), "{reason}");
}

/// Synced records fill the segment up to 30 bytes before the page boundary
/// at 4096; the next record straddles it, then two more follow, each synced
/// on its own. The page from 4096 on is zeroed, to the end of the file. The
/// straddling record's group is followed by later writes, so it was synced:
/// damage, not a torn write.
#[test]
fn a_zeroed_page_over_three_synced_records_at_the_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    let path = storage.current_segment();
    let len = |p: &Path| std::fs::metadata(p).unwrap().len();
    let group_bytes =
        |r: &Rec| (GROUP_HEADER_BYTES + 8 + postcard::to_allocvec(r).unwrap().len()) as u64;
    let straddling_group = 4096 - 30;
    let mut i = 0;
    while len(&path) < straddling_group {
        i += 1;
        let gap = straddling_group - len(&path);
        let filler = (0..200)
            .map(|n| (i, "x".repeat(n)))
            .rfind(|r| group_bytes(r) == gap || group_bytes(r) + 60 <= gap)
            .unwrap();
        write_synced(&mut storage, &[filler]);
    }
    assert_eq!(len(&path), straddling_group);
    let offsets = write_synced(&mut storage, &[rec(100), rec(101), rec(102)]);
    drop(storage);
    assert!(offsets[1] > 4096 && len(&path) < 8192, "{offsets:?}");
    patch(&path, 4096, |bytes| bytes.fill(0));
    let reason = assert_refused(open(dir.path()), &path, offsets[0]);
    assert!(reason.contains("not a torn write"), "{reason}");
}

#[test]
fn a_flipped_bit_in_the_last_records_length_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = twenty_acknowledged(dir.path());
    let last = offsets[19];
    // The length grows by 16: it runs past the end of the file, which the
    // old rule took for a torn write.
    patch(&path, last, |bytes| {
        assert_eq!(bytes[0] & 0x10, 0);
        bytes[0] ^= 0x10;
    });
    let reason = assert_refused(open(dir.path()), &path, last);
    assert!(
        reason.contains("runs past the end of its group"),
        "{reason}"
    );
}

/// The core's amnesia mark encodes as `04 00`: its last byte is zero, which
/// the old rule took for a zero-filled torn tail after any flipped bit.
#[test]
fn a_flipped_bit_in_a_last_record_ending_in_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    type CoreRecord = Record<AppendLog>;
    let (mut storage, _) =
        FileStorage::<CoreRecord>::open(dir.path(), StorageLimits::default()).unwrap();
    let mark = CoreRecord::Amnesia { voting: false };
    assert_eq!(postcard::to_allocvec(&mark).unwrap(), vec![4, 0]);
    let offsets = write_synced(
        &mut storage,
        &[
            CoreRecord::Promise {
                ballot: Default::default(),
            },
            mark,
        ],
    );
    let path = storage.current_segment();
    drop(storage);
    let end = std::fs::metadata(&path).unwrap().len();
    assert_ne!((end - 1) % SECTOR_BYTES, 0, "no sector holds only the zero");
    patch(&path, offsets[1] + 8, |bytes| bytes[0] ^= 0x01);
    let result = FileStorage::<CoreRecord>::open(dir.path(), StorageLimits::default());
    let reason = assert_refused(result, &path, offsets[1]);
    assert!(reason.contains("no zero-filled sector"), "{reason}");
}

#[test]
fn an_unknown_format_version_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = twenty_acknowledged(dir.path());
    let manifest = dir.path().join("snapshot");
    for (file, version) in [(&path, 3u32), (&manifest, 7)] {
        let original = std::fs::read(file).unwrap();
        patch(file, 8, |bytes| {
            bytes[..4].copy_from_slice(&version.to_le_bytes())
        });
        let err = open(dir.path()).unwrap_err();
        let message = err.to_string();
        match err {
            StorageError::UnsupportedFormat {
                path: p,
                offset,
                found,
                supported,
            } => assert_eq!((&p, offset, found, supported), (file, 8, version, 2)),
            other => panic!("expected an unsupported format, got {other}"),
        }
        assert!(message.contains(&format!("format version {version} is not supported")));
        assert!(message.contains(&file.display().to_string()), "{message}");
        std::fs::write(file, original).unwrap();
    }
    // Format 1's snapshot (no version field) is named as format 1.
    patch(&manifest, 0, |bytes| {
        bytes[..8].copy_from_slice(b"SYNSNAP1")
    });
    match open(dir.path()).unwrap_err() {
        StorageError::UnsupportedFormat { found: 1, .. } => {}
        other => panic!("expected format 1, got {other}"),
    }
}

/// The rule still cuts what a crash leaves of the unsynced last write: the
/// file ending inside it, or its sectors zero (its header's included).
#[test]
fn a_torn_unsynced_last_write_is_still_cut() {
    for shape in ["size cut", "zero sectors"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut storage, _) = open(dir.path()).unwrap();
        write_synced(&mut storage, &[rec(1), rec(2)]);
        let path = storage.current_segment();
        let synced_end = std::fs::metadata(&path).unwrap().len();
        // The last write: its fdatasync never returned.
        write_synced(&mut storage, &[(3, "x".repeat(2000))]);
        drop(storage);
        let end = std::fs::metadata(&path).unwrap().len();
        match shape {
            "size cut" => {
                let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                file.set_len(synced_end + GROUP_HEADER_BYTES as u64 + 100)
                    .unwrap();
            }
            _ => patch(&path, synced_end, |bytes| {
                bytes[..(end - synced_end) as usize].fill(0)
            }),
        }
        let (_, recovered) = open(dir.path()).unwrap();
        assert_eq!(recovered.records, vec![rec(1), rec(2)], "{shape}");
        assert_eq!(recovered.torn_tail.map(|t| t.offset), Some(synced_end));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), synced_end);
    }
}

/// Adversarial review (storage, 2026-12-06): after a compaction the live
/// segment (number 2) may hold only its header; with the manifest lost,
/// `open` took the directory for new storage, deleted segment 2 as a
/// leftover and recovered nothing. A segment numbered above 1 proves a
/// compaction happened: a missing manifest with data, refused.
#[test]
fn a_lost_manifest_after_a_compaction_is_refused_by_open() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    storage.append(&[rec(1)]).unwrap();
    storage.sync().unwrap();
    storage.compact(&[rec(42)]).unwrap();
    drop(storage);
    std::fs::remove_file(dir.path().join("snapshot")).unwrap();
    match open(dir.path()) {
        Err(StorageError::Corrupt { .. }) => {}
        Err(other) => panic!("expected corruption, got {other}"),
        Ok((_, recovered)) => panic!(
            "the compaction base was lost without an error: recovered {:?}",
            recovered.records
        ),
    }
}
