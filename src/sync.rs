//! The loom shim: the only module that names `Mutex`, `Condvar`, atomics and
//! `thread`. Under `cfg(loom)` these are loom's, so loom checks the node's real
//! components, not copies of them.

#[cfg(loom)]
pub use loom::sync::{atomic, Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub use loom::thread;

#[cfg(not(loom))]
pub use std::sync::{atomic, Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::thread;

/// Whether a destructor must not touch synchronization primitives: true only
/// under loom while a panic unwinds. Loom reports a failure (a deadlock, a
/// failed assertion) by panicking and tearing down its execution; a loom
/// `Mutex` locked by a destructor during that unwinding panics again, which
/// aborts the process instead of failing the test. With std primitives a
/// destructor always runs in full (it must: closing a queue on unwind is what
/// stops the thread at the other end).
pub fn skip_sync_in_drop() -> bool {
    cfg!(loom) && std::thread::panicking()
}
