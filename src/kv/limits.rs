//! The store's limits. Every command that would cross one gets a
//! [`Rejection`](super::Rejection) response and changes nothing.
//!
//! The limits are part of the replicated state (they travel in the snapshot):
//! two replicas with different limits would answer the same command
//! differently, and the logs would diverge in meaning.

use serde::{Deserialize, Serialize};

use super::response::Rejection;

/// Bounds on the store's size and on each command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KvLimits {
    /// Longest key, lock name and owner, in bytes (UTF-8).
    pub max_key_bytes: usize,
    /// Longest value, in bytes, including the result of an append.
    pub max_value_bytes: usize,
    /// Most keys present at once.
    pub max_keys: usize,
    /// Most micro-ops in one transaction.
    pub max_txn_ops: usize,
    /// Most locks held at once (a free lock takes no space: fencing tokens
    /// come from one store-wide counter, so nothing per lock must be kept).
    pub max_locks: usize,
    /// Longest lease, in ticks of log time. A lease needs at least one tick.
    pub max_ttl_ticks: u64,
    /// Most expiry commands [`tick_commands`](crate::paxos::StateMachine::tick_commands)
    /// returns at once; the others come on the next ticks, earliest deadline
    /// first, so a burst of expiries cannot produce an unbounded proposal.
    pub max_expiries_per_tick: usize,
}

impl Default for KvLimits {
    /// Limits for a real node: 1 KiB keys, 64 KiB values, a million keys,
    /// 128-op transactions, 100,000 held locks, leases up to 2^32 ticks.
    fn default() -> Self {
        KvLimits {
            max_key_bytes: 1024,
            max_value_bytes: 64 * 1024,
            max_keys: 1_000_000,
            max_txn_ops: 128,
            max_locks: 100_000,
            max_ttl_ticks: 1 << 32,
            max_expiries_per_tick: 1024,
        }
    }
}

impl KvLimits {
    /// Checks a key's length.
    pub fn check_key(&self, key: &str) -> Result<(), Rejection> {
        if key.len() > self.max_key_bytes {
            return Err(Rejection::KeyTooLong {
                len: key.len(),
                max: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Checks a value's length (for an append: the length of the result).
    pub fn check_value_len(&self, len: usize) -> Result<(), Rejection> {
        if len > self.max_value_bytes {
            return Err(Rejection::ValueTooLong {
                len,
                max: self.max_value_bytes,
            });
        }
        Ok(())
    }

    /// Checks a lock name's length.
    pub fn check_lock_name(&self, lock: &str) -> Result<(), Rejection> {
        if lock.len() > self.max_key_bytes {
            return Err(Rejection::LockNameTooLong {
                len: lock.len(),
                max: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Checks an owner's length.
    pub fn check_owner(&self, owner: &str) -> Result<(), Rejection> {
        if owner.len() > self.max_key_bytes {
            return Err(Rejection::OwnerTooLong {
                len: owner.len(),
                max: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Checks a lease's length: at least one tick, at most `max_ttl_ticks`.
    pub fn check_ttl(&self, ttl_ticks: u64) -> Result<(), Rejection> {
        if ttl_ticks == 0 || ttl_ticks > self.max_ttl_ticks {
            return Err(Rejection::TtlOutOfRange {
                ttl_ticks,
                max: self.max_ttl_ticks,
            });
        }
        Ok(())
    }
}
