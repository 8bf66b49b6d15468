//! `FileStorage`: round trip, torn tails, corruption, limits, snapshots.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use synod::node::storage::{
    segment_file_name, CrashStorage, FileStorage, Recovered, Storage, StorageError, StorageLimits,
    FRAME_HEADER_BYTES, GROUP_HEADER_BYTES, SECTOR_BYTES,
};

/// Records shaped like the core's: an enum with integers and strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Rec {
    Promise { ballot: u64 },
    Accept { slot: u64, value: String },
}

fn accept(slot: u64) -> Rec {
    Rec::Accept {
        slot,
        value: format!("value-{slot}"),
    }
}

fn open(dir: &Path) -> Result<(FileStorage<Rec>, Recovered<Rec>), StorageError> {
    FileStorage::open(dir, StorageLimits::default())
}

fn segment(dir: &Path, seq: u64) -> PathBuf {
    dir.join(segment_file_name(seq))
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Writes `records`, one synced append (one group) each; returns each
/// record's offset (its group's header comes before it).
pub(super) fn write_synced<R: Serialize + serde::de::DeserializeOwned>(
    storage: &mut FileStorage<R>,
    records: &[R],
) -> Vec<u64> {
    let path = storage.current_segment();
    records
        .iter()
        .map(|record| {
            let offset = file_len(&path) + GROUP_HEADER_BYTES as u64;
            storage.append(std::slice::from_ref(record)).unwrap();
            storage.sync().unwrap();
            offset
        })
        .collect()
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

fn patch(path: &Path, offset: u64, f: impl FnOnce(&mut [u8])) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes[offset as usize..]);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn wal_round_trip_recovers_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Rec> = (0..50)
        .map(|i| {
            if i % 7 == 0 {
                Rec::Promise { ballot: i }
            } else {
                accept(i)
            }
        })
        .collect();
    {
        let (mut storage, recovered) = open(dir.path()).unwrap();
        assert_eq!(recovered.records, Vec::<Rec>::new());
        assert_eq!(recovered.base_records, 0);
        storage.append(&records[..20]).unwrap();
        storage.append(&records[20..]).unwrap();
        storage.sync().unwrap();
        assert_eq!(storage.recover().unwrap().records, records);
    }
    let (_storage, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, records);
    assert_eq!(recovered.torn_tail, None);
}

#[test]
fn a_group_running_past_the_end_is_a_torn_write_cut_off_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[accept(1), accept(2), accept(3)]);
    let path = storage.current_segment();
    let good_len = file_len(&path);
    // The last write, cut short: its header and 10 bytes of its body.
    write_synced(&mut storage, &[accept(4)]);
    drop(storage);
    let cut_to = good_len + GROUP_HEADER_BYTES as u64 + 10;
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(cut_to).unwrap();
    drop(file);

    let (mut storage, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1), accept(2), accept(3)]);
    let cut = recovered.torn_tail.expect("the torn tail is reported");
    assert_eq!(
        (cut.path.clone(), cut.offset, cut.bytes_cut),
        (path.clone(), good_len, cut_to - good_len)
    );
    assert_eq!(file_len(&path), good_len, "the file was truncated");
    // The node goes on appending after the cut.
    write_synced(&mut storage, &[accept(5)]);
    drop(storage);
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(
        recovered.records,
        vec![accept(1), accept(2), accept(3), accept(5)]
    );
    assert_eq!(recovered.torn_tail, None);
}

#[test]
fn a_partial_header_is_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[accept(1)]);
    let path = storage.current_segment();
    drop(storage);
    append_raw(&path, &[7, 0, 0]);
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1)]);
    assert_eq!(recovered.torn_tail.map(|t| t.bytes_cut), Some(3));
}

#[test]
fn a_zero_filled_tail_is_a_torn_write_cut_off_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[accept(1), accept(2)]);
    let path = storage.current_segment();
    drop(storage);
    let good_len = file_len(&path);
    // The file grew but the data never reached the disk.
    append_raw(&path, &[0; 4096]);
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1), accept(2)]);
    assert_eq!(recovered.torn_tail.map(|t| t.offset), Some(good_len));
    assert_eq!(file_len(&path), good_len);
}

/// A long last record whose sectors from the second on never reached the
/// disk: zero from a sector boundary to the end of the file.
#[test]
fn a_last_group_with_lost_sectors_is_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    let long = Rec::Accept {
        slot: 2,
        value: "v".repeat(3000),
    };
    let offsets = write_synced(&mut storage, &[accept(1), long]);
    let path = storage.current_segment();
    drop(storage);
    let end = file_len(&path);
    let lost_from = (offsets[1] / SECTOR_BYTES + 1) * SECTOR_BYTES;
    patch(&path, lost_from, |bytes| {
        bytes[..(end - lost_from) as usize].fill(0)
    });
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1)]);
    let group_start = offsets[1] - GROUP_HEADER_BYTES as u64;
    assert_eq!(recovered.torn_tail.map(|t| t.offset), Some(group_start));
    assert_eq!(file_len(&path), group_start);
}

#[test]
fn a_flipped_bit_in_a_middle_record_is_corruption_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    let offsets = write_synced(&mut storage, &[accept(1), accept(2), accept(3)]);
    let path = storage.current_segment();
    drop(storage);
    let before = std::fs::read(&path).unwrap();
    patch(&path, offsets[1] + FRAME_HEADER_BYTES as u64 + 1, |bytes| {
        bytes[0] ^= 0x10
    });

    let err = open(dir.path()).unwrap_err();
    match &err {
        StorageError::Corrupt {
            path: p, offset, ..
        } => {
            assert_eq!((p, *offset), (&path, offsets[1]));
        }
        other => panic!("expected corruption, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!("offset {}", offsets[1])),
        "{message}"
    );
    // Refusing to start must not repair anything: the file is untouched.
    let mut expected = before;
    expected[(offsets[1] + FRAME_HEADER_BYTES as u64 + 1) as usize] ^= 0x10;
    assert_eq!(std::fs::read(&path).unwrap(), expected);
}

#[test]
fn a_flipped_bit_in_the_last_complete_record_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    let offsets = write_synced(&mut storage, &[accept(1), accept(2)]);
    let path = storage.current_segment();
    drop(storage);
    patch(&path, offsets[1] + FRAME_HEADER_BYTES as u64, |bytes| {
        bytes[0] ^= 1
    });
    match open(dir.path()).unwrap_err() {
        StorageError::Corrupt { offset, .. } => assert_eq!(offset, offsets[1]),
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn a_huge_corrupted_length_is_an_error_before_any_allocation() {
    // On the last record, where running past the end would otherwise look
    // torn: the limit is checked first, so the length is never allocated
    // and never mistaken for a torn write.
    for victim in [0, 1] {
        let dir = tempfile::tempdir().unwrap();
        let (mut storage, _) = open(dir.path()).unwrap();
        let offsets = write_synced(&mut storage, &[accept(1), accept(2)]);
        let path = storage.current_segment();
        drop(storage);
        patch(&path, offsets[victim], |bytes| {
            bytes[..4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes())
        });
        match open(dir.path()).unwrap_err() {
            StorageError::Corrupt { offset, reason, .. } => {
                assert_eq!(offset, offsets[victim]);
                assert!(reason.contains("exceeds max_record_bytes"), "{reason}");
            }
            other => panic!("expected corruption, got {other}"),
        }
    }
}

#[test]
fn a_record_over_the_limit_is_rejected_and_the_log_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let limits = StorageLimits {
        max_record_bytes: 64,
        ..StorageLimits::default()
    };
    let (mut storage, _) = FileStorage::<Rec>::open(dir.path(), limits).unwrap();
    let big = Rec::Accept {
        slot: 1,
        value: "x".repeat(100),
    };
    match storage.append(&[accept(1), big]) {
        Err(StorageError::RecordTooLarge { limit: 64, .. }) => {}
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    // The whole batch was refused; nothing of it was written.
    storage.append(&[accept(2)]).unwrap();
    storage.sync().unwrap();
    drop(storage);
    let (_, recovered) = FileStorage::<Rec>::open(dir.path(), limits).unwrap();
    assert_eq!(recovered.records, vec![accept(2)]);
}

#[test]
fn compaction_truncates_the_log_and_recovery_replays_the_base_then_later_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &(1..=5).map(accept).collect::<Vec<_>>());
    let base = vec![Rec::Promise { ballot: 9 }, accept(5)];
    storage.compact(&base).unwrap();
    assert!(
        !segment(dir.path(), 1).exists(),
        "the covered segment was deleted"
    );
    write_synced(&mut storage, &[accept(6), accept(7)]);
    drop(storage);

    let (mut storage, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.base_records, 2);
    assert_eq!(
        recovered.records,
        vec![Rec::Promise { ballot: 9 }, accept(5), accept(6), accept(7)]
    );

    // A second compaction truncates again; unsynced records before it are
    // replaced by its base too.
    storage.append(&[accept(8)]).unwrap();
    storage.compact(&[Rec::Promise { ballot: 10 }]).unwrap();
    assert!(!segment(dir.path(), 2).exists());
    drop(storage);
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![Rec::Promise { ballot: 10 }]);
    assert_eq!(recovered.base_records, 1);
    let wal_files = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("wal-")
        })
        .count();
    assert_eq!(wal_files, 1);
}

#[test]
fn a_crash_during_truncation_leaves_stale_segments_that_recovery_ignores_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[accept(1)]);
    storage.compact(&[accept(1)]).unwrap();
    write_synced(&mut storage, &[accept(2)]);
    drop(storage);
    // As if the crash came between the snapshot's rename and the deletion.
    std::fs::write(segment(dir.path(), 1), b"old records the snapshot covers").unwrap();
    std::fs::write(dir.path().join("snapshot.tmp"), b"half a snapshot").unwrap();
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1), accept(2)]);
    assert!(!segment(dir.path(), 1).exists());
    assert!(!dir.path().join("snapshot.tmp").exists());
}

#[test]
fn a_segment_beyond_the_manifest_holding_data_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    write_synced(&mut storage, &[accept(1)]);
    drop(storage);
    // Segment 3 with data, where the manifest names segment 1: nothing is
    // ever appended to a segment the manifest does not name.
    std::fs::write(segment(dir.path(), 3), [7u8; 100]).unwrap();
    match open(dir.path()).unwrap_err() {
        StorageError::Corrupt { path, reason, .. } => {
            assert_eq!(path, segment(dir.path(), 3));
            assert!(reason.contains("manifest names segment 1"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
    // An empty one (a compaction's crash before its manifest) is removed.
    std::fs::write(segment(dir.path(), 3), b"").unwrap();
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1)]);
    assert!(!segment(dir.path(), 3).exists());
}

#[test]
fn a_damaged_snapshot_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    storage.compact(&[accept(1), accept(2)]).unwrap();
    drop(storage);
    let path = dir.path().join("snapshot");
    let len = file_len(&path);
    patch(&path, len - 3, |bytes| bytes[0] ^= 4);
    match open(dir.path()).unwrap_err() {
        StorageError::Corrupt {
            path: p, reason, ..
        } => {
            assert_eq!(p, path);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn the_crash_double_loses_only_unsynced_records() {
    let mut storage = CrashStorage::<u64>::new();
    storage.append(&[1, 2]).unwrap();
    storage.sync().unwrap();
    storage.append(&[3]).unwrap();
    assert_eq!((storage.durable_len(), storage.unsynced_len()), (2, 1));
    storage.crash();
    assert_eq!(storage.recover().unwrap().records, vec![1, 2]);
    storage.append(&[4]).unwrap();
    storage.compact(&[14]).unwrap();
    storage.append(&[5]).unwrap();
    storage.sync().unwrap();
    storage.append(&[6]).unwrap();
    storage.crash();
    let recovered = storage.recover().unwrap();
    assert_eq!(recovered.records, vec![14, 5]);
    assert_eq!(recovered.base_records, 1);
}

/// Appends stay in memory until a sync; then the process "dies": `mem::forget` runs no more code
/// of the storage, as a SIGKILL would.
#[test]
fn storage_loses_exactly_the_unsynced_records_when_the_process_dies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    storage.append(&[accept(1), accept(2)]).unwrap();
    storage.sync().unwrap();
    storage.append(&[accept(3)]).unwrap();
    std::mem::forget(storage);
    let (mut storage, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1), accept(2)]);

    // A clean close writes and syncs what was appended.
    storage.append(&[accept(4)]).unwrap();
    drop(storage);
    let (_, recovered) = open(dir.path()).unwrap();
    assert_eq!(recovered.records, vec![accept(1), accept(2), accept(4)]);
}

#[test]
fn the_fdatasync_probe_takes_its_samples_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let probe = synod::node::storage::probe_fdatasync(dir.path(), 5).unwrap();
    assert_eq!(probe.samples.len(), 5);
    assert!(probe.samples.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert!(probe.median() <= probe.quantile(1.0));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Out-of-range sample counts are refused, not clamped.
    assert!(synod::node::storage::probe_fdatasync(dir.path(), 0).is_err());
}

/// Found by `wal_props`: a flipped bit in a middle record's length made it
/// run past the end of the file, and recovery cut it and every intact
/// record behind it as a "torn tail".
#[test]
fn a_middle_length_running_past_the_end_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = open(dir.path()).unwrap();
    let offsets = write_synced(&mut storage, &[accept(1), accept(2), accept(3)]);
    let path = storage.current_segment();
    drop(storage);
    patch(&path, offsets[1] + 2, |bytes| bytes[0] ^= 0x04);
    match open(dir.path()).unwrap_err() {
        StorageError::Corrupt { offset, reason, .. } => {
            assert_eq!(offset, offsets[1]);
            let group3 = offsets[2] - GROUP_HEADER_BYTES as u64;
            assert!(
                reason.contains(&format!("a later write follows (at offset {group3})")),
                "{reason}"
            );
        }
        other => panic!("expected corruption, got {other}"),
    }
}
