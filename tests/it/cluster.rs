//! Real `synod node` processes on loopback, 3 nodes: crashes, damaged
//! storage, lagging and wiped nodes, hostile bytes on the ports, and the
//! `synod bench` command. Every wait is bounded; the cluster's Drop kills its
//! processes, also when a test panics.
//!
//! (The storage double's tests, "a crash loses only unsynced writes" and "a
//! node that skipped its fsync is caught", live in `storage`.)

mod bench;
mod catch_up;
mod durability;
mod hostile;
mod storage_faults;
mod support;
