//! The compaction base: what replaces the log when the core emits a snapshot.
//!
//! [`Storage::compact`](crate::node::storage::Storage::compact) replaces every
//! record written so far by a shorter list that, replayed by
//! [`Replica::recover`](crate::paxos::Replica::recover), leaves the replica
//! where the full log did. The core thread keeps a mirror of the log since
//! the last compaction (bounded by the snapshot interval: every snapshot
//! folds it) and folds it here.
//!
//! What must survive (the acceptor's promises above all, Paxos Made Simple
//! section 2.3: a promise forgotten can be broken):
//! - the highest ballot promised. An accept in ballot `b` implies a promise
//!   of `b`, so the ballots of the accepts dropped below the snapshot are
//!   folded into it: dropping an accept must never lower the promise;
//! - the last amnesia mark (recovery honours the last one);
//! - the snapshot with the highest `upto`;
//! - accepts and chosen values of slots at or above that `upto`, in order.

use std::sync::Arc;

use crate::kv::KvStore;
use crate::paxos::{Ballot, Record, SnapshotImage};

/// Folds `log` (every record since the last compaction, oldest first, the
/// previous base included) and the new `snapshot` into the base that
/// replaces them.
pub fn compaction_base(
    log: &[Record<KvStore>],
    snapshot: &Arc<SnapshotImage<KvStore>>,
) -> Vec<Record<KvStore>> {
    let mut newest = snapshot.clone();
    for record in log {
        if let Record::Snapshot(image) = record {
            if image.upto > newest.upto {
                newest = image.clone();
            }
        }
    }
    let upto = newest.upto;
    let mut promised: Option<Ballot> = None;
    let mut amnesia: Option<bool> = None;
    let mut kept = Vec::new();
    let raise = |promised: &mut Option<Ballot>, ballot: Ballot| {
        *promised = Some(promised.map_or(ballot, |p| p.max(ballot)));
    };
    for record in log {
        match record {
            Record::Promise { ballot } => raise(&mut promised, *ballot),
            Record::Amnesia { voting } => amnesia = Some(*voting),
            Record::Accept { slot, ballot, .. } => {
                if *slot >= upto {
                    kept.push(record.clone());
                } else {
                    raise(&mut promised, *ballot);
                }
            }
            Record::Chosen { slot, .. } => {
                if *slot >= upto {
                    kept.push(record.clone());
                }
            }
            Record::Snapshot(_) => {}
        }
    }
    let mut base = Vec::with_capacity(kept.len() + 3);
    if let Some(voting) = amnesia {
        base.push(Record::Amnesia { voting });
    }
    if let Some(ballot) = promised {
        base.push(Record::Promise { ballot });
    }
    base.push(Record::Snapshot(newest));
    base.extend(kept);
    base
}
