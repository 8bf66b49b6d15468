//! The replicated key-value and lock state machine, a deterministic [`crate::paxos::StateMachine`].
//!
//! [`KvStore`] applies [`Command`]s (get, put, cas, append, delete, multi-key
//! transactions, and locks with fencing tokens and leases in log time) and
//! answers each with a [`Response`]. It is deterministic (ordered maps, no
//! clock but the log's `now_ticks`, no randomness) and total (a command over a
//! [`KvLimits`] limit gets [`Response::Rejected`], never a panic). Sessions
//! (exactly-once clients) live in the Paxos core: `apply` sees each command once.
//!
//! - `command`: what the log carries.
//! - `response`: the answers, each definite, with its Jepsen `ok`/`fail`.
//! - `limits`: the bounds every command is checked against.
//! - `store`: the data and `apply`.
//! - `txn`: transactions, planned then committed, so a rejected one changes nothing.
//! - `locks`: leases in log time, expiry through the log, fencing tokens.
//! - `snapshot`: deterministic bytes, and a validating restore.

mod command;
mod limits;
mod locks;
mod response;
mod snapshot;
mod store;
mod txn;

pub use command::{Command, MicroOp};
pub use limits::KvLimits;
pub use locks::{Lease, FIRST_TOKEN};
pub use response::{Outcome, Rejection, Response};
pub use snapshot::SNAPSHOT_VERSION;
pub use store::KvStore;
