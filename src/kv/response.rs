//! The answers of the state machine.
//!
//! Every response is definite: the command was chosen and applied, and the
//! response says exactly what it did. Indefinite outcomes (a timeout, a lost
//! leader) are the node's and the client's business, never the state
//! machine's. [`Response::outcome`] maps each answer to Jepsen's `ok` or
//! `fail`.

use serde::{Deserialize, Serialize};

/// The answer to a [`Command`](super::Command).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Response {
    /// A get found the key: its value. (`ok`)
    Value(String),
    /// A get or delete found no such key; nothing changed. A get that reads
    /// "absent" and a delete of an absent key both succeeded. (`ok`)
    NotFound,
    /// A put, append, delete, successful cas, renew or release took effect. (`ok`)
    Ok,
    /// A cas found another value (`None`: the key is absent); nothing
    /// changed. (`fail`)
    CasMismatch {
        /// The value the key has.
        current: Option<String>,
    },
    /// A transaction took effect: one entry per micro-op, in order, with the
    /// key's value just after it (a read: what it read, `None` for absent; a
    /// write: the value written), as Jepsen fills in a completed txn. (`ok`)
    Txn(Vec<Option<String>>),
    /// An acquire took the lock: its fencing token, larger than every token
    /// this store issued before. (`ok`)
    Token(u64),
    /// An acquire found the lock held (possibly by the same owner, under an
    /// earlier acquire); nothing changed. (`fail`)
    Held {
        /// The holder.
        owner: String,
        /// The holder's fencing token.
        token: u64,
    },
    /// A renew or release found the lock free (released, or expired);
    /// nothing changed. (`fail`)
    NotHeld,
    /// A renew or release named another owner than the holder; nothing
    /// changed. (`fail`)
    NotOwner {
        /// The holder.
        owner: String,
    },
    /// A renew or release named the holder but not its current token (it
    /// comes from an earlier lease of the same owner); nothing changed. (`fail`)
    StaleToken {
        /// The current lease's token.
        current: u64,
    },
    /// An expire ended the lease. (`ok`)
    Expired,
    /// An expire found the lease already gone, renewed, or not yet past its
    /// deadline; nothing changed. This is the expected answer to a late or
    /// repeated expiry. (`fail`)
    NotExpired,
    /// The command crossed a limit or was malformed; nothing changed. (`fail`)
    Rejected(Rejection),
}

/// Why a command was rejected. Each rejection changes nothing.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, thiserror::Error,
)]
pub enum Rejection {
    /// A key is longer than `max_key_bytes`.
    #[error("key of {len} bytes is longer than the limit of {max}")]
    KeyTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value, or the result of an append, is longer than `max_value_bytes`.
    #[error("value of {len} bytes is longer than the limit of {max}")]
    ValueTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The command would create a key when `max_keys` are present.
    #[error("the store already holds its limit of {max} keys")]
    TooManyKeys {
        /// The limit.
        max: usize,
    },
    /// A transaction has more than `max_txn_ops` micro-ops.
    #[error("transaction of {len} micro-ops is longer than the limit of {max}")]
    TxnTooLong {
        /// Its number of micro-ops.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// One micro-op of a transaction was rejected, so the whole transaction was.
    #[error("micro-op {index} of the transaction: {cause}")]
    InTxn {
        /// The 0-based position of the micro-op.
        index: usize,
        /// Why it was rejected.
        cause: Box<Rejection>,
    },
    /// A lock name is longer than `max_key_bytes`.
    #[error("lock name of {len} bytes is longer than the limit of {max}")]
    LockNameTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An owner is longer than `max_key_bytes`.
    #[error("owner of {len} bytes is longer than the limit of {max}")]
    OwnerTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An acquire would hold more than `max_locks` locks at once.
    #[error("the store already holds its limit of {max} locks")]
    TooManyLocks {
        /// The limit.
        max: usize,
    },
    /// A lease of zero ticks or of more than `max_ttl_ticks`.
    #[error("lease of {ttl_ticks} ticks is outside 1..={max}")]
    TtlOutOfRange {
        /// The requested lease.
        ttl_ticks: u64,
        /// The limit.
        max: u64,
    },
    /// Every fencing token has been issued (2^64 - 2 acquires): tokens are
    /// never reused, so no lock can be taken any more.
    #[error("fencing tokens exhausted")]
    TokensExhausted,
}

/// What a response means to a client recording a history (Jepsen's `type`).
/// Both are definite: the state machine never answers "maybe".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// The operation took effect (or, for a read, observed the state).
    Ok,
    /// The operation did not take effect.
    Fail,
}

impl Response {
    /// `ok` or `fail`, as documented on each variant.
    pub fn outcome(&self) -> Outcome {
        match self {
            Response::Value(_)
            | Response::NotFound
            | Response::Ok
            | Response::Txn(_)
            | Response::Token(_)
            | Response::Expired => Outcome::Ok,
            Response::CasMismatch { .. }
            | Response::Held { .. }
            | Response::NotHeld
            | Response::NotOwner { .. }
            | Response::StaleToken { .. }
            | Response::NotExpired
            | Response::Rejected(_) => Outcome::Fail,
        }
    }
}

impl From<Rejection> for Response {
    fn from(rejection: Rejection) -> Self {
        Response::Rejected(rejection)
    }
}
