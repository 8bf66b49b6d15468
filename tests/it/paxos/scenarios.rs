//! Scripted scenarios on the lockstep cluster: reads, sessions, limits,
//! malformed input, snapshots, amnesia and restarts.

use std::sync::Arc;

use synod::paxos::{ClientReply, Entry, Input, Message, Outcome, Proposal, ReadMode, Replica};
use synod::sim::{AppendCommand, AppendLog, AppendResponse, Lockstep};

use super::rules::{ballot, config, entry, from, read, stand, write};

fn cluster() -> Lockstep<AppendLog> {
    let mut c = Lockstep::new(3, AppendLog::default(), |_| {}).unwrap();
    assert!(c.elect(1));
    c
}

fn replies_to(
    c: &Lockstep<AppendLog>,
    client: u64,
    seq: u64,
) -> Vec<(u64, ClientReply<AppendResponse>)> {
    c.replies
        .iter()
        .filter(|(_, r)| r.client_id == client && r.seq == seq)
        .cloned()
        .collect()
}

#[test]
fn read_index_answers_only_after_a_quorum_confirms_leadership() {
    let mut c = cluster();
    c.request(1, write(5, 1, 42));
    c.deliver_all(usize::MAX);
    let ready = c.request(1, read(6, 1, ReadMode::ReadIndex));
    assert!(
        ready.replies.is_empty(),
        "not before the confirmation round"
    );
    assert!(ready
        .messages
        .iter()
        .any(|(_, m)| matches!(m, Message::Commit { read_round: 1, .. })));
    c.deliver_all(usize::MAX);
    let got = replies_to(&c, 6, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].1.outcome,
        Outcome::Ok(AppendResponse::Read {
            len: 1,
            last: Some(42)
        })
    );
}

/// A retransmitted read that arrives while its first copy waits for the
/// confirmation round joins that round: a duplicating network must not make
/// the leader start rounds without end. One answer serves it.
#[test]
fn a_duplicate_of_a_read_in_progress_starts_no_new_round() {
    let mut c = cluster();
    c.request(1, write(5, 1, 42));
    c.deliver_all(usize::MAX);
    c.request(1, read(6, 1, ReadMode::ReadIndex));
    assert_eq!(c.replica(1).unwrap().status().read_round, 1);
    let again = c.request(1, read(6, 1, ReadMode::ReadIndex));
    assert!(again.messages.is_empty() && again.replies.is_empty());
    assert_eq!(c.replica(1).unwrap().status().read_round, 1);
    c.deliver_all(usize::MAX);
    assert_eq!(replies_to(&c, 6, 1).len(), 1);
    // Another client's read is not a duplicate: it gets its own round.
    c.request(1, read(7, 1, ReadMode::ReadIndex));
    assert_eq!(c.replica(1).unwrap().status().read_round, 2);
}

/// Builds the stale-read trap: replica 1 led and is cut off; replica 3 leads
/// and has applied a write 1 never saw. Returns the cluster.
fn deposed_leader() -> Lockstep<AppendLog> {
    let mut c = cluster();
    c.request(1, write(5, 1, 100));
    c.deliver_all(usize::MAX);
    c.set_cut(1, 2, true);
    c.set_cut(1, 3, true);
    assert!(c.elect(3));
    c.request(3, write(5, 2, 200));
    c.deliver_all(usize::MAX);
    assert_eq!(c.replica(3).unwrap().state().values, vec![100, 200]);
    assert_eq!(c.replica(1).unwrap().state().values, vec![100]);
    assert!(
        c.replica(1).unwrap().status().is_leader,
        "1 still believes it leads"
    );
    c
}

#[test]
fn deposed_leader_never_answers_a_stale_linearizable_read() {
    let mut c = deposed_leader();
    c.request(1, read(6, 1, ReadMode::ReadIndex));
    for _ in 0..5 {
        c.tick(1, 1);
    }
    assert!(
        replies_to(&c, 6, 1)
            .iter()
            .all(|(_, r)| !matches!(r.outcome, Outcome::Ok(_))),
        "a read-index read needs a quorum that 1 cannot reach"
    );
}

#[test]
fn local_read_answers_at_once_and_may_be_stale() {
    let mut c = deposed_leader();
    let ready = c.request(1, read(6, 1, ReadMode::Local));
    assert_eq!(
        ready.replies[0].outcome,
        Outcome::Ok(AppendResponse::Read {
            len: 1,
            last: Some(100)
        }),
        "documented unsafe: the stale state"
    );
}

/// The planted `local_reads` bug answers linearizable reads like local ones:
/// the trap above then yields a stale read.
#[cfg(feature = "faults")]
#[test]
fn local_reads_fault_answers_linearizable_reads_stale() {
    let mut c = Lockstep::new(3, AppendLog::default(), |c| c.faults.local_reads = true).unwrap();
    assert!(c.elect(1));
    c.request(1, write(5, 1, 100));
    c.deliver_all(usize::MAX);
    c.set_cut(1, 2, true);
    c.set_cut(1, 3, true);
    assert!(c.elect(3));
    c.request(3, write(5, 2, 200));
    c.deliver_all(usize::MAX);
    let ready = c.request(1, read(6, 1, ReadMode::ReadIndex));
    assert_eq!(
        ready.replies[0].outcome,
        Outcome::Ok(AppendResponse::Read {
            len: 1,
            last: Some(100)
        })
    );
}

#[test]
fn retried_request_is_applied_once_and_answered_from_the_session() {
    let mut c = cluster();
    c.request(1, write(5, 1, 7));
    c.request(1, write(5, 1, 7)); // retry while in flight
    c.deliver_all(usize::MAX);
    c.request(1, write(5, 1, 7)); // retry after it was applied
    c.deliver_all(usize::MAX);
    let got = replies_to(&c, 5, 1);
    assert_eq!(got.len(), 2);
    for (_, r) in got {
        assert_eq!(r.outcome, Outcome::Ok(AppendResponse::Appended(1)));
    }
    for id in 1..=3 {
        assert_eq!(c.replica(id).unwrap().state().values, vec![7]);
    }
}

#[test]
fn requests_beyond_the_pending_bound_are_answered_busy() {
    let mut c = Lockstep::new(3, AppendLog::default(), |c| c.max_pending_requests = 2).unwrap();
    assert!(c.elect(1));
    assert!(c.request(1, write(1, 1, 1)).replies.is_empty());
    assert!(c.request(1, write(2, 1, 2)).replies.is_empty());
    let ready = c.request(1, write(3, 1, 3));
    assert_eq!(ready.replies[0].outcome, Outcome::Busy);
    c.deliver_all(usize::MAX);
    assert_eq!(c.replica(2).unwrap().state().values, vec![1, 2]);
}

#[test]
fn follower_answers_not_leader_with_a_hint() {
    let mut c = cluster();
    c.tick_all();
    let ready = c.request(2, write(1, 1, 1));
    assert_eq!(
        ready.replies[0].outcome,
        Outcome::NotLeader { hint: Some(1) }
    );
}

#[test]
fn stale_or_malformed_input_is_ignored_without_panic() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    // An unknown sender.
    assert!(r
        .step(from(
            9,
            Message::Prepare {
                recovery: None,
                ballot: ballot(1, 9),
                first_slot: 0
            }
        ))
        .is_empty());
    // A slot far beyond anything chosen.
    let far = r.step(from(
        1,
        Message::Accept {
            ballot: ballot(1, 1),
            slot: 1 << 40,
            entry: entry(1),
            chosen_upto: 0,
        },
    ));
    assert!(far.persist.is_empty() && far.messages.is_empty());
    // A batch larger than any leader may send.
    let big = Arc::new(Entry {
        log_ticks: 0,
        proposals: (0..1000)
            .map(|i| Proposal::Client {
                client_id: 1,
                seq: i,
                command: AppendCommand::Append(i),
            })
            .collect(),
    });
    assert!(r
        .step(from(
            1,
            Message::Accept {
                ballot: ballot(1, 1),
                slot: 0,
                entry: big,
                chosen_upto: 0
            }
        ))
        .is_empty());
    // Too many learned entries at once.
    let many = (0..10_000).map(|s| (s, entry(s))).collect();
    assert!(r.step(from(1, Message::Learn { entries: many })).is_empty());
    // A snapshot chunk claiming more than the limit, or not fitting its total.
    assert!(r
        .step(from(
            1,
            Message::SnapshotChunk {
                upto: 5,
                offset: 0,
                total_len: u64::MAX,
                data: vec![1]
            }
        ))
        .is_empty());
    assert!(r
        .step(from(
            1,
            Message::SnapshotChunk {
                upto: 5,
                offset: 10,
                total_len: 4,
                data: vec![1]
            }
        ))
        .is_empty());
    // A complete but corrupt snapshot.
    assert!(r
        .step(from(
            1,
            Message::SnapshotChunk {
                upto: 5,
                offset: 0,
                total_len: 3,
                data: vec![1, 2, 3]
            }
        ))
        .is_empty());
    // Answers to ballots it never used.
    assert!(r
        .step(from(
            1,
            Message::Promise {
                recovery: None,
                ballot: ballot(4, 2),
                snapshot_upto: 0,
                accepted: vec![]
            }
        ))
        .is_empty());
    assert!(r
        .step(from(
            1,
            Message::Accepted {
                ballot: ballot(4, 2),
                slot: 0
            }
        ))
        .is_empty());
    assert_eq!(r.status().chosen_upto, 0);
}

#[test]
fn lagging_replica_installs_a_snapshot_sent_in_chunks() {
    let mut c = Lockstep::new(3, AppendLog::default(), |c| {
        c.snapshot_interval = 10;
        c.max_message_bytes = 64;
    })
    .unwrap();
    assert!(c.elect(1));
    c.crash(3);
    for v in 1..=60 {
        c.request(1, write(9, v, v));
        c.deliver_all(usize::MAX);
    }
    let leader = c.replica(1).unwrap().status();
    assert!(leader.snapshot_upto >= 50, "{leader:?}");
    // What the leader sends a replica that misses truncated slots.
    let mut probe = c.replica(1).unwrap().clone();
    let ready = probe.step(from(3, Message::Fetch { from_slot: 0 }));
    let chunks: Vec<usize> = ready
        .messages
        .iter()
        .map(|(_, m)| match m {
            Message::SnapshotChunk { data, .. } => data.len(),
            other => panic!("expected snapshot chunks, got {other:?}"),
        })
        .collect();
    assert!(
        chunks.len() > 1 && chunks.iter().all(|n| *n <= 64),
        "{chunks:?}"
    );
    c.restart(3).unwrap();
    for _ in 0..20 {
        c.tick_all();
    }
    let s3 = c.replica(3).unwrap().status();
    assert!(s3.snapshot_upto > 0, "{s3:?}");
    assert_eq!(
        c.replica(3).unwrap().state().values,
        (1..=60).collect::<Vec<u64>>()
    );
}

/// Paxos Made Simple's leader rule with snapshots: a promise reports the
/// acceptor's snapshot bound and the new leader proposes nothing below it.
#[test]
fn new_leader_never_proposes_below_a_promisers_snapshot() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let ready = r.step(from(
        3,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 10,
            accepted: vec![(12, ballot(0, 3), entry(12))],
        },
    ));
    assert!(r.status().is_leader);
    let mut proposed = Vec::new();
    let mut fetched = false;
    for (to, m) in &ready.messages {
        match m {
            Message::Accept { slot, .. } if *to == 3 => proposed.push(*slot),
            Message::Fetch { from_slot: 0 } if *to == 3 => fetched = true,
            _ => {}
        }
    }
    assert_eq!(proposed, vec![10, 11, 12]);
    assert!(fetched, "the leader fetches what the snapshot covers");
}

#[test]
fn amnesiac_replica_votes_in_no_quorum_until_it_has_recovered() {
    let mut c = cluster();
    for v in 1..=5 {
        c.request(1, write(4, v, v));
    }
    c.deliver_all(usize::MAX);
    c.restart_amnesiac(2).unwrap();
    let mut r2 = c.replica(2).unwrap().clone();
    assert!(r2.status().amnesiac && !r2.status().voting);
    // Neither a promise nor an acceptance, however high the ballot.
    let ready = r2.step(from(
        3,
        Message::Prepare {
            recovery: None,
            ballot: ballot(99, 3),
            first_slot: 0,
        },
    ));
    assert!(!ready
        .messages
        .iter()
        .any(|(_, m)| matches!(m, Message::Promise { .. })));
    assert!(ready
        .persist
        .contains(&synod::paxos::Record::Amnesia { voting: false }));
    let ready = r2.step(from(
        3,
        Message::Accept {
            ballot: ballot(99, 3),
            slot: 5,
            entry: entry(1),
            chosen_upto: 0,
        },
    ));
    assert!(ready.messages.is_empty());
    // A crash before it recovered: its records say it is still amnesiac.
    let again = Replica::recover(
        config(2),
        AppendLog::default(),
        ready
            .persist
            .iter()
            .cloned()
            .chain([synod::paxos::Record::Amnesia { voting: false }]),
    )
    .unwrap();
    assert!(again.status().amnesiac);
    // In the cluster, it catches up and runs its recovery round, then votes.
    for _ in 0..200 {
        c.tick_all();
        if c.replica(2).unwrap().status().voting {
            break;
        }
    }
    let s2 = c.replica(2).unwrap().status();
    assert!(s2.voting, "{s2:?}");
    assert_eq!(c.replica(2).unwrap().state().values, vec![1, 2, 3, 4, 5]);
}

#[test]
fn replicas_restarted_from_their_records_resume_where_they_were() {
    let mut c = cluster();
    for v in 1..=20 {
        c.request(1, write(4, v, v));
    }
    c.deliver_all(usize::MAX);
    c.tick_all();
    for id in 1..=3 {
        c.crash(id);
        c.restart(id).unwrap();
        assert_eq!(
            c.replica(id).unwrap().state().values,
            (1..=20).collect::<Vec<u64>>()
        );
    }
    let mut led = false;
    for id in 1..=3 {
        led |= c.elect(id);
        if led {
            c.request(id, write(4, 21, 21));
            break;
        }
    }
    c.deliver_all(usize::MAX);
    c.tick_all();
    for id in 1..=3 {
        assert_eq!(c.replica(id).unwrap().state().values.len(), 21);
    }
}

#[test]
fn a_step_with_replies_persists_what_they_depend_on_first() {
    // Single-replica cluster: one step proposes, accepts, chooses and answers;
    // the records that make the answer true are in the same Ready.
    let mut r = Replica::new(
        synod::paxos::Config::new(1, [1]).unwrap(),
        AppendLog::default(),
    )
    .unwrap();
    while !r.status().is_leader {
        r.step(Input::Tick);
    }
    let ready = r.step(Input::Request(write(1, 1, 5)));
    assert_eq!(
        ready.replies[0].outcome,
        Outcome::Ok(AppendResponse::Appended(1))
    );
    assert!(ready
        .persist
        .iter()
        .any(|p| matches!(p, synod::paxos::Record::Accept { .. })));
    assert!(ready
        .persist
        .iter()
        .any(|p| matches!(p, synod::paxos::Record::Chosen { .. })));
}

/// Lock expiry goes through the log: the leader proposes the state machine's
/// tick commands from its ticks, once while in flight, and the log's clock
/// (the leader's ticks, made monotonic) decides when a lease has run out.
#[test]
fn leader_proposes_tick_commands_once_while_in_flight() {
    use synod::kv::{Command, KvStore, Response};
    let mut c = Lockstep::new(3, KvStore::new(Default::default()), |_| {}).unwrap();
    assert!(c.elect(1));
    let acquire = |seq, owner: &str| synod::paxos::ClientRequest {
        client_id: 1,
        seq,
        command: Command::Acquire {
            lock: "l".into(),
            owner: owner.into(),
            ttl_ticks: 3,
        },
        read_mode: ReadMode::ReadIndex,
    };
    c.request(1, acquire(1, "a"));
    c.deliver_all(usize::MAX);
    assert!(matches!(
        c.replies.last().unwrap().1.outcome,
        Outcome::Ok(Response::Token(_))
    ));
    // Cut the leader off: its expiry cannot be chosen, so it stays in flight.
    c.set_cut(1, 2, true);
    c.set_cut(1, 3, true);
    let mut expiry_slots = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let ready = c.input(1, Input::Tick);
        for (_, m) in &ready.messages {
            if let Message::Accept { slot, entry, .. } = m {
                if entry
                    .proposals
                    .iter()
                    .any(|p| matches!(p, Proposal::Tick(Command::Expire { .. })))
                {
                    expiry_slots.insert(*slot);
                }
            }
        }
        c.deliver_all(usize::MAX);
    }
    assert_eq!(expiry_slots.len(), 1, "proposed once, retransmitted only");
    // Heal: the expiry is chosen and another owner can take the lock.
    c.set_cut(1, 2, false);
    c.set_cut(1, 3, false);
    c.tick(1, 3);
    c.request(1, acquire(2, "b"));
    c.deliver_all(usize::MAX);
    assert!(
        matches!(
            c.replies.last().unwrap().1.outcome,
            Outcome::Ok(Response::Token(_))
        ),
        "{:?}",
        c.replies.last()
    );
    for id in 1..=3 {
        assert_eq!(c.replica(id).unwrap().state().leases().len(), 1);
    }
}
