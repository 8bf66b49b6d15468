//! The rules of Paxos Made Simple (Lamport, 2001), each test citing the one
//! it checks, in the style of etcd raft's `raft_paper_test.go`; then the
//! rules synod adds (snapshots, amnesia, read index, sessions).

use std::sync::Arc;

use synod::paxos::{
    Ballot, ClientRequest, Config, Entry, Input, Message, NodeId, Proposal, ReadMode, Ready,
    Record, Replica, SharedEntry,
};
use synod::sim::{AppendCommand, AppendLog, Lockstep};

pub(super) fn config(id: NodeId) -> Config {
    Config::new(id, [1, 2, 3]).expect("valid")
}

pub(super) fn ballot(round: u64, node: NodeId) -> Ballot {
    Ballot { round, node }
}

pub(super) fn entry(v: u64) -> SharedEntry<AppendCommand> {
    Arc::new(Entry {
        log_ticks: 0,
        proposals: vec![Proposal::Client {
            client_id: 1,
            seq: v,
            command: AppendCommand::Append(v),
        }],
    })
}

pub(super) fn from(from: NodeId, message: Message<AppendLog>) -> Input<AppendLog> {
    Input::Message { from, message }
}

pub(super) fn write(client_id: u64, seq: u64, v: u64) -> ClientRequest<AppendCommand> {
    ClientRequest {
        client_id,
        seq,
        command: AppendCommand::Append(v),
        read_mode: ReadMode::ReadIndex,
    }
}

pub(super) fn read(client_id: u64, seq: u64, mode: ReadMode) -> ClientRequest<AppendCommand> {
    ClientRequest {
        client_id,
        seq,
        command: AppendCommand::Read,
        read_mode: mode,
    }
}

fn sent(ready: &Ready<AppendLog>) -> Vec<&Message<AppendLog>> {
    ready.messages.iter().map(|(_, m)| m).collect()
}

/// Ticks `r` until it stands for election; returns its ballot.
pub(super) fn stand(r: &mut Replica<AppendLog>) -> Ballot {
    for _ in 0..1000 {
        let ready = r.step(Input::Tick);
        for (_, m) in &ready.messages {
            if let Message::Prepare { ballot, .. } = m {
                return *ballot;
            }
        }
    }
    panic!("replica never stood for election");
}

/// P1a: "An acceptor can accept a proposal numbered n iff it has not
/// responded to a prepare request having a number greater than n."
#[test]
fn p1a_acceptor_accepts_iff_no_higher_prepare_answered() {
    let mut a = Replica::new(config(2), AppendLog::default()).unwrap();
    let ready = a.step(from(
        1,
        Message::Prepare {
            recovery: None,
            ballot: ballot(5, 1),
            first_slot: 0,
        },
    ));
    assert!(matches!(sent(&ready)[..], [Message::Promise { ballot: b, .. }] if *b == ballot(5, 1)));

    // Lower than the promise: refused, nothing recorded.
    let ready = a.step(from(
        3,
        Message::Accept {
            ballot: ballot(3, 3),
            slot: 0,
            entry: entry(7),
            chosen_upto: 0,
        },
    ));
    assert!(ready.persist.is_empty());
    assert_eq!(
        sent(&ready),
        vec![&Message::Nack {
            ballot: ballot(3, 3),
            promised: ballot(5, 1)
        }]
    );

    // Equal to the promise, then higher: accepted.
    for b in [ballot(5, 1), ballot(6, 3)] {
        let ready = a.step(from(
            b.node,
            Message::Accept {
                ballot: b,
                slot: 0,
                entry: entry(b.round),
                chosen_upto: 0,
            },
        ));
        assert_eq!(
            sent(&ready),
            vec![&Message::Accepted { ballot: b, slot: 0 }]
        );
    }
}

/// P1a across a restart: the promise is a record of the step that sends it,
/// so a replica recovered from its records still refuses lower ballots.
#[test]
fn p1a_promise_is_persisted_with_the_step_and_survives_restart() {
    let mut a = Replica::new(config(2), AppendLog::default()).unwrap();
    let ready = a.step(from(
        1,
        Message::Prepare {
            recovery: None,
            ballot: ballot(5, 1),
            first_slot: 0,
        },
    ));
    assert_eq!(
        ready.persist,
        vec![Record::Promise {
            ballot: ballot(5, 1)
        }]
    );
    let mut b = Replica::recover(config(2), AppendLog::default(), ready.persist).unwrap();
    assert_eq!(b.status().ballot, ballot(5, 1));
    let ready = b.step(from(
        3,
        Message::Accept {
            ballot: ballot(4, 3),
            slot: 0,
            entry: entry(1),
            chosen_upto: 0,
        },
    ));
    assert!(matches!(sent(&ready)[..], [Message::Nack { .. }]));
}

/// The accepted value is recorded in the step that acknowledges it, before
/// the `Accepted` may leave.
#[test]
fn acceptance_is_persisted_with_the_step_that_acknowledges_it() {
    let mut a = Replica::new(config(2), AppendLog::default()).unwrap();
    let ready = a.step(from(
        1,
        Message::Accept {
            ballot: ballot(1, 1),
            slot: 3,
            entry: entry(9),
            chosen_upto: 0,
        },
    ));
    assert_eq!(
        ready.persist,
        vec![
            // The promise an accept implies has its own record, so compacting
            // accept records under a snapshot cannot lose it.
            Record::Promise {
                ballot: ballot(1, 1)
            },
            Record::Accept {
                slot: 3,
                ballot: ballot(1, 1),
                entry: entry(9)
            },
        ]
    );
    assert_eq!(
        sent(&ready),
        vec![&Message::Accepted {
            ballot: ballot(1, 1),
            slot: 3
        }]
    );
}

/// Feeds candidate `r` (ballot `b`) promises from 2 and 3 and returns the
/// accepts it then sends, by slot.
/// A promise: its sender, snapshot bound and accepted values.
type PromiseFrom = (NodeId, u64, Vec<(u64, Ballot, SharedEntry<AppendCommand>)>);

fn accepts_after_promises(
    r: &mut Replica<AppendLog>,
    b: Ballot,
    promises: [PromiseFrom; 2],
) -> Vec<(u64, SharedEntry<AppendCommand>)> {
    let mut accepts = Vec::new();
    for (node, snapshot_upto, accepted) in promises {
        let ready = r.step(from(
            node,
            Message::Promise {
                recovery: None,
                ballot: b,
                snapshot_upto,
                accepted,
            },
        ));
        for (to, m) in ready.messages {
            if let Message::Accept { slot, entry, .. } = m {
                if to == 2 {
                    accepts.push((slot, entry));
                }
            }
        }
    }
    accepts
}

/// P2c: "if a proposal with value v and number n is issued, then there is a
/// set S consisting of a majority of acceptors such that either no acceptor
/// in S has accepted any proposal numbered less than n, or v is the value of
/// the highest-numbered proposal among all proposals numbered less than n
/// accepted by the acceptors in S." Here S = {1, 3}: replica 1 accepted
/// nothing, replica 3 accepted 20 at slot 0, so slot 0 gets 20.
#[test]
fn p2c_new_leader_proposes_the_value_a_majority_reports() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let ready = r.step(from(
        3,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![(0, ballot(1, 3), entry(20))],
        },
    ));
    assert!(r.status().is_leader, "own promise and 3's make a majority");
    let accepts: Vec<_> = ready
        .messages
        .iter()
        .filter_map(|(to, m)| match m {
            Message::Accept {
                slot,
                entry,
                ballot: ab,
                ..
            } if *to == 3 => Some((*slot, entry.clone(), *ab)),
            _ => None,
        })
        .collect();
    assert_eq!(accepts, vec![(0, entry(20), b)]);
    // A late promise from 2 reporting another value changes nothing: phase 1
    // is over for this ballot.
    let ready = r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![(0, ballot(0, 2), entry(99))],
        },
    ));
    assert!(ready
        .messages
        .iter()
        .all(|(_, m)| !matches!(m, Message::Accept { .. })));
}

/// P2c with the whole quorum's reports: the highest ballot wins per slot, and
/// a gap below the highest reported slot is filled with a no-op.
#[test]
fn p2c_highest_ballot_wins_and_gaps_are_noops() {
    let mut r = Replica::new(
        Config {
            quorums: synod::paxos::Quorums::flexible(3, 3, 2).unwrap(),
            ..config(1)
        },
        AppendLog::default(),
    )
    .unwrap();
    let b = stand(&mut r);
    let accepts: std::collections::BTreeMap<_, _> = accepts_after_promises(
        &mut r,
        b,
        [
            (
                2,
                0,
                vec![(0, ballot(1, 2), entry(10)), (2, ballot(1, 2), entry(12))],
            ),
            (3, 0, vec![(0, ballot(2, 3), entry(20))]),
        ],
    )
    .into_iter()
    .collect();
    assert!(r.status().is_leader);
    assert_eq!(accepts.get(&0), Some(&entry(20)), "highest ballot's value");
    assert!(accepts[&1].proposals.is_empty(), "unreported slot: a no-op");
    assert_eq!(accepts.get(&2), Some(&entry(12)));
    assert_eq!(accepts.len(), 3);
}

/// The planted bug `skip_adopt_highest_accepted` breaks P2c: the test above
/// would see a no-op where a reported value must be.
#[cfg(feature = "faults")]
#[test]
fn p2c_is_broken_by_skip_adopt_fault() {
    let mut c = Config {
        quorums: synod::paxos::Quorums::flexible(3, 3, 2).unwrap(),
        ..config(1)
    };
    c.faults.skip_adopt_highest_accepted = true;
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let accepts: std::collections::BTreeMap<_, _> = accepts_after_promises(
        &mut r,
        b,
        [
            (2, 0, vec![(0, ballot(1, 2), entry(10))]),
            (3, 0, vec![(0, ballot(2, 3), entry(20))]),
        ],
    )
    .into_iter()
    .collect();
    assert_ne!(accepts.get(&0), Some(&entry(20)));
}

/// "Only a value that has been proposed may be chosen": every command
/// learned anywhere was submitted by a client (no-ops carry none).
#[test]
fn only_a_proposed_value_may_be_chosen() {
    let mut c = Lockstep::new(3, AppendLog::default(), |_| {}).unwrap();
    assert!(c.elect(1));
    let submitted: Vec<u64> = (1..=50).collect();
    for v in &submitted {
        c.request(1, write(7, *v, *v));
    }
    c.deliver_all(1_000_000);
    c.tick_all();
    for id in 1..=3 {
        let r = c.replica(id).unwrap();
        assert_eq!(r.status().applied_upto, r.status().chosen_upto);
        for (_, e) in r.learned() {
            for p in &e.proposals {
                let Proposal::Client {
                    command: AppendCommand::Append(v),
                    ..
                } = p
                else {
                    panic!("unexpected proposal {p:?}");
                };
                assert!(submitted.contains(v));
            }
        }
        assert_eq!(r.state().values, submitted, "replica {id}");
    }
}

/// "Only a single value is chosen": a leader cut off mid-proposal and a new
/// leader elected behind its back still agree, per slot, once healed.
#[test]
fn only_a_single_value_is_chosen_across_a_leader_change() {
    let mut c = Lockstep::new(3, AppendLog::default(), |_| {}).unwrap();
    assert!(c.elect(1));
    c.request(1, write(1, 1, 100));
    c.deliver_all(1_000_000);
    // Replica 1 proposes slot 1; only replica 2 accepts it, and its answer is
    // lost: not chosen, as far as anyone knows.
    c.set_cut(1, 3, true);
    c.request(1, write(1, 2, 200));
    assert!(c.deliver_one());
    c.set_cut(1, 2, true);
    c.deliver_all(1_000_000);
    assert_eq!(c.replica(1).unwrap().status().chosen_upto, 1);
    // Replica 3 takes over with replica 2 and proposes its own value.
    assert!(c.elect(3));
    c.request(3, write(2, 1, 300));
    c.deliver_all(1_000_000);
    c.set_cut(1, 2, false);
    c.set_cut(1, 3, false);
    for _ in 0..30 {
        c.tick_all();
    }
    let logs: Vec<Vec<u64>> = (1..=3)
        .map(|id| c.replica(id).unwrap().state().values.clone())
        .collect();
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[1], logs[2]);
    // Replica 2 accepted 200 at slot 1; P2c made replica 3 adopt it.
    assert_eq!(logs[0], vec![100, 200, 300]);
}
