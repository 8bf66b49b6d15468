//! Snapshots: the whole store as deterministic bytes, and back.
//!
//! The encoding is JSON of [`SnapshotV1`]: maps are ordered, so equal stores
//! give equal bytes on every replica. Decoding checks every invariant the store
//! relies on (limits respected, tokens below the counter and distinct), so a
//! corrupt or forged snapshot is a [`RestoreError`], never a store that later
//! misbehaves.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::limits::KvLimits;
use super::locks::{Lease, FIRST_TOKEN};
use super::store::KvStore;
use crate::paxos::RestoreError;

/// The snapshot format's version; a snapshot of another version is refused.
pub const SNAPSHOT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotV1 {
    version: u32,
    limits: KvLimits,
    data: BTreeMap<String, String>,
    leases: BTreeMap<String, Lease>,
    next_token: u64,
}

#[derive(Serialize)]
struct SnapshotRef<'a> {
    version: u32,
    limits: &'a KvLimits,
    data: &'a BTreeMap<String, String>,
    leases: &'a BTreeMap<String, Lease>,
    next_token: u64,
}

pub(crate) fn encode(store: &KvStore) -> Vec<u8> {
    let snapshot = SnapshotRef {
        version: SNAPSHOT_VERSION,
        limits: store.limits(),
        data: store.data(),
        leases: store.leases(),
        next_token: store.next_token(),
    };
    // Serializing string-keyed maps of strings and integers into memory
    // cannot fail; a failure would be a serde_json bug, not a state to handle.
    serde_json::to_vec(&snapshot).expect("a KvStore always serializes to JSON")
}

pub(crate) fn decode(bytes: &[u8]) -> Result<KvStore, RestoreError> {
    let snapshot: SnapshotV1 = serde_json::from_slice(bytes)
        .map_err(|e| RestoreError(format!("kv snapshot is not valid: {e}")))?;
    if snapshot.version != SNAPSHOT_VERSION {
        return Err(RestoreError(format!(
            "kv snapshot has version {}, this build reads version {SNAPSHOT_VERSION}",
            snapshot.version
        )));
    }
    validate(&snapshot)?;
    Ok(KvStore::from_parts(
        snapshot.limits,
        snapshot.data,
        snapshot.leases,
        snapshot.next_token,
    ))
}

fn invalid(what: String) -> RestoreError {
    RestoreError(format!("kv snapshot is inconsistent: {what}"))
}

fn validate(snapshot: &SnapshotV1) -> Result<(), RestoreError> {
    let limits = &snapshot.limits;
    if snapshot.data.len() > limits.max_keys {
        return Err(invalid(format!(
            "{} keys, more than its limit of {}",
            snapshot.data.len(),
            limits.max_keys
        )));
    }
    for (key, value) in &snapshot.data {
        limits
            .check_key(key)
            .and_then(|()| limits.check_value_len(value.len()))
            .map_err(|e| invalid(format!("key {key:?}: {e}")))?;
    }
    if snapshot.leases.len() > limits.max_locks {
        return Err(invalid(format!(
            "{} locks held, more than its limit of {}",
            snapshot.leases.len(),
            limits.max_locks
        )));
    }
    if snapshot.next_token < FIRST_TOKEN {
        return Err(invalid(format!(
            "next token {} is below the first token {FIRST_TOKEN}",
            snapshot.next_token
        )));
    }
    let mut tokens = BTreeSet::new();
    for (lock, lease) in &snapshot.leases {
        limits
            .check_lock_name(lock)
            .and_then(|()| limits.check_owner(&lease.owner))
            .and_then(|()| limits.check_ttl(lease.ttl_ticks))
            .map_err(|e| invalid(format!("lock {lock:?}: {e}")))?;
        if lease.token < FIRST_TOKEN || lease.token >= snapshot.next_token {
            return Err(invalid(format!(
                "lock {lock:?} has token {}, not yet issued (next token {})",
                lease.token, snapshot.next_token
            )));
        }
        if !tokens.insert(lease.token) {
            return Err(invalid(format!(
                "lock {lock:?} has token {}, already held by another lock",
                lease.token
            )));
        }
    }
    Ok(())
}
