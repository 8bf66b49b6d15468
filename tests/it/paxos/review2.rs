//! Findings of the second adversarial review (of commit 90b8cdb, "fix the
//! review's findings"). Each test is a deterministic schedule through
//! `Replica::step` that breaks one of the core's claims; each asserts the
//! correct behaviour, so it failed on the code it was written against. Four
//! are fixed; one is open, ignored, and named in the README's "What is NOT
//! checked".

use std::sync::Arc;

use synod::paxos::{Config, Entry, Input, Message, Outcome, QuorumError, Quorums, Replica};
use synod::sim::{AppendCommand, AppendLog};

use super::review::Net;
use super::rules::{from, read, write};

type M = Message<AppendLog>;

pub(super) fn is_prepare(m: &M) -> bool {
    matches!(m, Message::Prepare { .. })
}
pub(super) fn is_promise(m: &M) -> bool {
    matches!(m, Message::Promise { .. })
}

/// Claim 8 (and 1). `Quorums` accepts a phase-2 quorum of one in a cluster
/// of more (here 3 members, phase 1 = 3, phase 2 = 1: 3 + 1 > 3, phase 1 is
/// not 1). It is the dual of `LonePhase1`: a value chosen by one acceptor
/// alone is held by that acceptor's disk alone, and one wipe (which the
/// amnesia rule claims to tolerate) loses it. The amnesiac's recovery round
/// only re-proposes what some peer still *accepted* (promises do not carry
/// chosen-but-not-accepted values), so it finds nothing, votes again, and
/// proposes a second value at the slot.
///
/// Schedule (3 replicas, quorums 3/1):
/// 1. 1 leads ballot 1.1 (promises of 1, 2, 3).
/// 2. A client writes 5: 1's own acceptance alone chooses it at slot 0 (the
///    accepts to 2 and 3 are lost); 1 applies it and answers `Ok`.
/// 3. 1's commit reaches 2, which fetches slot 0 from 1 and learns 5.
/// 4. 1's disk is wiped; it restarts amnesiac (fresh seed). Everything is
///    delivered except fetches/learns/snapshots between 1 and 2 (lost).
///    1's recovery round finds no accepted value anywhere, ends at once, and
///    1 votes and leads.
/// 5. A client writes 6: 1 chooses it at slot 0 on its own acceptance.
///    Slot 0 is 5 at replica 2, 6 at replica 1.
///
/// Fixed by refusing the configuration (`QuorumError::LonePhase2`): the
/// schedule above cannot start.
#[test]
fn review2_phase2_quorum_of_one_is_refused() {
    let q = Quorums {
        members: 3,
        phase1: 3,
        phase2: 1,
    };
    assert_eq!(q.validate(), Err(QuorumError::LonePhase2 { members: 3 }));
    let mut c = Config::new(1, [1, 2, 3]).unwrap();
    c.quorums = q;
    assert!(Replica::new(c, AppendLog::default()).is_err());
}

/// Claim 4 (bounded work). An amnesiac's recovery round re-proposes every
/// slot from the lowest peer snapshot to its own chosen bound, all at once:
/// `become_leader` puts `[min_snap.max(snapshot_upto), chosen_upto)` in
/// flight without regard to `window` or `max_slot_lead`, and every heartbeat
/// retransmits it all. With `snapshot_interval = 0` (never snapshot, a valid
/// configuration) that is the whole log: one promise, from a well-behaved
/// peer, makes one step emit `(members - 1) * log length` accepts.
///
/// Schedule (3 replicas, window 4, max_slot_lead 16, snapshot_interval 0):
/// 1. 1 is wiped and restarts amnesiac.
/// 2. It catches up 400 chosen slots from 2 (50 `Learn`s of 8 entries, each
///    within `chosen_upto + max_slot_lead`).
/// 3. It stands (recovery prepare); 2 and 3 promise, snapshot 0, nothing
///    accepted.
/// 4. The second promise makes it lead and broadcast 400 accepts to 2 and 3:
///    800 messages in one step (bound here: 8 * max_slot_lead = 128).
#[test]
#[ignore = "open: an amnesiac's recovery round is not windowed (README, What is NOT checked)"]
fn review2_amnesiac_recovery_reproposes_the_whole_log_in_one_step() {
    let mut c = Config::new(1, [1, 2, 3]).unwrap();
    c.window = 4;
    c.max_slot_lead = 16;
    c.max_learn_entries = 8;
    c.snapshot_interval = 0;
    c.validate().unwrap();
    let lead = c.max_slot_lead;
    let mut r = Replica::amnesiac(c, AppendLog::default()).unwrap();
    let n = 400u64;
    for base in (0..n).step_by(8) {
        let entries = (base..base + 8)
            .map(|s| (s, Arc::new(Entry::<AppendCommand>::noop(s))))
            .collect();
        r.step(from(2, Message::Learn { entries }));
    }
    assert_eq!(r.status().chosen_upto, n);
    let (ballot, recovery) = (0..1000)
        .find_map(|_| {
            r.step(Input::Tick)
                .messages
                .into_iter()
                .find_map(|(_, m)| match m {
                    Message::Prepare {
                        ballot, recovery, ..
                    } => Some((ballot, recovery)),
                    _ => None,
                })
        })
        .expect("stands");
    let promise = || Message::Promise {
        ballot,
        recovery,
        snapshot_upto: 0,
        accepted: vec![],
    };
    r.step(from(2, promise()));
    let ready = r.step(from(3, promise()));
    assert!(r.status().is_leader);
    let sent = ready.messages.len() as u64;
    assert!(
        sent <= 8 * lead,
        "one promise made the amnesiac send {sent} messages (max_slot_lead {lead})"
    );
}

/// Claim 3 (SeqReused). A read-only command in `ReadIndex` mode that reuses
/// the `(client, seq)` of a write already applied (or in flight) is served as
/// a read (`Ok(Read{..})`), not refused with `SeqReused`: `on_request` sends
/// read-only commands to `read_index` before it looks at the session table
/// or at `waiting`.
///
/// Schedule (3 replicas): 1 leads; client 7 writes 5 with seq 1 (applied,
/// `Ok`); client 7 sends `Read` with seq 1; 2 confirms the read round.
/// Expected `SeqReused`; got `Ok(Read { len: 1, .. })`. Fixed: the session
/// table and `waiting` are consulted before a read goes to `read_index`.
#[test]
fn review2_read_reusing_an_applied_seq_is_refused() {
    let mut net = Net::new(&[1, 2, 3], |id| Config::new(id, [1, 2, 3]).unwrap());
    net.stand(1);
    net.deliver(|a, b, m| a == 1 && b == 2 && is_prepare(m));
    net.deliver(|_, b, m| b == 1 && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    net.q.clear();
    net.step(1, Input::Request(write(7, 1, 5)));
    net.deliver(|a, b, m| a == 1 && b == 2 && matches!(m, Message::Accept { .. }));
    let ready = net.step(
        1,
        from(
            2,
            net.q
                .iter()
                .find(|(a, _, m)| *a == 2 && matches!(m, Message::Accepted { .. }))
                .unwrap()
                .2
                .clone(),
        ),
    );
    assert!(matches!(ready.replies[0].outcome, Outcome::Ok(_)));
    net.q.clear();
    let mut replies = net
        .step(
            1,
            Input::Request(read(7, 1, synod::paxos::ReadMode::ReadIndex)),
        )
        .replies;
    for _ in 0..5 {
        net.deliver(|a, b, m| a == 1 && b == 2 && matches!(m, Message::Commit { .. }));
        for (a, b, m) in std::mem::take(&mut net.q) {
            if a == 2 && b == 1 {
                replies.extend(net.step(1, from(a, m)).replies);
            }
        }
        replies.extend(net.step(1, Input::Tick).replies);
    }
    let outcomes: Vec<_> = replies.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(outcomes, vec![Outcome::SeqReused]);
}

impl Net {
    /// Healed network: every replica ticks, every message is delivered, for
    /// `rounds` rounds. Returns every client reply.
    pub(super) fn run(&mut self, rounds: usize) -> Vec<(u64, Outcome<synod::sim::AppendResponse>)> {
        let ids: Vec<u64> = self.r.keys().copied().collect();
        let mut replies = Vec::new();
        for _ in 0..rounds {
            for &id in &ids {
                let ready = self.step(id, Input::Tick);
                replies.extend(ready.replies.into_iter().map(|r| (r.client_id, r.outcome)));
            }
            for _ in 0..10 {
                let q = std::mem::take(&mut self.q);
                if q.is_empty() {
                    break;
                }
                for (a, b, m) in q {
                    let ready = self.step(b, from(a, m));
                    replies.extend(ready.replies.into_iter().map(|r| (r.client_id, r.outcome)));
                }
            }
        }
        replies
    }

    /// A client that writes `v` with (client, 1), retrying every 10 rounds at
    /// the replica the last answer named (or each in turn), for `rounds`
    /// rounds of a healed network. Whether it got `Ok`.
    pub(super) fn client_write(&mut self, client: u64, v: u64, rounds: usize) -> bool {
        let ids: Vec<u64> = self.r.keys().copied().collect();
        let mut target = ids[0];
        for round in 0..rounds {
            let mut replies = Vec::new();
            if round % 10 == 0 {
                let ready = self.step(target, Input::Request(write(client, 1, v)));
                replies.extend(ready.replies.into_iter().map(|r| (r.client_id, r.outcome)));
            }
            replies.extend(self.run(1));
            for (c, o) in replies {
                if c != client {
                    continue;
                }
                match o {
                    Outcome::Ok(_) => return true,
                    Outcome::NotLeader { hint: Some(h) } | Outcome::Unknown { hint: Some(h) } => {
                        target = h
                    }
                    _ => {
                        target =
                            ids[(ids.iter().position(|i| *i == target).unwrap() + 1) % ids.len()]
                    }
                }
            }
        }
        false
    }
}

/// Claim 5 (and 8). `Quorums` accepts a phase-2 quorum of every member
/// (3 members, phase 1 = 2, phase 2 = 3), but the amnesia rule needs a
/// phase-2 quorum *of the others* to re-accept the recovery slots, and an
/// amnesiac's own acceptor accepts nothing: with phase 2 = members neither
/// the amnesiac's recovery nor any other leader's slot can ever gather a
/// phase-2 quorum. One wipe stops the cluster for good, with every replica
/// up and every message delivered. (The swarm with these quorums on its
/// 3-replica seeds stalls in 39 of 100 seeds; with 5 replicas, 2/4 passes.)
///
/// Schedule (3 replicas, quorums 2/3, no faults but one):
/// 1. A client writes 4; it is chosen and applied (slot 0).
/// 2. 3's disk is wiped; it restarts amnesiac.
/// 3. Every replica ticks and every message is delivered; a client writes 5,
///    retrying wherever the answers point, for 3,000 rounds: never applied
///    (3's recovery round waits for 3 acceptances of slot 0 among 1 and 2).
///
/// Fixed by refusing the configuration (`QuorumError::FullPhase2`): the
/// schedule above cannot start.
#[test]
fn review2_phase2_quorum_of_all_members_is_refused() {
    let q = Quorums {
        members: 3,
        phase1: 2,
        phase2: 3,
    };
    assert_eq!(q.validate(), Err(QuorumError::FullPhase2 { members: 3 }));
    let mut c = Config::new(1, [1, 2, 3]).unwrap();
    c.quorums = q;
    assert!(Replica::new(c, AppendLog::default()).is_err());
}

/// Claim 5 (liveness after healing; `Compacted`). An amnesiac leader's
/// recovery round re-proposes a known chosen slot that one peer has
/// compacted and the other has not. The compacting peer answers
/// `Compacted`, which only raises `known_chosen_upto`; but the amnesiac
/// already holds that slot chosen (it had to catch up to every promiser's
/// snapshot before leading), so it does not fetch, and the slot never gets
/// its phase-2 quorum of the others. It stays in flight for ever: with it
/// the window is full, so nothing else is proposed, the amnesiac never
/// votes, and its heartbeats keep everyone else from standing. Snapshots
/// at different slots on different replicas (a snapshot installed from a
/// peer is taken at the peer's applied bound) are all it takes.
///
/// Schedule (3 replicas, window 1, snapshot_interval 4, ballot b of 2):
/// 1. 2 leads b with 3's promise; slots 0-2 chosen by {2,3} (1 misses them).
/// 2. Slot 3 chosen by {2,1} (the accept to 3 is lost); 2 snapshots at 4.
///    2's commit makes 3 fetch slot 3: 2's answer, a snapshot up to 4, is
///    delayed. 1 learns slot 3 and fetches from 0: delayed too.
/// 3. Slot 4 chosen by {2,3}. 1's fetch arrives: 1 installs 2's state up
///    to 5 (snapshot_upto 5).
/// 4. 3 is wiped (amnesiac); the delayed snapshot up to 4 reaches it; it
///    fetches slot 4 from 2 (its fetches to 1 are lost). It knows 0-4 chosen.
/// 5. Healed: all tick, all delivered. 3 stands; 1 promises (snapshot 5),
///    2 promises (snapshot 4): 3 leads, recovery slot 4. 1 answers
///    `Compacted`, 2 accepts: 1 of the 2 needed, for ever. A client's write
///    is never applied.
///
/// With window 2 the same schedule recovers: client writes go through past
/// the stuck slot, and the amnesiac's own next snapshot drops it from the
/// recovery set. So it stalls whenever the stuck slots fill the window
/// (here 1; with the default 64, a 64-slot gap between peers' snapshots).
///
/// Fixed: a `Compacted` answer counts its sender as accepting the leader's
/// in-flight slots below it whose value the leader knows chosen
/// (`on_compacted`). The swarm found the same stall without plants (seeds 42
/// and 61 with 15,000 fault steps).
#[test]
fn review2_amnesiac_recovery_slot_compacted_by_one_peer_recovers() {
    let cfg = |id: u64| {
        let mut c = Config::new(id, [1, 2, 3]).unwrap();
        c.window = 1;
        c.snapshot_interval = 4;
        c
    };
    let mut net = Net::new(&[1, 2, 3], cfg);
    let is_accept = |m: &M| matches!(m, Message::Accept { .. });
    let is_accepted = |m: &M| matches!(m, Message::Accepted { .. });
    net.stand(2);
    net.deliver(|a, b, m| a == 2 && b == 3 && is_prepare(m));
    net.deliver(|a, b, m| a == 3 && b == 2 && is_promise(m));
    assert!(net.r[&2].status().is_leader);
    net.q.clear();
    // 1. Slots 0-2 by {2,3}.
    for v in 0..3u64 {
        net.step(2, Input::Request(write(10 + v, 1, v)));
        net.deliver(|a, b, m| a == 2 && b == 3 && is_accept(m));
        net.deliver(|a, b, m| a == 3 && b == 2 && is_accepted(m));
        net.q.clear();
    }
    assert_eq!(net.r[&2].status().applied_upto, 3);
    // 2. Slot 3 by {2,1}.
    net.step(2, Input::Request(write(13, 1, 3)));
    net.deliver(|a, b, m| a == 2 && b == 1 && is_accept(m));
    net.q.retain(|(a, _, m)| *a == 1 && is_accepted(m));
    net.deliver(|_, _, _| true);
    assert_eq!(net.r[&2].status().snapshot_upto, 4);
    net.q
        .retain(|(_, _, m)| matches!(m, Message::Commit { .. }));
    net.deliver(|_, _, _| true);
    net.deliver(|a, b, m| a == 3 && b == 2 && matches!(m, Message::Fetch { .. }));
    let to_3: Vec<_> = net
        .q
        .iter()
        .filter(|(a, b, m)| *a == 2 && *b == 3 && matches!(m, Message::SnapshotChunk { .. }))
        .cloned()
        .collect();
    assert!(!to_3.is_empty());
    let fetch_1 = net
        .q
        .iter()
        .find(|(a, b, m)| *a == 1 && *b == 2 && matches!(m, Message::Fetch { .. }))
        .cloned()
        .expect("1 fetches");
    net.q.clear();
    // 3. Slot 4 by {2,3}; then 1's fetch is answered with 2's state up to 5.
    net.step(2, Input::Request(write(14, 1, 4)));
    net.deliver(|a, b, m| a == 2 && b == 3 && is_accept(m));
    net.deliver(|a, b, m| a == 3 && b == 2 && is_accepted(m));
    net.q.clear();
    assert_eq!(net.r[&2].status().applied_upto, 5);
    net.q.push(fetch_1);
    net.deliver(|_, _, _| true);
    net.deliver(|a, b, m| a == 2 && b == 1 && matches!(m, Message::SnapshotChunk { .. }));
    assert_eq!(net.r[&1].status().snapshot_upto, 5);
    net.q.clear();
    // 4. Wipe 3; the delayed snapshot (up to 4) arrives; it fetches slot 4.
    let mut c3 = cfg(3);
    c3.seed = 0xfeed;
    net.r
        .insert(3, Replica::amnesiac(c3, AppendLog::default()).unwrap());
    net.q.extend(to_3);
    net.deliver(|_, _, _| true);
    assert_eq!(net.r[&3].status().snapshot_upto, 4);
    for _ in 0..200 {
        if net.r[&3].status().chosen_upto == 5 {
            break;
        }
        net.step(3, Input::Tick);
        net.q
            .retain(|(a, b, m)| *a == 3 && *b == 2 && matches!(m, Message::Fetch { .. }));
        net.deliver(|_, _, _| true);
        net.q
            .retain(|(a, b, m)| *a == 2 && *b == 3 && matches!(m, Message::Learn { .. }));
        net.deliver(|_, _, _| true);
        net.q.clear();
    }
    assert_eq!(net.r[&3].status().chosen_upto, 5);
    assert_eq!(net.r[&3].status().snapshot_upto, 4);
    // 5. Healed.
    let ok = net.client_write(99, 9, 3000);
    let s: Vec<_> = net.r.values().map(|r| r.status()).collect();
    assert!(ok, "no write applied 3,000 healed rounds later: {s:#?}");
}
