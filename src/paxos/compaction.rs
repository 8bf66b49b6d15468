//! The compaction base: what replaces a replica's persisted records when it
//! emits a snapshot.
//!
//! A driver that compacts its storage at a snapshot (the node's
//! `Storage::compact`, the simulator's disk) replaces every record written so
//! far by this shorter list, which, replayed by [`Replica::recover`](super::Replica::recover), leaves
//! the replica where the full log did. Which records must survive is a
//! protocol rule, so it lives here, once, and every driver uses it.
//!
//! What must survive (the acceptor's promises above all, Paxos Made Simple
//! section 2.3: a promise forgotten can be broken):
//! - the highest ballot promised. An accept in ballot `b` implies a promise
//!   of `b`, so the ballots of the accepts dropped below the snapshot are
//!   folded into it: dropping an accept must never lower the promise;
//! - the last amnesia mark (recovery honours the last one);
//! - the highest ballot an amnesiac stood with (it must never stand with it
//!   again);
//! - the snapshot with the highest `upto`;
//! - accepts and chosen values of slots at or above that `upto`, in order.

use std::sync::Arc;

use super::{Ballot, Record, SnapshotImage, StateMachine};

/// Folds `log` (every record since the last compaction, oldest first, the
/// previous base included) and the new `snapshot` into the base that
/// replaces them.
pub fn compaction_base<S: StateMachine>(
    log: &[Record<S>],
    snapshot: &Arc<SnapshotImage<S>>,
) -> Vec<Record<S>> {
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
    let mut stood: Option<Ballot> = None;
    let mut kept = Vec::new();
    let raise = |promised: &mut Option<Ballot>, ballot: Ballot| {
        *promised = Some(promised.map_or(ballot, |p| p.max(ballot)));
    };
    for record in log {
        match record {
            Record::Promise { ballot } => raise(&mut promised, *ballot),
            Record::Amnesia { voting } => amnesia = Some(*voting),
            Record::Stood { ballot } => raise(&mut stood, *ballot),
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
    let mut base = Vec::with_capacity(kept.len() + 4);
    if let Some(voting) = amnesia {
        base.push(Record::Amnesia { voting });
    }
    if let Some(ballot) = promised {
        base.push(Record::Promise { ballot });
    }
    if let Some(ballot) = stood {
        base.push(Record::Stood { ballot });
    }
    base.push(Record::Snapshot(newest));
    base.extend(kept);
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{Command, KvLimits, KvStore};
    use crate::paxos::{ClientRequest, Config, Input, ReadMode, Replica, SharedEntry};

    type R = Replica<KvStore>;

    fn initial() -> KvStore {
        KvStore::new(KvLimits::default())
    }

    /// Drives a one-replica cluster through elections, writes and several
    /// snapshots; returns every record it asked to persist, in order.
    fn records_of_a_run(snapshot_interval: u64) -> Vec<Record<KvStore>> {
        let mut config = Config::new(1, [1]).unwrap();
        config.snapshot_interval = snapshot_interval;
        let mut replica = R::new(config, initial()).unwrap();
        let mut all = Vec::new();
        let mut step = |r: &mut R, input| all.extend(r.step(input).persist);
        while !replica.status().is_leader {
            step(&mut replica, Input::Tick);
        }
        for seq in 1..=40u64 {
            let command = Command::Put {
                key: format!("k{}", seq % 7),
                value: format!("v{seq}"),
            };
            let request = ClientRequest {
                client_id: 9,
                seq,
                command,
                read_mode: ReadMode::ReadIndex,
            };
            step(&mut replica, Input::Request(request));
            step(&mut replica, Input::Tick);
        }
        all
    }

    /// What the core thread writes: every snapshot replaces the log so far
    /// by its base.
    fn compacted(all: &[Record<KvStore>]) -> Vec<Record<KvStore>> {
        let mut log = Vec::new();
        for record in all {
            match record {
                Record::Snapshot(image) => log = compaction_base(&log, image),
                other => log.push(other.clone()),
            }
        }
        log
    }

    fn learned(r: &R) -> Vec<(u64, SharedEntry<Command>)> {
        r.learned().map(|(s, e)| (s, e.clone())).collect()
    }

    #[test]
    fn replaying_the_compacted_log_restores_the_replica_the_full_log_does() {
        let all = records_of_a_run(4);
        let snapshots = all
            .iter()
            .filter(|r| matches!(r, Record::Snapshot(_)))
            .count();
        assert!(snapshots >= 5, "the run took {snapshots} snapshots");
        let short = compacted(&all);
        assert!(
            short.len() < all.len() / 2,
            "{} of {}",
            short.len(),
            all.len()
        );
        let config = Config::new(1, [1]).unwrap();
        let full = R::recover(config.clone(), initial(), all).unwrap();
        let folded = R::recover(config, initial(), short).unwrap();
        assert_eq!(full.status(), folded.status());
        assert_eq!(full.state(), folded.state());
        assert_eq!(learned(&full), learned(&folded));
        assert_eq!(full.state().get("k5"), Some("v40"));
    }

    #[test]
    fn an_accept_dropped_below_the_snapshot_still_raises_the_promise() {
        let high = Ballot { round: 7, node: 2 };
        let entry: SharedEntry<Command> = Arc::new(crate::paxos::Entry::noop(0));
        let log = vec![
            Record::Promise {
                ballot: Ballot { round: 3, node: 1 },
            },
            Record::Accept {
                slot: 0,
                ballot: high,
                entry,
            },
        ];
        let config = Config::new(1, [1, 2, 3]).unwrap();
        // A snapshot covering slot 0, as the core would record it.
        let image = Arc::new(SnapshotImage {
            upto: 1,
            log_ticks: 0,
            sessions: Default::default(),
            state: crate::paxos::StateMachine::snapshot(&initial()),
        });
        let base = compaction_base(&log, &image);
        assert!(base.contains(&Record::Promise { ballot: high }), "{base:?}");
        // The naive fold (keep only Promise records) would forget it: the
        // recovered acceptor could then promise a lower ballot.
        let naive: Vec<_> = log
            .iter()
            .filter(|r| matches!(r, Record::Promise { .. }))
            .cloned()
            .chain([Record::Snapshot(image.clone())])
            .collect();
        let naive = R::recover(config.clone(), initial(), naive).unwrap();
        let folded = R::recover(config, initial(), base).unwrap();
        assert_eq!(folded.status().ballot, high);
        assert!(naive.status().ballot < high);
    }

    /// The base keeps the snapshot with the highest `upto`, whether it is the
    /// new one or one already in the log (a driver that compacts late may
    /// have a newer snapshot, say one installed from a peer, in its log).
    #[test]
    fn the_base_keeps_the_highest_snapshot_wherever_it_comes_from() {
        let image = |upto| {
            Arc::new(SnapshotImage {
                upto,
                log_ticks: 0,
                sessions: Default::default(),
                state: crate::paxos::StateMachine::snapshot(&initial()),
            })
        };
        let snapshots = |base: &[Record<KvStore>]| -> Vec<u64> {
            base.iter()
                .filter_map(|r| match r {
                    Record::Snapshot(i) => Some(i.upto),
                    _ => None,
                })
                .collect()
        };
        let log = vec![Record::Snapshot(image(20))];
        assert_eq!(snapshots(&compaction_base(&log, &image(10))), vec![20]);
        assert_eq!(snapshots(&compaction_base(&log, &image(30))), vec![30]);
    }
}
