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
