//! The node's storage: the WAL's framing and recovery rules, snapshots and
//! truncation, the crash double, the data directory's lock and identity, and
//! the persistence pipeline over real files.

mod core_records;
mod datadir;
mod pipeline;
mod promised;
mod wal;
mod wal_props;
