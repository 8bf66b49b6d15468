//! Properties of WAL recovery over generated logs: a crash that cuts the
//! file anywhere after its (synced) header recovers exactly the records
//! before the cut, and damage
//! anywhere (one flipped bit) never yields wrong records: recovery returns a
//! prefix of what was written, or refuses with an error.

use std::path::Path;

use proptest::prelude::*;
use synod::node::storage::{
    FileStorage, Storage, StorageError, StorageLimits, SEGMENT_HEADER_BYTES,
};

type Rec = (u64, Vec<u8>);

/// Writes `records`, one synced append (one group) each; returns each
/// group's end offset.
fn write_log(dir: &Path, records: &[Rec]) -> (std::path::PathBuf, Vec<u64>) {
    let (mut storage, _) = FileStorage::<Rec>::open(dir, StorageLimits::default()).unwrap();
    let path = storage.current_segment();
    let mut ends = Vec::new();
    for record in records {
        storage.append(std::slice::from_ref(record)).unwrap();
        storage.sync().unwrap();
        ends.push(std::fs::metadata(&path).unwrap().len());
    }
    (path, ends)
}

fn records() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (any::<u64>(), prop::collection::vec(any::<u8>(), 0..40)),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_log_cut_anywhere_recovers_exactly_the_records_before_the_cut(
        records in records(),
        cut_fraction in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_log(dir.path(), &records);
        let total = *ends.last().unwrap();
        let header = SEGMENT_HEADER_BYTES as u64;
        let cut = header + (cut_fraction * (total - header) as f64) as u64;
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(cut).unwrap();
        drop(file);
        let (_, recovered) = FileStorage::<Rec>::open(dir.path(), StorageLimits::default()).unwrap();
        let complete = ends.iter().filter(|&&end| end <= cut).count();
        prop_assert_eq!(&recovered.records[..], &records[..complete]);
        let cut_is_a_record_boundary = cut == header || ends.contains(&cut);
        prop_assert_eq!(recovered.torn_tail.is_some(), !cut_is_a_record_boundary);
    }

    #[test]
    fn a_flipped_bit_anywhere_never_yields_wrong_records(
        records in records(),
        at_fraction in 0.0f64..1.0,
        bit in 0u8..8,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, ends) = write_log(dir.path(), &records);
        let mut bytes = std::fs::read(&path).unwrap();
        let at = ((at_fraction * bytes.len() as f64) as usize).min(bytes.len() - 1);
        bytes[at] ^= 1 << bit;
        std::fs::write(&path, &bytes).unwrap();
        match FileStorage::<Rec>::open(dir.path(), StorageLimits::default()) {
            Ok((_, recovered)) => {
                let n = recovered.records.len();
                prop_assert!(n <= records.len());
                prop_assert_eq!(&recovered.records[..], &records[..n]);
                // Only damage in the last record can pass as a torn tail.
                let last_start = if ends.len() > 1 { ends[ends.len() - 2] } else { SEGMENT_HEADER_BYTES as u64 };
                prop_assert!(at as u64 >= last_start, "damage at {} before the last record passed", at);
            }
            Err(err) => {
                let message = err.to_string();
                prop_assert!(message.contains("offset"), "{}", message);
                let bad_state = matches!(
                    err,
                    StorageError::Corrupt { .. } | StorageError::UnsupportedFormat { .. }
                );
                prop_assert!(bad_state, "{}", message);
            }
        }
    }
}
