//! The persistence pipeline over real files and over the crash double.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use synod::node::pipeline::{Batch, Pipeline, PipelineConfig, PipelineError, Sink};
use synod::node::queue::PushError;
use synod::node::storage::{CrashStorage, CrashStorageFaults, FileStorage, StorageLimits};

/// Logs released and discarded items.
#[derive(Debug, Clone, Default)]
struct Recorder {
    released: Arc<Mutex<Vec<u64>>>,
    discarded: Arc<Mutex<Vec<u64>>>,
}

impl Sink<u64> for Recorder {
    fn release(&mut self, item: u64) {
        self.released.lock().unwrap().push(item);
    }
    fn discard(&mut self, item: u64) {
        self.discarded.lock().unwrap().push(item);
    }
}

fn config(queue_batches: usize, max_batches_per_sync: usize) -> PipelineConfig {
    PipelineConfig {
        queue_batches: NonZeroUsize::new(queue_batches).unwrap(),
        max_batches_per_sync: NonZeroUsize::new(max_batches_per_sync).unwrap(),
    }
}

#[test]
fn the_pipeline_persists_every_batch_to_disk_and_releases_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, _) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    let sink = Recorder::default();
    let pipeline = Pipeline::spawn(storage, sink.clone(), config(64, 16));
    for i in 0..500u64 {
        // Two records and two outbound items per batch.
        pipeline
            .submit(Batch::new(vec![2 * i, 2 * i + 1], vec![2 * i, 2 * i + 1]))
            .unwrap();
    }
    let stopped = pipeline.shutdown().unwrap();
    assert_eq!(stopped.stats.batches, 500);
    assert_eq!(stopped.stats.records, 1000);
    assert!(stopped.stats.syncs >= 1 && stopped.stats.syncs <= 500);
    assert!(stopped.stats.max_group <= 16);
    let expected: Vec<u64> = (0..1000).collect();
    assert_eq!(*sink.released.lock().unwrap(), expected);
    drop(stopped);
    let (_, recovered) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    assert_eq!(recovered.records, expected);
}

#[test]
fn a_compacting_batch_truncates_the_log_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, _) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    let pipeline = Pipeline::spawn(storage, Recorder::default(), config(8, 8));
    pipeline.submit(Batch::new(vec![1, 2], vec![])).unwrap();
    pipeline
        .submit(Batch {
            records: vec![3],
            compact: Some(vec![12]),
            outbound: vec![],
        })
        .unwrap();
    pipeline.shutdown().unwrap();
    let (_, recovered) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    assert_eq!(recovered.records, vec![12, 3]);
    assert_eq!(recovered.base_records, 1);
}

/// Runs requests 0..n through a pipeline over a crash double, acknowledges
/// each released reply, crashes, and returns the acknowledged requests whose
/// records the crash lost.
fn acknowledged_writes_lost_by_a_crash(faults: CrashStorageFaults, n: u64) -> Vec<u64> {
    let storage = CrashStorage::<u64>::with_faults(faults);
    let sink = Recorder::default();
    let pipeline = Pipeline::spawn(storage.clone(), sink.clone(), config(4, 4));
    for i in 0..n {
        pipeline.submit(Batch::new(vec![i], vec![i])).unwrap();
    }
    pipeline.shutdown().unwrap();
    storage.crash();
    let durable = storage.durable_records();
    let acknowledged = sink.released.lock().unwrap().clone();
    assert_eq!(
        acknowledged.len() as u64,
        n,
        "every request was acknowledged"
    );
    acknowledged
        .into_iter()
        .filter(|i| !durable.contains(i))
        .collect()
}

#[test]
fn a_crash_loses_no_acknowledged_write() {
    assert_eq!(
        acknowledged_writes_lost_by_a_crash(CrashStorageFaults::default(), 100),
        Vec::<u64>::new()
    );
}

#[test]
fn a_skipped_fsync_is_caught_losing_an_acknowledged_write() {
    // The planted bug: the check above must be able to fail.
    let lost = acknowledged_writes_lost_by_a_crash(
        CrashStorageFaults {
            skip_fsync: true,
            ..CrashStorageFaults::default()
        },
        10,
    );
    assert_eq!(lost, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_failed_sync_stops_the_pipeline_and_discards_what_was_not_durable() {
    let storage = CrashStorage::<u64>::with_faults(CrashStorageFaults {
        fail_sync: true,
        ..CrashStorageFaults::default()
    });
    let sink = Recorder::default();
    let pipeline = Pipeline::spawn(storage.clone(), sink.clone(), config(4, 4));
    let mut refused = Vec::new();
    for i in 0..20u64 {
        match pipeline.submit(Batch::new(vec![i], vec![i])) {
            Ok(()) => {}
            Err(PushError::Closed(batch)) => refused.extend(batch.outbound),
            Err(PushError::Full(_)) => unreachable!("submit waits instead of reporting full"),
        }
    }
    match pipeline.shutdown() {
        Err(PipelineError::Storage {
            batches_released: 0,
            ..
        }) => {}
        other => panic!("expected a storage failure, got {other:?}"),
    }
    assert_eq!(*sink.released.lock().unwrap(), Vec::<u64>::new());
    // Every request was discarded (connection closed) or refused: exactly once.
    let mut fates = sink.discarded.lock().unwrap().clone();
    fates.extend(refused);
    fates.sort_unstable();
    assert_eq!(fates, (0..20).collect::<Vec<_>>());
}

#[test]
fn a_dropped_pipeline_still_persists_and_releases_what_it_accepted() {
    let storage = CrashStorage::<u64>::new();
    let sink = Recorder::default();
    {
        let pipeline = Pipeline::spawn(storage.clone(), sink.clone(), config(4, 4));
        for i in 0..10 {
            pipeline.submit(Batch::new(vec![i], vec![i])).unwrap();
        }
    }
    assert_eq!(*sink.released.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(storage.durable_records(), (0..10).collect::<Vec<_>>());
}

/// Requests 0..n through a pipeline over a `FileStorage`; the
/// process then "dies" (`mem::forget`: no more storage code runs, as after a
/// SIGKILL). Returns the acknowledged requests the restart does not find.
#[cfg(feature = "faults")]
fn acknowledged_writes_lost_by_a_process_kill(skip_fsync: bool, n: u64) -> Vec<u64> {
    let dir = tempfile::tempdir().unwrap();
    let (mut storage, _) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    if skip_fsync {
        storage = storage.skip_fsync();
    }
    let sink = Recorder::default();
    let pipeline = Pipeline::spawn(storage, sink.clone(), config(4, 4));
    for i in 0..n {
        pipeline.submit(Batch::new(vec![i], vec![i])).unwrap();
    }
    let stopped = pipeline.shutdown().unwrap();
    std::mem::forget(stopped.storage);
    let (_, recovered) = FileStorage::<u64>::open(dir.path(), StorageLimits::default()).unwrap();
    let acknowledged = sink.released.lock().unwrap().clone();
    assert_eq!(
        acknowledged.len() as u64,
        n,
        "every request was acknowledged"
    );
    acknowledged
        .into_iter()
        .filter(|i| !recovered.records.contains(i))
        .collect()
}

#[cfg(feature = "faults")]
#[test]
fn a_killed_process_loses_no_acknowledged_write() {
    assert_eq!(
        acknowledged_writes_lost_by_a_process_kill(false, 50),
        Vec::<u64>::new()
    );
}

#[cfg(feature = "faults")]
#[test]
fn a_file_storage_that_skips_fsync_is_caught_losing_acknowledged_writes() {
    assert_eq!(
        acknowledged_writes_lost_by_a_process_kill(true, 10),
        (0..10).collect::<Vec<_>>()
    );
}

#[test]
fn a_boxed_storage_drives_the_pipeline() {
    let storage = CrashStorage::<u64>::new();
    let boxed: Box<dyn synod::node::storage::Storage<u64> + Send> = Box::new(storage.clone());
    let pipeline = Pipeline::spawn(boxed, Recorder::default(), config(4, 4));
    pipeline.submit(Batch::new(vec![7], vec![7])).unwrap();
    pipeline.shutdown().unwrap();
    assert_eq!(storage.durable_records(), vec![7]);
}

/// A storage whose first `sync` waits at a gate until the test opens it, so
/// batches pile up behind a slow disk deterministically (no timing).
struct GatedStorage {
    inner: CrashStorage<u64>,
    /// (sync entered, gate open)
    gate: Arc<(Mutex<(bool, bool)>, std::sync::Condvar)>,
}

impl synod::node::storage::Storage<u64> for GatedStorage {
    fn append(&mut self, records: &[u64]) -> Result<(), synod::node::storage::StorageError> {
        self.inner.append(records)
    }
    fn sync(&mut self) -> Result<(), synod::node::storage::StorageError> {
        let (lock, cvar) = &*self.gate;
        let mut state = lock.lock().unwrap();
        state.0 = true;
        cvar.notify_all();
        while !state.1 {
            state = cvar.wait(state).unwrap();
        }
        drop(state);
        self.inner.sync()
    }
    fn compact(&mut self, base: &[u64]) -> Result<(), synod::node::storage::StorageError> {
        self.inner.compact(base)
    }
    fn recover(
        &mut self,
    ) -> Result<synod::node::storage::Recovered<u64>, synod::node::storage::StorageError> {
        self.inner.recover()
    }
}

#[test]
fn batches_waiting_behind_a_sync_share_the_next_one() {
    let inner = CrashStorage::<u64>::new();
    let gate = Arc::new((Mutex::new((false, false)), std::sync::Condvar::new()));
    let storage = GatedStorage {
        inner: inner.clone(),
        gate: gate.clone(),
    };
    let sink = Recorder::default();
    let pipeline = Pipeline::spawn(storage, sink.clone(), config(64, 256));
    pipeline.submit(Batch::new(vec![0], vec![0])).unwrap();
    let (lock, cvar) = &*gate;
    let mut state = lock.lock().unwrap();
    while !state.0 {
        state = cvar.wait(state).unwrap();
    }
    // The first sync is in progress: these 50 batches wait behind it.
    for i in 1..=50 {
        pipeline.submit(Batch::new(vec![i], vec![i])).unwrap();
    }
    state.1 = true;
    cvar.notify_all();
    drop(state);
    let stopped = pipeline.shutdown().unwrap();
    assert_eq!(stopped.stats.syncs, 2, "{:?}", stopped.stats);
    assert_eq!(stopped.stats.max_group, 50);
    assert_eq!(*sink.released.lock().unwrap(), (0..=50).collect::<Vec<_>>());
    assert_eq!(inner.durable_records(), (0..=50).collect::<Vec<_>>());
}
