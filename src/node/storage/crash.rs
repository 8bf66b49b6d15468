//! [`CrashStorage`]: an in-memory [`Storage`] that models what a power loss
//! does to a file: records appended but not yet synced live in a volatile
//! buffer and are lost on [`CrashStorage::crash`]. A SIGKILL cannot show a
//! missing fsync (the page cache survives it); this double can.
//!
//! It is a shared handle (clones see the same storage), so a test can give
//! it to a node or pipeline and still crash and inspect it. Its lock comes
//! from [`crate::sync`], so loom tests use it too.

use std::fmt;

use super::{Recovered, Storage, StorageError};
use crate::sync::{Arc, Mutex, MutexGuard};

/// Planted bugs and injected failures, so tests can prove their checks fail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrashStorageFaults {
    /// `sync` reports success without making anything durable (a missing
    /// fsync): an acknowledged write is then lost by the next crash.
    pub skip_fsync: bool,
    /// `sync` fails (as a failing disk would); the storage is then failed
    /// and refuses everything until [`CrashStorage::crash`].
    pub fail_sync: bool,
}

struct Inner<R> {
    /// How many of `durable`, at the front, are the compaction base.
    base_len: usize,
    durable: Vec<R>,
    unsynced: Vec<R>,
    faults: CrashStorageFaults,
    failed: bool,
    syncs: u64,
}

/// An in-memory storage that loses unsynced records on a simulated crash.
pub struct CrashStorage<R> {
    inner: Arc<Mutex<Inner<R>>>,
}

impl<R> Clone for CrashStorage<R> {
    fn clone(&self) -> Self {
        CrashStorage {
            inner: self.inner.clone(),
        }
    }
}

impl<R> fmt::Debug for CrashStorage<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("CrashStorage")
            .field("durable", &inner.durable.len())
            .field("unsynced", &inner.unsynced.len())
            .field("faults", &inner.faults)
            .finish_non_exhaustive()
    }
}

impl<R> Default for CrashStorage<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> CrashStorage<R> {
    /// An empty storage without faults.
    pub fn new() -> Self {
        Self::with_faults(CrashStorageFaults::default())
    }

    /// An empty storage with `faults`.
    pub fn with_faults(faults: CrashStorageFaults) -> Self {
        CrashStorage {
            inner: Arc::new(Mutex::new(Inner {
                base_len: 0,
                durable: Vec::new(),
                unsynced: Vec::new(),
                faults,
                failed: false,
                syncs: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<R>> {
        // Every mutation below completes before the guard drops, so a
        // poisoned lock still guards a consistent state.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A simulated power loss: unsynced records are gone. The storage is
    /// usable again afterwards, as a disk is after a reboot.
    pub fn crash(&self) {
        let mut inner = self.lock();
        inner.unsynced.clear();
        inner.failed = false;
    }

    /// Changes the faults from now on.
    pub fn set_faults(&self, faults: CrashStorageFaults) {
        self.lock().faults = faults;
    }

    /// How many records are durable (the compaction base included).
    pub fn durable_len(&self) -> usize {
        self.lock().durable.len()
    }

    /// How many records were appended but not synced.
    pub fn unsynced_len(&self) -> usize {
        self.lock().unsynced.len()
    }

    /// How many successful `sync` calls were made (group commit's measure).
    pub fn sync_count(&self) -> u64 {
        self.lock().syncs
    }
}

impl<R: Clone> CrashStorage<R> {
    /// The durable records (the compaction base first), oldest first.
    pub fn durable_records(&self) -> Vec<R> {
        self.lock().durable.clone()
    }
}

impl<R: Clone> Storage<R> for CrashStorage<R> {
    fn append(&mut self, records: &[R]) -> Result<(), StorageError> {
        let mut inner = self.lock();
        if inner.failed {
            return Err(StorageError::Failed("an injected sync failure".to_string()));
        }
        inner.unsynced.extend_from_slice(records);
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        let mut inner = self.lock();
        if inner.failed {
            return Err(StorageError::Failed("an injected sync failure".to_string()));
        }
        if inner.faults.fail_sync {
            inner.failed = true;
            return Err(StorageError::Injected("sync failed"));
        }
        if !inner.faults.skip_fsync {
            let Inner {
                durable, unsynced, ..
            } = &mut *inner;
            durable.append(unsynced);
        }
        inner.syncs += 1;
        Ok(())
    }

    fn compact(&mut self, base: &[R]) -> Result<(), StorageError> {
        let mut inner = self.lock();
        if inner.failed {
            return Err(StorageError::Failed("an injected sync failure".to_string()));
        }
        // The base replaces every record appended before it, synced or not.
        inner.durable = base.to_vec();
        inner.base_len = base.len();
        inner.unsynced.clear();
        Ok(())
    }

    fn recover(&mut self) -> Result<Recovered<R>, StorageError> {
        let inner = self.lock();
        Ok(Recovered {
            records: inner.durable.clone(),
            base_records: inner.base_len,
            torn_tail: None,
        })
    }
}
