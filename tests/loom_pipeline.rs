//! Loom checks of the node's real persistence stage: `node::queue` and
//! `node::pipeline` (not copies), over the `CrashStorage` double.
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
//! LOOM_MAX_PREEMPTIONS=2 cargo test --release --test 'loom_*'`.
//! Without `--cfg loom` this file compiles to nothing.
//!
//! Each property has a planted bug (`PipelineFault`) that loom must catch,
//! under `#[should_panic]`: a check that cannot fail checks nothing.
#![cfg(loom)]

use std::num::NonZeroUsize;

use synod::node::pipeline::{Batch, Pipeline, PipelineConfig, PipelineFault, Sink};
use synod::node::queue::PushError;
use synod::node::storage::{CrashStorage, CrashStorageFaults};
use synod::sync::{thread, Arc, Mutex};

/// What became of a request's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The reply left the node.
    Released,
    /// Storage failed; the client's connection is closed.
    Discarded,
    /// The pipeline was closed when it was submitted; the connection is closed.
    Refused,
}

type Log = Arc<Mutex<Vec<(u64, Fate)>>>;

/// A sink that logs every item's fate and, when `storage` is set, asserts at
/// release time that the item's record is durable.
struct LogSink {
    log: Log,
    durable_check: Option<CrashStorage<u64>>,
}

impl Sink<u64> for LogSink {
    fn release(&mut self, item: u64) {
        if let Some(storage) = &self.durable_check {
            assert!(
                storage.durable_records().contains(&item),
                "reply {item} left before its record was durable"
            );
        }
        self.log.lock().unwrap().push((item, Fate::Released));
    }

    fn discard(&mut self, item: u64) {
        self.log.lock().unwrap().push((item, Fate::Discarded));
    }
}

fn config(queue_batches: usize, max_batches_per_sync: usize) -> PipelineConfig {
    PipelineConfig {
        queue_batches: NonZeroUsize::new(queue_batches).unwrap(),
        max_batches_per_sync: NonZeroUsize::new(max_batches_per_sync).unwrap(),
    }
}

fn spawn(
    storage: &CrashStorage<u64>,
    sink: LogSink,
    config: PipelineConfig,
    fault: Option<PipelineFault>,
) -> Pipeline<u64, u64, CrashStorage<u64>, LogSink> {
    match fault {
        Some(fault) => Pipeline::spawn_with_fault(storage.clone(), sink, config, fault),
        None => Pipeline::spawn(storage.clone(), sink, config),
    }
}

/// Request `i` is one batch: record `i`, reply `i`.
fn request(i: u64) -> Batch<u64, u64> {
    Batch::new(vec![i], vec![i])
}

fn fates_of(log: &Log, item: u64) -> Vec<Fate> {
    let log = log.lock().unwrap();
    log.iter()
        .filter(|(i, _)| *i == item)
        .map(|(_, fate)| *fate)
        .collect()
}

// (a) No outbound item of a batch is released before that batch's records
// are durable.

fn replies_wait_for_durability(fault: Option<PipelineFault>) {
    loom::model(move || {
        let storage = CrashStorage::new();
        let log = Log::default();
        let sink = LogSink {
            log: log.clone(),
            durable_check: Some(storage.clone()),
        };
        let pipeline = spawn(&storage, sink, config(2, 2), fault);
        for i in 1..=3 {
            pipeline.submit(request(i)).unwrap();
        }
        let stopped = pipeline.shutdown().unwrap();
        assert_eq!(stopped.stats.batches, 3);
        for i in 1..=3 {
            assert_eq!(fates_of(&log, i), vec![Fate::Released]);
        }
    });
}

#[test]
fn no_reply_leaves_before_its_records_are_durable() {
    replies_wait_for_durability(None);
}

#[test]
#[should_panic(expected = "before its record was durable")]
fn release_before_sync_is_caught() {
    replies_wait_for_durability(Some(PipelineFault::ReleaseBeforeSync));
}

// (b) Every accepted request gets exactly one reply, or its connection
// closes (discarded, or refused at submit), while a concurrent shutdown
// signal closes the pipeline.

fn exactly_one_fate_per_request(fault: Option<PipelineFault>, storage_faults: CrashStorageFaults) {
    loom::model(move || {
        let storage = CrashStorage::with_faults(storage_faults);
        let log = Log::default();
        let sink = LogSink {
            log: log.clone(),
            durable_check: None,
        };
        let pipeline = spawn(&storage, sink, config(1, 2), fault);
        let closer = pipeline.closer();
        let signal = thread::spawn(move || closer.close());
        for i in 1..=2 {
            match pipeline.submit(request(i)) {
                Ok(()) => {}
                Err(PushError::Closed(batch)) | Err(PushError::Full(batch)) => {
                    for item in batch.outbound {
                        log.lock().unwrap().push((item, Fate::Refused));
                    }
                }
            }
        }
        signal.join().unwrap();
        let outcome = pipeline.shutdown();
        if outcome.is_err() {
            assert!(
                storage_faults.fail_sync,
                "the pipeline failed without a storage fault"
            );
        }
        for i in 1..=2 {
            let fates = fates_of(&log, i);
            assert_eq!(
                fates.len(),
                1,
                "request {i} has fates {fates:?}, not exactly one"
            );
            if storage_faults.fail_sync {
                assert_ne!(
                    fates[0],
                    Fate::Released,
                    "request {i} replied without a sync"
                );
            }
        }
    });
}

#[test]
fn every_accepted_request_gets_exactly_one_reply_or_its_connection_closes() {
    exactly_one_fate_per_request(None, CrashStorageFaults::default());
}

#[test]
fn a_failed_sync_discards_its_replies_exactly_once() {
    exactly_one_fate_per_request(
        None,
        CrashStorageFaults {
            fail_sync: true,
            ..CrashStorageFaults::default()
        },
    );
}

#[test]
#[should_panic(expected = "not exactly one")]
fn forgetting_a_group_after_close_is_caught() {
    exactly_one_fate_per_request(
        Some(PipelineFault::ForgetGroupAfterClose),
        CrashStorageFaults::default(),
    );
}

// (c) Shutdown, racing a close from another thread, never deadlocks and
// loses no acknowledged write: after it, a crash keeps every released reply's
// record.

fn shutdown_keeps_acknowledged_writes(fault: Option<PipelineFault>, racing_close: bool) {
    loom::model(move || {
        let storage = CrashStorage::new();
        let log = Log::default();
        let sink = LogSink {
            log: log.clone(),
            durable_check: None,
        };
        let pipeline = spawn(&storage, sink, config(2, 2), fault);
        let closer = pipeline.closer();
        let signal = racing_close.then(|| thread::spawn(move || closer.close()));
        for i in 1..=2 {
            // A refused request was never acknowledged; nothing to check.
            let _ = pipeline.submit(request(i));
        }
        pipeline.shutdown().unwrap();
        if let Some(signal) = signal {
            signal.join().unwrap();
        }
        storage.crash();
        let durable = storage.durable_records();
        for (item, fate) in log.lock().unwrap().iter() {
            if *fate == Fate::Released {
                assert!(
                    durable.contains(item),
                    "acknowledged write {item} lost by a crash after shutdown"
                );
            }
        }
    });
}

#[test]
fn shutdown_never_deadlocks_and_loses_no_acknowledged_write() {
    shutdown_keeps_acknowledged_writes(None, false);
}

#[test]
fn shutdown_racing_a_close_never_deadlocks_and_loses_no_acknowledged_write() {
    shutdown_keeps_acknowledged_writes(None, true);
}

#[test]
#[should_panic(expected = "lost by a crash after shutdown")]
fn releasing_without_the_final_sync_is_caught() {
    shutdown_keeps_acknowledged_writes(Some(PipelineFault::SkipSyncAfterClose), true);
}

/// The deadlock variant cannot run under `#[should_panic]`: loom reports a
/// deadlock by panicking, then panics again while it drops the blocked
/// threads' loom objects (tokio-rs/loom#291), which aborts the process. So
/// the test runs the broken pipeline in a child process (this same test
/// binary, this same test) and checks that loom reported the deadlock.
#[test]
fn joining_before_closing_is_caught_as_a_deadlock() {
    const CHILD: &str = "SYNOD_LOOM_DEADLOCK_CHILD";
    if std::env::var_os(CHILD).is_some() {
        shutdown_keeps_acknowledged_writes(Some(PipelineFault::JoinBeforeClose), false);
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "joining_before_closing_is_caught_as_a_deadlock",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the child test process starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the broken pipeline passed: {stderr}"
    );
    assert!(
        stderr.contains("deadlock; threads"),
        "the child failed without loom's deadlock report: {stderr}"
    );
}
