//! The persistence stage, with group commit.
//!
//! The core's rule (DESIGN.md): persist a batch's records durably, then send
//! its messages and replies. The core thread does not wait for the disk: it
//! hands each step's output to [`Pipeline::submit`] as a [`Batch`] and keeps
//! stepping. The persistence thread takes every batch that is waiting (up to
//! [`PipelineConfig::max_batches_per_sync`]), appends all their records, makes
//! them durable with ONE `sync`, and only then releases their outbound items
//! to the [`Sink`], batch by batch, in submission order. Under load many
//! batches share one fsync; when idle a batch is synced alone, at once.
//!
//! Failure: if storage fails, nothing of the failed group or after it is
//! ever released; those items go to [`Sink::discard`] (a waiting client sees
//! its connection close: an indefinite outcome), the queue closes, and the
//! error comes back from [`Pipeline::shutdown`]. The node must stop.
//!
//! Shutdown ([`Pipeline::shutdown`]): close the queue (later submits fail and
//! hand their batch back), drain what was accepted, sync, release, join. So
//! every accepted batch is released or discarded exactly once, and none
//! acknowledged is lost.
//!
//! All synchronization is [`crate::sync`]'s and the disk is behind
//! [`Storage`], so `tests/loom_pipeline.rs` runs this code under loom.

use std::num::NonZeroUsize;

use crate::node::queue::{self, PushError, Receiver, Sender};
use crate::node::storage::{Storage, StorageError};
use crate::sync::thread::{self, JoinHandle};

/// One step's output for the persistence stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<R, O> {
    /// Records to make durable before any of `outbound` leaves.
    pub records: Vec<R>,
    /// Log compaction: records replacing every record submitted before this
    /// batch ([`Storage::compact`]), applied after earlier batches' records
    /// and before this batch's.
    pub compact: Option<Vec<R>>,
    /// Messages and replies, released in order once `records` are durable.
    pub outbound: Vec<O>,
}

impl<R, O> Batch<R, O> {
    /// A batch without a snapshot.
    pub fn new(records: Vec<R>, outbound: Vec<O>) -> Self {
        Batch {
            records,
            compact: None,
            outbound,
        }
    }
}

/// Where outbound items go once durable: the transport's send queues and the
/// client reply routing implement it.
///
/// Both methods run on the persistence thread, between syncs: they must not
/// block (use [`crate::node::queue::Sender::try_push`] into a peer's bounded
/// send queue and drop the message when it is full, as a lossy network
/// would; Paxos retransmits). A sink that blocks stalls every write.
pub trait Sink<O> {
    /// Sends `item`; its batch's records are durable.
    fn release(&mut self, item: O);
    /// `item`'s records will never be durable (storage failed): it must not
    /// be sent. A client waiting for it must see its connection closed.
    fn discard(&mut self, item: O);
}

/// Limits of the persistence stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Batches the queue holds; a full queue blocks the core thread
    /// (backpressure from a slow disk).
    pub queue_batches: NonZeroUsize,
    /// The most batches one sync covers (bounds the latency a group adds).
    pub max_batches_per_sync: NonZeroUsize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            queue_batches: NonZeroUsize::new(1024).expect("1024 is not zero"),
            max_batches_per_sync: NonZeroUsize::new(256).expect("256 is not zero"),
        }
    }
}

/// Planted bugs, so the loom tests prove they can fail. Compiled only under
/// `cfg(loom)` or the `faults` feature; never in a release build.
#[cfg(any(loom, feature = "faults"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineFault {
    /// Releases a group's outbound items after appending, before the sync.
    ReleaseBeforeSync,
    /// Once the queue is closed, releases the last groups without a sync.
    SkipSyncAfterClose,
    /// Once the queue is closed, drops the popped group: neither released
    /// nor discarded.
    ForgetGroupAfterClose,
    /// `shutdown` joins the thread before closing the queue.
    JoinBeforeClose,
}

/// What the persistence thread did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Batches persisted and released.
    pub batches: u64,
    /// Records appended.
    pub records: u64,
    /// Syncs made (groups that had records).
    pub syncs: u64,
    /// The most batches one sync covered.
    pub max_group: u64,
}

/// A stopped pipeline's parts.
#[derive(Debug)]
pub struct Stopped<S, K> {
    /// The storage, synced.
    pub storage: S,
    /// The sink, every accepted item released.
    pub sink: K,
    /// What the thread did.
    pub stats: PipelineStats,
}

/// Why the pipeline stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Storage failed; nothing after the failure was released.
    #[error("persistence failed after {batches_released} batches: {source}")]
    Storage {
        /// The storage error.
        source: StorageError,
        /// Batches released before it.
        batches_released: u64,
    },
    /// The persistence thread panicked.
    #[error("the persistence thread panicked")]
    Panicked,
}

type Outcome<S, K> = Result<Stopped<S, K>, PipelineError>;

/// A handle that closes the pipeline's queue from another thread (a signal
/// handler, say); the owner then calls [`Pipeline::shutdown`].
#[derive(Debug)]
pub struct Closer<R, O> {
    tx: Sender<Batch<R, O>>,
}

impl<R, O> Closer<R, O> {
    /// Closes the queue: later submits fail; accepted batches still persist.
    pub fn close(&self) {
        self.tx.close();
    }
}

impl<R, O> Clone for Closer<R, O> {
    fn clone(&self) -> Self {
        Closer {
            tx: self.tx.clone(),
        }
    }
}

/// The persistence stage: a queue and the thread that drains it.
#[derive(Debug)]
pub struct Pipeline<R, O, S, K> {
    tx: Sender<Batch<R, O>>,
    thread: Option<JoinHandle<Outcome<S, K>>>,
    #[cfg(any(loom, feature = "faults"))]
    fault: Option<PipelineFault>,
}

impl<R, O, S, K> Pipeline<R, O, S, K>
where
    R: Send + 'static,
    O: Send + 'static,
    S: Storage<R> + Send + 'static,
    K: Sink<O> + Send + 'static,
{
    /// Starts the persistence thread over `storage`, releasing to `sink`.
    pub fn spawn(storage: S, sink: K, config: PipelineConfig) -> Self {
        Self::start(storage, sink, config, None)
    }

    /// [`Pipeline::spawn`] with a planted bug.
    #[cfg(any(loom, feature = "faults"))]
    pub fn spawn_with_fault(
        storage: S,
        sink: K,
        config: PipelineConfig,
        fault: PipelineFault,
    ) -> Self {
        Self::start(storage, sink, config, Some(fault))
    }

    fn start(storage: S, sink: K, config: PipelineConfig, fault: Option<Fault>) -> Self {
        let (tx, rx) = queue::channel(config.queue_batches);
        let max = config.max_batches_per_sync.get();
        let thread = thread::spawn(move || run(rx, storage, sink, max, fault));
        #[cfg(not(any(loom, feature = "faults")))]
        let _: Option<Fault> = fault;
        Pipeline {
            tx,
            thread: Some(thread),
            #[cfg(any(loom, feature = "faults"))]
            fault,
        }
    }

    /// Hands a batch to the persistence thread, waiting while the queue is
    /// full. After close (or a storage failure) it fails with
    /// [`PushError::Closed`] and hands the batch back: its records were not
    /// persisted and its items must not be sent.
    pub fn submit(&self, batch: Batch<R, O>) -> Result<(), PushError<Batch<R, O>>> {
        self.tx.push(batch)
    }

    /// [`Pipeline::submit`] without waiting: fails with [`PushError::Full`]
    /// when the queue is full.
    pub fn try_submit(&self, batch: Batch<R, O>) -> Result<(), PushError<Batch<R, O>>> {
        self.tx.try_push(batch)
    }

    /// A handle that closes the queue from another thread.
    pub fn closer(&self) -> Closer<R, O> {
        Closer {
            tx: self.tx.clone(),
        }
    }

    /// Closes the queue, lets the thread persist and release every accepted
    /// batch, and joins it.
    pub fn shutdown(mut self) -> Outcome<S, K> {
        #[cfg(any(loom, feature = "faults"))]
        if self.fault == Some(PipelineFault::JoinBeforeClose) {
            let outcome = self.join();
            self.tx.close();
            return outcome;
        }
        self.tx.close();
        self.join()
    }

    fn join(&mut self) -> Outcome<S, K> {
        match self.thread.take() {
            Some(handle) => handle.join().unwrap_or(Err(PipelineError::Panicked)),
            // Only `shutdown` and `drop` take the handle, each once.
            None => Err(PipelineError::Panicked),
        }
    }
}

impl<R, O, S, K> Drop for Pipeline<R, O, S, K> {
    fn drop(&mut self) {
        // Dropped without `shutdown` (an early return, a panic): still stop
        // the thread, so it never outlives its owner; accepted batches are
        // persisted and released as in a shutdown.
        self.tx.close();
        if let Some(handle) = self.thread.take() {
            if !thread::panicking() {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(any(loom, feature = "faults"))]
type Fault = PipelineFault;
#[cfg(not(any(loom, feature = "faults")))]
type Fault = std::convert::Infallible;

/// Whether `fault` is planted (always false in a normal build).
fn planted(fault: Option<Fault>, which: fn(&Fault) -> bool) -> bool {
    fault.as_ref().is_some_and(which)
}

/// Appends the group's records (and compacts the log where asked, in order);
/// whether any record was appended.
fn append_group<R, O, S: Storage<R>>(
    storage: &mut S,
    group: &[Batch<R, O>],
) -> Result<bool, StorageError> {
    let mut appended = false;
    for batch in group {
        if let Some(base) = &batch.compact {
            storage.compact(base)?;
        }
        if !batch.records.is_empty() {
            storage.append(&batch.records)?;
            appended = true;
        }
    }
    Ok(appended)
}

fn run<R, O, S: Storage<R>, K: Sink<O>>(
    rx: Receiver<Batch<R, O>>,
    mut storage: S,
    mut sink: K,
    max_batches_per_sync: usize,
    fault: Option<Fault>,
) -> Outcome<S, K> {
    let mut stats = PipelineStats::default();
    let mut group = Vec::with_capacity(max_batches_per_sync);
    loop {
        group.clear();
        if rx.pop_batch(max_batches_per_sync, &mut group) == 0 {
            // Closed and drained: everything accepted was released.
            tracing::info!(
                batches = stats.batches,
                records = stats.records,
                syncs = stats.syncs,
                max_group = stats.max_group,
                "persistence stopped"
            );
            return Ok(Stopped {
                storage,
                sink,
                stats,
            });
        }
        let closed = rx.is_closed();
        if closed && planted(fault, fault_forget_after_close) {
            continue;
        }
        let records: u64 = group.iter().map(|b| b.records.len() as u64).sum();
        let group_len = group.len() as u64;
        let persisted = append_group(&mut storage, &group).and_then(|appended| {
            if planted(fault, fault_release_before_sync) {
                release(&mut sink, &mut group, &mut stats);
            }
            let skip_sync = closed && planted(fault, fault_skip_sync_after_close);
            if appended && !skip_sync {
                // ONE sync for the whole group: group commit.
                storage.sync()?;
                stats.syncs += 1;
            }
            Ok(())
        });
        match persisted {
            Ok(()) => {
                stats.records += records;
                stats.max_group = stats.max_group.max(group_len);
                release(&mut sink, &mut group, &mut stats);
            }
            Err(source) => {
                tracing::error!(error = %source, "persistence failed; discarding unsent items");
                // Nothing more may be accepted, and nothing accepted may be
                // sent: discard this group and everything queued behind it.
                rx.close();
                loop {
                    for batch in group.drain(..) {
                        batch
                            .outbound
                            .into_iter()
                            .for_each(|item| sink.discard(item));
                    }
                    if rx.pop_batch(max_batches_per_sync, &mut group) == 0 {
                        break;
                    }
                }
                return Err(PipelineError::Storage {
                    source,
                    batches_released: stats.batches,
                });
            }
        }
    }
}

fn release<R, O, K: Sink<O>>(
    sink: &mut K,
    group: &mut Vec<Batch<R, O>>,
    stats: &mut PipelineStats,
) {
    for batch in group.drain(..) {
        stats.batches += 1;
        batch
            .outbound
            .into_iter()
            .for_each(|item| sink.release(item));
    }
}

#[cfg(any(loom, feature = "faults"))]
fn fault_forget_after_close(f: &Fault) -> bool {
    *f == PipelineFault::ForgetGroupAfterClose
}
#[cfg(any(loom, feature = "faults"))]
fn fault_release_before_sync(f: &Fault) -> bool {
    *f == PipelineFault::ReleaseBeforeSync
}
#[cfg(any(loom, feature = "faults"))]
fn fault_skip_sync_after_close(f: &Fault) -> bool {
    *f == PipelineFault::SkipSyncAfterClose
}
#[cfg(not(any(loom, feature = "faults")))]
fn fault_forget_after_close(f: &Fault) -> bool {
    match *f {}
}
#[cfg(not(any(loom, feature = "faults")))]
fn fault_release_before_sync(f: &Fault) -> bool {
    match *f {}
}
#[cfg(not(any(loom, feature = "faults")))]
fn fault_skip_sync_after_close(f: &Fault) -> bool {
    match *f {}
}
