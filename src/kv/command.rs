//! The commands the log carries.

use serde::{Deserialize, Serialize};

/// A command of the key-value and lock service. Each is applied atomically, as
/// one log entry, by [`KvStore`](super::KvStore).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Command {
    /// Reads `key`: [`Response::Value`](super::Response::Value) or
    /// [`Response::NotFound`](super::Response::NotFound).
    Get {
        /// The key to read.
        key: String,
    },
    /// Sets `key` to `value`, creating it if absent.
    Put {
        /// The key to write.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Compare-and-set: sets `key` to `new` if its current value is `expected`.
    /// `expected: None` means "the key is absent", so a cas can create a key
    /// exactly once (the usual create-if-absent primitive); the current value
    /// comes back in [`Response::CasMismatch`](super::Response::CasMismatch)
    /// otherwise.
    Cas {
        /// The key to compare and set.
        key: String,
        /// The value it must have (`None`: it must be absent).
        expected: Option<String>,
        /// Its new value.
        new: String,
    },
    /// Appends `value` to the value of `key` (an absent key counts as the
    /// empty string, so the first append creates it).
    Append {
        /// The key to append to.
        key: String,
        /// The suffix.
        value: String,
    },
    /// Removes `key`.
    Delete {
        /// The key to remove.
        key: String,
    },
    /// A transaction: the micro-ops run in order, each read seeing the writes
    /// before it, and take effect all together or not at all.
    Txn(Vec<MicroOp>),
    /// Takes `lock` for `owner` for `ttl_ticks` of log time. The answer is a
    /// fencing token ([`Response::Token`](super::Response::Token)), larger than
    /// every token issued before, or [`Response::Held`](super::Response::Held).
    Acquire {
        /// The lock's name.
        lock: String,
        /// Who takes it.
        owner: String,
        /// How long the lease lasts without renewal, in ticks of log time.
        ttl_ticks: u64,
    },
    /// Extends the lease of `owner` on `lock` under `token` by its ttl,
    /// counted from now in log time.
    Renew {
        /// The lock's name.
        lock: String,
        /// Its holder.
        owner: String,
        /// The fencing token the holder got from its acquire.
        token: u64,
    },
    /// Gives `lock` up.
    Release {
        /// The lock's name.
        lock: String,
        /// Its holder.
        owner: String,
        /// The fencing token the holder got from its acquire.
        token: u64,
    },
    /// Ends a lease whose owner stopped renewing. The leader proposes it from
    /// [`tick_commands`](crate::paxos::StateMachine::tick_commands); it takes
    /// effect only if `lock` is still held under `token` with exactly this
    /// deadline and the deadline has passed in log time, so it is harmless
    /// when chosen late, twice, or after a renewal.
    Expire {
        /// The lock's name.
        lock: String,
        /// The token of the lease to end.
        token: u64,
        /// The lease's deadline when the leader saw it, in ticks of log time.
        deadline_ticks: u64,
    },
}

/// One step of a [`Command::Txn`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MicroOp {
    /// Reads `key` (Jepsen's `r`).
    Read {
        /// The key to read.
        key: String,
    },
    /// Writes `value` to `key` (Jepsen's `w`).
    Write {
        /// The key to write.
        key: String,
        /// Its new value.
        value: String,
    },
}

impl MicroOp {
    /// The key this micro-op touches.
    pub fn key(&self) -> &str {
        match self {
            MicroOp::Read { key } | MicroOp::Write { key, .. } => key,
        }
    }
}

impl Command {
    /// Whether the command never changes the state, so that it may be answered
    /// by [`query`](crate::paxos::StateMachine::query) after a read index
    /// instead of going through the log: a get or a transaction of reads only.
    pub fn is_read_only(&self) -> bool {
        match self {
            Command::Get { .. } => true,
            Command::Txn(ops) => ops.iter().all(|op| matches!(op, MicroOp::Read { .. })),
            _ => false,
        }
    }
}
