//! The core's guards at their exact bounds. Each test here was written for a
//! mutant of `src/paxos` that the other tests let survive (README, "Mutation
//! testing"): a limit off by one, a comparison turned round, a check dropped.

use synod::paxos::{
    Config, Input, Message, Outcome, ReadMode, Record, Replica, SnapshotImage, StateMachine,
};
use synod::sim::{AppendLog, Lockstep};

use super::rules::{ballot, config, entry, from, read, stand, write};

/// Replica 1 of 3, leading after its stand and replica 2's empty promise.
fn leader_1() -> Replica<AppendLog> {
    leader_1_with(config(1))
}

/// Replica 1 of 3 with configuration `c`, leading as in [`leader_1`].
fn leader_1_with(c: Config) -> Replica<AppendLog> {
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    let b = stand(&mut r);
    r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![],
        },
    ));
    assert!(r.status().is_leader);
    r
}

/// Leader 1 (ballot (1, 1)) announces that every slot below `chosen_upto`
/// is chosen: a heartbeat as a follower sees it.
fn leader_1_announces(chosen_upto: u64) -> Input<AppendLog> {
    from(
        1,
        Message::Commit {
            ballot: ballot(1, 1),
            first_slot: 0,
            chosen_upto,
            read_round: 0,
            promisers: vec![1, 2],
        },
    )
}

/// The serialized snapshot image of an empty log whose snapshot covers every
/// slot below `upto`.
fn empty_image(upto: u64) -> Vec<u8> {
    let image = SnapshotImage::<AppendLog> {
        upto,
        log_ticks: 0,
        sessions: Default::default(),
        state: AppendLog::default().snapshot(),
    };
    serde_json::to_vec(&image).unwrap()
}

/// Asserts that `ready` installs a snapshot: its one record to persist is
/// the snapshot.
fn assert_installs_snapshot(ready: &synod::paxos::Ready<AppendLog>) {
    assert!(
        matches!(&ready.persist[..], [Record::Snapshot(_)]),
        "{ready:?}"
    );
}

/// A commit whose promiser list names every member is well formed: a leader
/// whose phase-1 quorum is the whole cluster (Flexible Paxos with
/// `phase1 = members`) sends exactly that. Only a longer list is malformed.
#[test]
fn commit_naming_every_member_as_promiser_is_acknowledged() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let commit = |promisers: Vec<u64>| {
        from(
            1,
            Message::Commit {
                ballot: ballot(1, 1),
                first_slot: 0,
                chosen_upto: 0,
                read_round: 1,
                promisers,
            },
        )
    };
    let ready = r.step(commit(vec![1, 2, 3]));
    assert!(
        ready
            .messages
            .iter()
            .any(|(to, m)| *to == 1 && matches!(m, Message::CommitAck { read_round: 1, .. })),
        "{ready:?}"
    );
    let ready = r.step(commit(vec![1, 2, 3, 4]));
    assert!(ready.messages.is_empty(), "{ready:?}");
}

/// A candidate retransmits its prepare every `heartbeat_ticks` to the
/// replicas that have not promised (the network may have lost it), and not
/// in between, until its election timeout makes it stand again.
#[test]
fn candidate_retransmits_its_prepare_every_heartbeat() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let heartbeat = r.config().heartbeat_ticks;
    // The election timeout is at least `election_timeout_ticks`: stay below.
    let below_timeout = r.config().election_timeout_ticks - 1;
    for elapsed in 1..=below_timeout {
        let ready = r.step(Input::Tick);
        let mut to: Vec<u64> = ready
            .messages
            .iter()
            .filter(|(_, m)| matches!(m, Message::Prepare { ballot, .. } if *ballot == b))
            .map(|(to, _)| *to)
            .collect();
        to.sort_unstable();
        let expected: Vec<u64> = if elapsed % heartbeat == 0 {
            vec![2, 3]
        } else {
            vec![]
        };
        assert_eq!(to, expected, "tick {elapsed} after standing");
    }
}

/// A follower that knows it lags (a leader announced a chosen bound it has
/// not reached) asks the leader again, not only once when the announcement
/// came (that fetch or its answer may be lost): once per election timeout,
/// not every heartbeat (each fetch below a snapshot costs a whole snapshot).
#[test]
fn lagging_follower_fetches_again_after_an_election_timeout() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let ready = r.step(leader_1_announces(5));
    assert_eq!(fetches_to_1(&ready), 1, "at once: {ready:?}");
    let timeout = r.config().election_timeout_ticks;
    let heartbeat = r.config().heartbeat_ticks;
    let asked: usize = (0..timeout - 1)
        .map(|_| fetches_to_1(&r.step(Input::Tick)))
        .sum();
    assert_eq!(asked, 0, "not again within an election timeout");
    let asked: usize = (0..heartbeat + 1)
        .map(|_| fetches_to_1(&r.step(Input::Tick)))
        .sum();
    assert_eq!(asked, 1, "once more after it");
}

fn fetches_to_1(ready: &synod::paxos::Ready<AppendLog>) -> usize {
    ready
        .messages
        .iter()
        .filter(|(to, m)| *to == 1 && matches!(m, Message::Fetch { from_slot: 0 }))
        .count()
}

/// Swarm seed 27 (3 replicas, ten fault periods): a lagging amnesiac asked
/// for the whole snapshot every heartbeat, each answer thousands of chunks,
/// until no election got through the backlog for 3,000 ticks. A replica
/// receiving snapshot chunks does not fetch again while they keep coming,
/// and does once they stop.
#[test]
fn a_replica_receiving_a_snapshot_does_not_fetch_it_again() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    r.step(leader_1_announces(5));
    let timeout = r.config().election_timeout_ticks;
    let chunk = |offset| {
        from(
            1,
            Message::SnapshotChunk {
                upto: 5,
                offset,
                total_len: 10_000,
                data: vec![b' '; 10],
            },
        )
    };
    let mut asked = 0;
    for i in 0..3 * timeout {
        asked += fetches_to_1(&r.step(chunk(i * 10)));
        asked += fetches_to_1(&r.step(Input::Tick));
    }
    assert_eq!(asked, 0, "no fetch while chunks arrive");
    let asked: usize = (0..2 * timeout)
        .map(|_| fetches_to_1(&r.step(Input::Tick)))
        .sum();
    assert!(asked >= 1, "the transfer stopped: fetch again");
}

/// Learned entries are taken up to `max_slot_lead` beyond the first
/// unchosen slot, exclusive: the same bound an acceptor puts on accepts.
#[test]
fn learned_entries_stop_exactly_at_the_slot_lead() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let lead = r.config().max_slot_lead;
    let ready = r.step(from(
        1,
        Message::Learn {
            entries: vec![(lead - 1, entry(1)), (lead, entry(2))],
        },
    ));
    let chosen: Vec<u64> = ready
        .persist
        .iter()
        .filter_map(|rec| match rec {
            Record::Chosen { slot, .. } => Some(*slot),
            _ => None,
        })
        .collect();
    assert_eq!(chosen, vec![lead - 1]);
}

/// Paxos Made Live's amnesia rule, end of recovery: when a wiped replica
/// votes again, it has promised (and recorded) the ballot of its recovery
/// round, which is above every promise it forgot. A promise left lower
/// would let it vote for a ballot below one it forgot promising.
#[test]
fn recovered_amnesiac_has_promised_its_recovery_ballot_durably() {
    let mut c = Lockstep::new(3, AppendLog::default(), |_| {}).unwrap();
    assert!(c.elect(1));
    for v in 1..=3 {
        c.request(1, write(4, v, v));
    }
    c.deliver_all(usize::MAX);
    c.restart_amnesiac(2).unwrap();
    for _ in 0..200 {
        c.tick_all();
        if c.replica(2).unwrap().status().voting {
            break;
        }
    }
    let s2 = c.replica(2).unwrap().status();
    assert!(s2.voting && s2.is_leader, "{s2:?}");
    // Its peers promised its recovery ballot, the highest there is.
    let recovery = c.replica(1).unwrap().status().ballot;
    assert_eq!(recovery.node, 2);
    assert_eq!(s2.ballot, recovery);
    let disk = &c.disks[1];
    let mark = disk
        .iter()
        .position(|r| *r == Record::Amnesia { voting: true })
        .expect("the end of amnesia is recorded");
    assert!(
        disk[..mark].contains(&Record::Promise { ballot: recovery }),
        "the promise is recorded before the voting mark: {disk:?}"
    );
}

/// A snapshot is installed only if the image inside says the same `upto` as
/// the chunks that carried it: a sender whose header and image disagree is
/// broken, and its image could be one the receiver has already passed.
#[test]
fn snapshot_whose_image_disagrees_with_its_chunks_is_dropped() {
    let bytes = empty_image(7);
    let chunk = |upto| {
        from(
            1,
            Message::SnapshotChunk {
                upto,
                offset: 0,
                total_len: bytes.len() as u64,
                data: bytes.clone(),
            },
        )
    };
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let ready = r.step(chunk(5));
    assert!(ready.persist.is_empty(), "{ready:?}");
    assert_eq!(r.status().snapshot_upto, 0);
    // The same image under its own `upto` is installed (the bytes are good).
    let ready = r.step(chunk(7));
    assert_installs_snapshot(&ready);
    assert_eq!(r.status().snapshot_upto, 7);
}

/// P1b (Paxos Made Simple, 2.2): an acceptor promises a prepare only if its
/// number is at least every one it promised; a lower one gets a nack naming
/// the promise, never a promise. A repeated prepare of the promised ballot
/// (a duplicate on the network) gets the same promise again.
#[test]
fn p1b_prepare_below_the_promise_is_nacked_and_a_repeat_is_promised_again() {
    let mut a = Replica::new(config(2), AppendLog::default()).unwrap();
    let prepare = |round, node| {
        from(
            node,
            Message::Prepare {
                recovery: None,
                ballot: ballot(round, node),
                first_slot: 0,
            },
        )
    };
    let promised = |ready: &synod::paxos::Ready<AppendLog>| {
        ready
            .messages
            .iter()
            .any(|(_, m)| matches!(m, Message::Promise { .. }))
    };
    assert!(promised(&a.step(prepare(5, 3))));
    let low = a.step(prepare(4, 1));
    assert!(!promised(&low), "{low:?}");
    assert!(low.messages.iter().any(|(to, m)| *to == 1
        && matches!(m, Message::Nack { promised, .. } if *promised == ballot(5, 3))));
    assert!(promised(&a.step(prepare(5, 3))));
}

/// The compaction base keeps the chosen values at or above the snapshot's
/// `upto` (chosen out of order, not yet applied) and drops those below.
#[test]
fn compaction_keeps_chosen_values_above_the_snapshot_only() {
    use std::sync::Arc;
    let image = Arc::new(SnapshotImage::<AppendLog> {
        upto: 10,
        log_ticks: 0,
        sessions: Default::default(),
        state: AppendLog::default().snapshot(),
    });
    let log = vec![
        Record::Chosen {
            slot: 5,
            entry: entry(5),
        },
        Record::Chosen {
            slot: 10,
            entry: entry(10),
        },
        Record::Chosen {
            slot: 12,
            entry: entry(12),
        },
    ];
    let kept: Vec<u64> = synod::paxos::compaction_base(&log, &image)
        .iter()
        .filter_map(|r| match r {
            Record::Chosen { slot, .. } => Some(*slot),
            _ => None,
        })
        .collect();
    assert_eq!(kept, vec![10, 12]);
}

/// A nack answers one ballot: a late nack for a ballot this replica no
/// longer uses is stale, like every other answer to an old ballot, and does
/// not depose the leader it has become since.
#[test]
fn stale_nack_for_an_earlier_ballot_does_not_depose_the_leader() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    let first = stand(&mut r);
    // No promise comes: it stands again, with a higher ballot (a prepare of
    // `first` in between is a retransmission).
    let mut second = first;
    while second == first {
        second = stand(&mut r);
    }
    assert!(second > first);
    r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: second,
            snapshot_upto: 0,
            accepted: vec![],
        },
    ));
    assert!(r.status().is_leader);
    r.step(from(
        3,
        Message::Nack {
            ballot: first,
            promised: ballot(second.round + 1, 3),
        },
    ));
    assert!(r.status().is_leader, "{:?}", r.status());
}

/// A leader sends its heartbeat (the commit message) every
/// `heartbeat_ticks` ticks, not on every tick.
#[test]
fn leader_heartbeats_every_heartbeat_ticks() {
    let mut r = leader_1();
    let heartbeat = r.config().heartbeat_ticks;
    for k in 1..=3 * heartbeat {
        let ready = r.step(Input::Tick);
        let beat = ready
            .messages
            .iter()
            .any(|(_, m)| matches!(m, Message::Commit { .. }));
        assert_eq!(beat, k % heartbeat == 0, "tick {k} after leading");
    }
}

/// An amnesiac replica asks its peers at random for what it missed, not only
/// the one it believes leads; a replica with its records intact asks the
/// leader it knows.
#[test]
fn amnesiac_replica_spreads_its_fetches_over_its_peers() {
    let commit = from(
        1,
        Message::Commit {
            ballot: ballot(1, 1),
            first_slot: 0,
            chosen_upto: 5,
            read_round: 0,
            promisers: vec![1, 3],
        },
    );
    let fetched_from = |r: &mut Replica<AppendLog>| {
        let mut to = std::collections::BTreeSet::new();
        for _ in 0..40 {
            for (peer, m) in r.step(Input::Tick).messages {
                if matches!(m, Message::Fetch { .. }) {
                    to.insert(peer);
                }
            }
        }
        to.into_iter().collect::<Vec<u64>>()
    };
    let mut wiped = Replica::amnesiac(config(2), AppendLog::default()).unwrap();
    wiped.step(commit.clone());
    assert_eq!(wiped.status().leader, Some(1));
    assert_eq!(fetched_from(&mut wiped), vec![1, 3]);
    let mut intact = Replica::new(config(2), AppendLog::default()).unwrap();
    // Within one election timeout it asks the leader only (at once, on its
    // commit).
    let mut to = std::collections::BTreeSet::new();
    let mut note = |messages: Vec<(u64, Message<AppendLog>)>| {
        for (peer, m) in messages {
            if matches!(m, Message::Fetch { .. }) {
                to.insert(peer);
            }
        }
    };
    note(intact.step(commit).messages);
    for _ in 0..intact.config().election_timeout_ticks - 1 {
        note(intact.step(Input::Tick).messages);
    }
    assert_eq!(to.into_iter().collect::<Vec<u64>>(), vec![1]);
}

/// A slot learned out of order (above a gap) is recorded once: learning it
/// again, from a duplicate or another peer, persists nothing.
#[test]
fn slot_learned_above_a_gap_is_recorded_once() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let learn = || {
        from(
            1,
            Message::Learn {
                entries: vec![(3, entry(3))],
            },
        )
    };
    let first = r.step(learn());
    assert!(
        matches!(&first.persist[..], [Record::Chosen { slot: 3, .. }]),
        "{first:?}"
    );
    assert_eq!(r.status().chosen_upto, 0, "slots 0 to 2 are missing");
    let again = r.step(learn());
    assert!(again.persist.is_empty(), "{again:?}");
}

/// A leader that learns one of its in-flight slots from a peer (chosen in
/// its ballot or an earlier one) stops retransmitting it: the heartbeat
/// resends accepts only for slots still in flight.
#[test]
fn slot_learned_from_a_peer_is_no_longer_retransmitted() {
    let mut r = leader_1();
    let ready = r.step(Input::Request(write(7, 1, 70)));
    let proposed = ready
        .messages
        .iter()
        .find_map(|(_, m)| match m {
            Message::Accept { slot: 0, entry, .. } => Some(entry.clone()),
            _ => None,
        })
        .expect("the write is proposed at slot 0");
    let accepts_within_a_heartbeat = |r: &mut Replica<AppendLog>| {
        (0..r.config().heartbeat_ticks)
            .flat_map(|_| r.step(Input::Tick).messages)
            .filter(|(_, m)| matches!(m, Message::Accept { slot: 0, .. }))
            .count()
    };
    assert!(accepts_within_a_heartbeat(&mut r) > 0, "retransmitted");
    r.step(from(
        2,
        Message::Learn {
            entries: vec![(0, proposed)],
        },
    ));
    assert_eq!(r.status().chosen_upto, 1);
    assert_eq!(accepts_within_a_heartbeat(&mut r), 0);
}

/// A full `Learn` batch means there may be more: a replica still behind the
/// announced bound fetches the rest at once; after a short batch, or once
/// caught up, it waits for its periodic fetch.
#[test]
fn full_learn_batch_while_lagging_fetches_the_rest_at_once() {
    let mut c = config(2);
    c.max_learn_entries = 2;
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    r.step(leader_1_announces(5));
    let fetch_from = |ready: &synod::paxos::Ready<AppendLog>| {
        ready.messages.iter().find_map(|(to, m)| match m {
            Message::Fetch { from_slot } if *to == 1 => Some(*from_slot),
            _ => None,
        })
    };
    let learn = |slots: &[u64]| {
        from(
            1,
            Message::Learn {
                entries: slots.iter().map(|s| (*s, entry(*s))).collect(),
            },
        )
    };
    assert_eq!(fetch_from(&r.step(learn(&[0, 1]))), Some(2), "full, behind");
    assert_eq!(fetch_from(&r.step(learn(&[2]))), None, "short batch");
    assert_eq!(fetch_from(&r.step(learn(&[3, 4]))), None, "full, caught up");
    assert_eq!(r.status().chosen_upto, 5);
}

/// Offers a whole snapshot at slot 7 in one chunk to a replica whose limit
/// (set by `limit`) is one byte short of its size, which must drop it and
/// keep nothing, and to one whose limit is exactly its size, which must
/// install it.
fn one_chunk_snapshot_needs_exactly(limit: impl Fn(&mut Config, usize)) {
    let bytes = empty_image(7);
    let chunk = from(
        1,
        Message::SnapshotChunk {
            upto: 7,
            offset: 0,
            total_len: bytes.len() as u64,
            data: bytes.clone(),
        },
    );
    let mut short = config(2);
    limit(&mut short, bytes.len() - 1);
    let mut r = Replica::new(short, AppendLog::default()).unwrap();
    assert!(r.step(chunk.clone()).persist.is_empty());
    assert_eq!(r.status().snapshot_upto, 0);
    let mut exact = config(2);
    limit(&mut exact, bytes.len());
    let mut r = Replica::new(exact, AppendLog::default()).unwrap();
    r.step(chunk);
    assert_eq!(
        r.status().snapshot_upto,
        7,
        "a snapshot of exactly the limit"
    );
}

/// A snapshot chunk larger than `max_message_bytes` is dropped, even when it
/// alone would complete a valid snapshot: no correct sender makes one.
#[test]
fn snapshot_chunk_above_the_message_limit_is_dropped() {
    one_chunk_snapshot_needs_exactly(|c, n| c.max_message_bytes = n);
}

/// A snapshot chunk that runs past the total length its sender declared is
/// malformed and dropped, even when its bytes alone are a valid image.
#[test]
fn snapshot_chunk_running_past_its_total_length_is_dropped() {
    let bytes = empty_image(7);
    let chunk = |total_len: usize| {
        from(
            1,
            Message::SnapshotChunk {
                upto: 7,
                offset: 0,
                total_len: total_len as u64,
                data: bytes.clone(),
            },
        )
    };
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    assert!(r.step(chunk(bytes.len() - 1)).persist.is_empty());
    assert_eq!(r.status().snapshot_upto, 0);
    r.step(chunk(bytes.len()));
    assert_eq!(
        r.status().snapshot_upto,
        7,
        "the same chunk, declared right"
    );
}

/// An acceptor accepts only slots below `max_slot_lead` beyond its first
/// unchosen slot, exclusive (P1a still holds for the ballot; the bound keeps
/// a leader from filling the log far ahead of what is chosen). The same
/// bound, exclusive, as for learned entries.
#[test]
fn accept_stops_exactly_at_the_slot_lead() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let lead = r.config().max_slot_lead;
    let mut accept = |slot: u64| {
        r.step(from(
            1,
            Message::Accept {
                ballot: ballot(1, 1),
                slot,
                entry: entry(slot),
                chosen_upto: 0,
            },
        ))
    };
    for (slot, accepted) in [(lead - 1, true), (lead, false)] {
        let ready = accept(slot);
        let answered = ready.messages.iter().any(|(to, m)| {
            *to == 1 && matches!(m, Message::Accepted { slot: s, .. } if *s == slot)
        });
        let recorded = ready
            .persist
            .iter()
            .any(|rec| matches!(rec, Record::Accept { slot: s, .. } if *s == slot));
        assert_eq!(
            (answered, recorded),
            (accepted, accepted),
            "slot {slot}: {ready:?}"
        );
    }
}

/// A new leader never proposes at a slot it knows chosen (P2c: that slot's
/// value is fixed), including the highest one it learned above a gap: its
/// first free slot is past it.
#[test]
fn new_leader_proposes_past_the_highest_slot_it_knows_chosen() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    r.step(from(
        2,
        Message::Learn {
            entries: vec![(3, entry(3))],
        },
    ));
    assert_eq!(r.status().chosen_upto, 0, "slots 0 to 2 are missing");
    let b = stand(&mut r);
    let mut sent = Vec::new();
    let ready = r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![],
        },
    ));
    assert!(r.status().is_leader);
    sent.extend(ready.messages);
    sent.extend(r.step(Input::Request(write(7, 1, 70))).messages);
    let accepted_at: Vec<u64> = sent
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Accept { slot, .. } => Some(*slot),
            _ => None,
        })
        .collect();
    assert!(!accepted_at.contains(&3), "{sent:?}");
    assert!(
        accepted_at.contains(&4),
        "the request goes to slot 4: {sent:?}"
    );
}

/// A follower that stands for election keeps pointing at the leader it last
/// heard from (clients redirected meanwhile still reach a likely leader);
/// only a hint naming itself is dropped when it stops leading.
#[test]
fn candidate_keeps_the_leader_hint_of_another_replica() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    r.step(leader_1_announces(0));
    assert_eq!(r.status().leader, Some(1));
    stand(&mut r);
    assert!(!r.status().is_leader);
    assert_eq!(r.status().leader, Some(1));
}

/// The prepare retransmission period counts from the tick the candidate
/// stood, whatever that tick and the heartbeat (here 3 to 5 ticks, where
/// the default of 2 hides a wrong phase).
#[test]
fn candidate_retransmits_its_prepare_every_heartbeat_counted_from_standing() {
    for heartbeat in 3..=5 {
        let mut c = config(1);
        c.heartbeat_ticks = heartbeat;
        c.election_timeout_ticks = 10 * heartbeat;
        let mut r = Replica::new(c, AppendLog::default()).unwrap();
        let b = stand(&mut r);
        // The election timeout is at least `election_timeout_ticks`: stay below.
        for elapsed in 1..10 * heartbeat {
            let ready = r.step(Input::Tick);
            let prepared = ready
                .messages
                .iter()
                .any(|(_, m)| matches!(m, Message::Prepare { ballot, .. } if *ballot == b));
            assert_eq!(
                prepared,
                elapsed % heartbeat == 0,
                "heartbeat {heartbeat}, tick {elapsed} after standing"
            );
        }
    }
}

/// A sender that restarts a transfer of the same snapshot with another
/// total length (another encoding) replaces the assembly: chunks of the
/// abandoned transfer are dropped, not mixed with the new one, and the new
/// transfer completes on its own chunks.
#[test]
fn snapshot_transfer_restarted_with_another_length_starts_over() {
    let bytes = empty_image(7);
    let chunk = |offset: usize, total_len: usize, data: &[u8]| {
        from(
            1,
            Message::SnapshotChunk {
                upto: 7,
                offset: offset as u64,
                total_len: total_len as u64,
                data: data.to_vec(),
            },
        )
    };
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    // The abandoned transfer, a longer encoding: its first chunk came.
    r.step(chunk(0, bytes.len() + 50, b"XXXX"));
    // The new transfer, its second chunk first: with the abandoned first
    // chunk it would tile the new length, into bytes that do not parse.
    r.step(chunk(4, bytes.len(), &bytes[4..]));
    assert_eq!(r.status().snapshot_upto, 0);
    let ready = r.step(chunk(0, bytes.len(), &bytes[..4]));
    assert_installs_snapshot(&ready);
    assert_eq!(r.status().snapshot_upto, 7);
}

/// A leader whose own acceptor promises a higher ballot (P1b: a prepare of
/// another replica) stops leading at once, since that acceptor now refuses
/// its accepts; so does a leader that hears a commit of a higher ballot.
#[test]
fn leader_that_promises_or_hears_a_higher_ballot_stops_leading() {
    let mut r = leader_1();
    let higher = ballot(r.status().ballot.round + 1, 3);
    let ready = r.step(from(
        3,
        Message::Prepare {
            recovery: None,
            ballot: higher,
            first_slot: 0,
        },
    ));
    assert!(
        ready
            .messages
            .iter()
            .any(|(to, m)| *to == 3
                && matches!(m, Message::Promise { ballot, .. } if *ballot == higher)),
        "{ready:?}"
    );
    assert!(!r.status().is_leader, "{:?}", r.status());
    assert_eq!(r.status().leader, Some(3));

    let mut r = leader_1();
    let higher = ballot(r.status().ballot.round + 1, 3);
    r.step(from(
        3,
        Message::Commit {
            ballot: higher,
            first_slot: 0,
            chosen_upto: 0,
            read_round: 0,
            promisers: vec![2, 3],
        },
    ));
    assert!(!r.status().is_leader, "{:?}", r.status());
    assert_eq!(r.status().leader, Some(3));
}

/// A nack that answers the leader's current ballot with a higher promise
/// says an acceptor promised above it (P1b), so its accepts can no longer
/// be chosen there: the leader stops leading, points at the replica of that
/// ballot, and its next ballot is above it.
#[test]
fn nack_of_the_current_ballot_with_a_higher_promise_deposes_the_leader() {
    let mut r = leader_1();
    let mine = r.status().ballot;
    let higher = ballot(mine.round + 1, 3);
    r.step(from(
        2,
        Message::Nack {
            ballot: mine,
            promised: higher,
        },
    ));
    assert!(!r.status().is_leader, "{:?}", r.status());
    assert_eq!(r.status().leader, Some(3));
    assert!(stand(&mut r) > higher);
}

/// A candidate that gathers no quorum (its prepares or the promises were
/// lost) stands again, with a higher ballot, once its election timeout has
/// passed since it stood: at least `election_timeout_ticks`, below twice it.
#[test]
fn candidate_without_a_quorum_stands_again_after_its_election_timeout() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    let first = stand(&mut r);
    let base = r.config().election_timeout_ticks;
    let again = (1..2 * base).find(|_| {
        r.step(Input::Tick)
            .messages
            .iter()
            .any(|(_, m)| matches!(m, Message::Prepare { ballot, .. } if *ballot > first))
    });
    let elapsed = again.expect("it stands again within twice the base timeout");
    assert!(
        elapsed >= base,
        "stood again {elapsed} ticks after standing"
    );
}

/// A promise may report up to `4 max_slot_lead` accepted slots, the most
/// the candidate lets any acceptor hold; a longer list is malformed and does
/// not count towards the phase-1 quorum. (The promisers report a snapshot
/// at the limit so that every slot listed is within one slot lead of it.)
#[test]
fn promise_reporting_more_than_four_slot_leads_is_dropped() {
    let mut c = config(1);
    c.window = 4;
    c.max_slot_lead = 8;
    let limit = 4 * c.max_slot_lead;
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let promise = |n: u64| Message::Promise {
        recovery: None,
        ballot: b,
        snapshot_upto: limit,
        accepted: (0..n).map(|s| (s, ballot(0, 2), entry(s))).collect(),
    };
    r.step(from(2, promise(limit + 1)));
    assert!(!r.status().is_leader, "one slot too many: dropped");
    r.step(from(3, promise(limit)));
    assert!(r.status().is_leader, "exactly the limit: counted");
}

/// Read index: a read is answered only once a quorum has acked its round in
/// the leader's current ballot. An ack of the same round number from an
/// earlier ballot of this replica (rounds count again from 1 in each
/// ballot) confirmed another leadership, and does not serve the read.
#[test]
fn read_is_confirmed_only_by_acks_of_the_current_ballot() {
    let mut r = leader_1();
    let first = r.status().ballot;
    r.step(from(
        3,
        Message::Nack {
            ballot: first,
            promised: ballot(first.round + 1, 3),
        },
    ));
    let second = stand(&mut r);
    r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: second,
            snapshot_upto: 0,
            accepted: vec![],
        },
    ));
    assert!(r.status().is_leader);
    let ready = r.step(Input::Request(read(9, 1, ReadMode::ReadIndex)));
    assert!(ready.replies.is_empty(), "{ready:?}");
    let ack = |ballot| {
        from(
            2,
            Message::CommitAck {
                ballot,
                read_round: 1,
            },
        )
    };
    let stale = r.step(ack(first));
    assert!(stale.replies.is_empty(), "{stale:?}");
    let ready = r.step(ack(second));
    assert!(
        matches!(&ready.replies[..], [reply] if matches!(reply.outcome, Outcome::Ok(_))),
        "{ready:?}"
    );
}

/// A snapshot whose declared total length is exactly `max_snapshot_bytes`
/// is installed; only a longer one is refused, before any chunk is kept.
#[test]
fn snapshot_of_exactly_the_size_limit_is_installed() {
    one_chunk_snapshot_needs_exactly(|c, n| c.max_snapshot_bytes = n);
}

/// A promise is recorded when it rises, once per ballot: a repeated prepare
/// or an accept in the ballot already promised writes no second promise
/// record (in steady state that would be one extra durable write per
/// accept); an accept of a higher ballot records its implied promise.
#[test]
fn promise_is_recorded_once_per_ballot() {
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let promises = |ready: &synod::paxos::Ready<AppendLog>| {
        ready
            .persist
            .iter()
            .filter_map(|rec| match rec {
                Record::Promise { ballot } => Some(*ballot),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let prepare = from(
        1,
        Message::Prepare {
            recovery: None,
            ballot: ballot(1, 1),
            first_slot: 0,
        },
    );
    assert_eq!(promises(&r.step(prepare.clone())), vec![ballot(1, 1)]);
    assert_eq!(promises(&r.step(prepare)), vec![]);
    let accept = |b: synod::paxos::Ballot, slot| {
        from(
            b.node,
            Message::Accept {
                ballot: b,
                slot,
                entry: entry(slot),
                chosen_upto: 0,
            },
        )
    };
    let ready = r.step(accept(ballot(1, 1), 0));
    assert!(
        ready
            .persist
            .iter()
            .any(|rec| matches!(rec, Record::Accept { slot: 0, .. })),
        "{ready:?}"
    );
    assert_eq!(promises(&ready), vec![]);
    assert_eq!(
        promises(&r.step(accept(ballot(2, 3), 1))),
        vec![ballot(2, 3)]
    );
}

/// Reads waiting for their read-index round count towards
/// `max_pending_requests` like queued commands: a leader holding as many
/// unconfirmed reads as the bound answers the next request `Busy`.
#[test]
fn waiting_reads_count_towards_the_pending_bound() {
    let mut c = config(1);
    c.max_pending_requests = 2;
    let mut r = leader_1_with(c);
    for client in [1, 2] {
        let ready = r.step(Input::Request(read(client, 1, ReadMode::ReadIndex)));
        assert!(ready.replies.is_empty(), "{ready:?}");
    }
    assert_eq!(r.pending_requests(), 2);
    let ready = r.step(Input::Request(write(3, 1, 3)));
    assert!(
        matches!(&ready.replies[..], [reply] if reply.outcome == Outcome::Busy),
        "{ready:?}"
    );
}

/// A snapshot sent in several chunks, in order, is installed once the chunks
/// cover its whole length, not before: a prefix is held, not parsed (a
/// prefix that fails to parse must not throw the transfer away).
#[test]
fn snapshot_in_chunks_is_installed_once_they_cover_its_length() {
    let bytes = empty_image(7);
    let third = bytes.len() / 3;
    let mut r = Replica::new(config(2), AppendLog::default()).unwrap();
    let bounds = [0, third, 2 * third, bytes.len()];
    for (k, w) in bounds.windows(2).enumerate() {
        let ready = r.step(from(
            1,
            Message::SnapshotChunk {
                upto: 7,
                offset: w[0] as u64,
                total_len: bytes.len() as u64,
                data: bytes[w[0]..w[1]].to_vec(),
            },
        ));
        if w[1] < bytes.len() {
            assert!(ready.persist.is_empty(), "chunk {k}: {ready:?}");
            assert_eq!(r.status().snapshot_upto, 0);
        } else {
            assert_installs_snapshot(&ready);
        }
    }
    assert_eq!(r.status().snapshot_upto, 7);
}

/// P2c (Paxos Made Simple, 2.2): for each slot a new leader proposes the
/// value of the highest-numbered proposal its phase-1 quorum reports, in
/// whatever order the reports come (here its own acceptor's, at the higher
/// ballot, comes before replica 2's, at a lower one).
#[test]
fn p2c_new_leader_adopts_the_value_of_the_highest_ballot_reported() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
    r.step(from(
        3,
        Message::Accept {
            ballot: ballot(2, 3),
            slot: 0,
            entry: entry(23),
            chosen_upto: 0,
        },
    ));
    let b = stand(&mut r);
    assert!(b > ballot(2, 3));
    let ready = r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![(0, ballot(1, 2), entry(12))],
        },
    ));
    assert!(r.status().is_leader);
    let proposed: Vec<_> = ready
        .messages
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Accept { slot: 0, entry, .. } => Some(entry.clone()),
            _ => None,
        })
        .collect();
    assert!(!proposed.is_empty(), "{ready:?}");
    assert!(proposed.iter().all(|e| *e == entry(23)), "{proposed:?}");
}

/// An amnesiac replica's recovery round re-proposes every slot some peer
/// has not snapshotted, so it must first know every slot below the highest
/// snapshot its promisers report: below that it catches up (a fetch from
/// the promiser furthest ahead) instead of leading; at it, it leads.
#[test]
fn amnesiac_candidate_leads_only_once_it_knows_what_its_promisers_snapshotted() {
    // An amnesiac candidate counts only promises echoing its recovery nonce.
    let nonce = Some(config(1).seed);
    let promise = |b, snapshot_upto| Message::Promise {
        recovery: nonce,
        ballot: b,
        snapshot_upto,
        accepted: vec![],
    };
    let mut level = Replica::amnesiac(config(1), AppendLog::default()).unwrap();
    let b = stand(&mut level);
    level.step(from(2, promise(b, 0)));
    level.step(from(3, promise(b, 0)));
    assert!(level.status().is_leader, "{:?}", level.status());

    let mut behind = Replica::amnesiac(config(1), AppendLog::default()).unwrap();
    let b = stand(&mut behind);
    behind.step(from(2, promise(b, 0)));
    let ready = behind.step(from(3, promise(b, 5)));
    assert!(!behind.status().is_leader, "{:?}", behind.status());
    assert!(
        ready
            .messages
            .iter()
            .any(|(to, m)| *to == 3 && matches!(m, Message::Fetch { from_slot: 0 })),
        "{ready:?}"
    );
}

/// Paxos Made Live's amnesia rule (`end_amnesia_if_recovered`): a wiped
/// replica votes again only once every slot its peers still hold has been
/// accepted again in its recovery ballot by a quorum of the others; with
/// nothing to re-propose, as soon as it leads.
#[test]
fn amnesiac_leader_votes_again_once_its_recovery_slots_are_chosen() {
    let nonce = Some(config(3).seed);
    let promise = |b, accepted| Message::Promise {
        recovery: nonce,
        ballot: b,
        snapshot_upto: 0,
        accepted,
    };
    let mut empty = Replica::amnesiac(config(3), AppendLog::default()).unwrap();
    let b = stand(&mut empty);
    empty.step(from(1, promise(b, vec![])));
    empty.step(from(2, promise(b, vec![])));
    assert!(empty.status().is_leader && empty.status().voting);

    let mut r = Replica::amnesiac(config(3), AppendLog::default()).unwrap();
    r.step(leader_1_announces(0));
    let b = stand(&mut r);
    let held = vec![(0, ballot(1, 1), entry(5))];
    r.step(from(1, promise(b, held.clone())));
    r.step(from(2, promise(b, held)));
    assert!(r.status().is_leader && !r.status().voting);
    let accepted = Message::Accepted { ballot: b, slot: 0 };
    r.step(from(1, accepted.clone()));
    assert!(!r.status().voting, "one acceptance of the two needed");
    r.step(from(2, accepted));
    assert_eq!(r.status().chosen_upto, 1);
    assert!(r.status().voting);
}
