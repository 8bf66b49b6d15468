//! Findings of the adversarial review of commit 6c0e422 ("fix the five core
//! defects", issue 10). Each test is a deterministic schedule through
//! `Replica::step` that broke one of the core's claims before its fix, and
//! now checks the fixed behaviour on that same schedule.

use std::collections::BTreeMap;
use std::sync::Arc;

use synod::paxos::{
    Config, Entry, Input, Message, Outcome, Proposal, Quorums, Ready, Replica, SnapshotImage,
    StateMachine,
};
use synod::sim::{AppendCommand, AppendLog};

use super::rules::{ballot, config, from, stand, write};

type M = Message<AppendLog>;

/// A tiny hand-driven network: every message sent is queued; nothing is
/// delivered unless the test says so (loss, delay and reordering are the
/// test's choice).
pub(super) struct Net {
    pub(super) r: BTreeMap<u64, Replica<AppendLog>>,
    pub(super) q: Vec<(u64, u64, M)>,
}

impl Net {
    pub(super) fn new(ids: &[u64], cfg: impl Fn(u64) -> Config) -> Net {
        let r = ids
            .iter()
            .map(|&id| (id, Replica::new(cfg(id), AppendLog::default()).unwrap()))
            .collect();
        Net { r, q: Vec::new() }
    }

    pub(super) fn step(&mut self, id: u64, input: Input<AppendLog>) -> Ready<AppendLog> {
        let ready = self.r.get_mut(&id).unwrap().step(input);
        for (to, m) in &ready.messages {
            self.q.push((id, *to, m.clone()));
        }
        ready
    }

    /// Delivers, in order, every queued message matching `f` (messages they
    /// cause are queued, not delivered).
    pub(super) fn deliver(&mut self, f: impl Fn(u64, u64, &M) -> bool) -> usize {
        let (now, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.q)
            .into_iter()
            .partition(|(a, b, m)| f(*a, *b, m));
        self.q = keep;
        let n = now.len();
        for (a, b, m) in now {
            if self.r.contains_key(&b) {
                self.step(b, from(a, m));
            }
        }
        n
    }

    /// Removes and returns the first queued message matching `f`.
    pub(super) fn take(&mut self, f: impl Fn(u64, u64, &M) -> bool) -> (u64, u64, M) {
        let i = self
            .q
            .iter()
            .position(|(a, b, m)| f(*a, *b, m))
            .expect("no such message queued");
        self.q.remove(i)
    }

    /// Ticks `id` until it stands; the prepares stay queued.
    pub(super) fn stand(&mut self, id: u64) {
        for _ in 0..1000 {
            let ready = self.step(id, Input::Tick);
            if ready
                .messages
                .iter()
                .any(|(_, m)| matches!(m, Message::Prepare { .. }))
            {
                return;
            }
        }
        panic!("{id} never stood");
    }

    pub(super) fn chosen(&self, id: u64, slot: u64) -> Option<Vec<Proposal<AppendCommand>>> {
        self.r[&id]
            .learned()
            .find(|(s, _)| *s == slot)
            .map(|(_, e)| e.proposals.clone())
    }
}

fn is_prepare(m: &M) -> bool {
    matches!(m, Message::Prepare { .. })
}
fn is_promise(m: &M) -> bool {
    matches!(m, Message::Promise { .. })
}
fn is_accept(m: &M) -> bool {
    matches!(m, Message::Accept { .. })
}
fn is_accepted(m: &M) -> bool {
    matches!(m, Message::Accepted { .. })
}

/// Claim 1 / agreement. A leader that learns (from a delayed `Learn`) a slot
/// chosen in a higher ballot at or above its `next_slot` does not step down
/// (the slot is not in flight), and later proposes its own value at that
/// very slot with `chosen_upto` past it: the accept itself teaches an
/// acceptor of its ballot the unchosen value.
///
/// 5 replicas. Slot 1 ends up `w` (chosen in ballot 3.2 by {2,3,4}) at
/// replica 2 and `v` at replica 5.
#[test]
fn review_leader_learning_a_slot_above_next_slot_teaches_an_unchosen_value() {
    let mut net = Net::new(&[1, 2, 3, 4, 5], |id| {
        Config::new(id, [1, 2, 3, 4, 5]).unwrap()
    });
    // Replica 2 leads ballot 1.2 with {2,3,4} and chooses x at slot 0.
    net.stand(2);
    net.deliver(|a, b, m| a == 2 && (b == 3 || b == 4) && is_prepare(m));
    net.deliver(|a, b, m| b == 2 && (a == 3 || a == 4) && is_promise(m));
    assert!(net.r[&2].status().is_leader);
    net.q.clear();
    net.step(2, Input::Request(write(100, 1, 10)));
    net.deliver(|a, b, m| a == 2 && (b == 3 || b == 4) && is_accept(m));
    net.deliver(|_, b, m| b == 2 && is_accepted(m));
    assert_eq!(net.r[&2].status().chosen_upto, 1);
    // Its commit reaches replica 1, which asks replica 2 for slot 0: the
    // network holds that fetch (delays it).
    net.deliver(|a, b, m| a == 2 && b == 1 && matches!(m, Message::Commit { .. }));
    let held_fetch = net.take(|a, b, m| a == 1 && b == 2 && matches!(m, Message::Fetch { .. }));
    net.q.clear();

    // Replica 1 stands (ballot 2.1); 2, 3, 5 promise, only 3's and 5's
    // promises arrive. 1 adopts x at slot 0; its accept reaches 5 only.
    net.stand(1);
    net.deliver(|a, b, m| a == 1 && [2, 3, 5].contains(&b) && is_prepare(m));
    net.deliver(|a, b, m| b == 1 && (a == 3 || a == 5) && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    net.deliver(|a, b, m| a == 1 && b == 5 && is_accept(m));
    net.q.clear();

    // Replica 2 (deposed by 2.1's prepare) stands again (3.2) with {2,3,4}
    // and chooses w at slot 1.
    assert!(!net.r[&2].status().is_leader);
    net.stand(2);
    net.deliver(|a, b, m| a == 2 && (b == 3 || b == 4) && is_prepare(m));
    net.deliver(|a, b, m| b == 2 && (a == 3 || a == 4) && is_promise(m));
    assert!(net.r[&2].status().is_leader);
    net.q.clear();
    net.step(2, Input::Request(write(200, 1, 20)));
    net.deliver(|a, b, m| a == 2 && (b == 3 || b == 4) && is_accept(m));
    net.deliver(|_, b, m| b == 2 && is_accepted(m));
    assert_eq!(net.r[&2].status().chosen_upto, 2);
    net.q.clear();

    // The held fetch arrives now; replica 2's answer (slots 0 and 1) reaches
    // replica 1, which still leads ballot 2.1 with next slot 1.
    let (a, b, m) = held_fetch;
    net.step(b, from(a, m));
    net.deliver(|a, b, m| a == 2 && b == 1 && matches!(m, Message::Learn { .. }));
    assert_eq!(net.r[&1].status().chosen_upto, 2);
    // Slot 1 is past 1's next slot: chosen in a higher ballot. Before the
    // fix 1 went on leading, proposed v at slot 1 with chosen_upto 2, and
    // replica 5 learned v there from that accept alone.
    assert!(
        !net.r[&1].status().is_leader,
        "1 learned slot 1, at its next slot, and still leads"
    );
    net.q.clear();
    let reply = net.step(1, Input::Request(write(300, 1, 30)));
    assert!(
        matches!(reply.replies[0].outcome, Outcome::NotLeader { .. }),
        "{:?}",
        reply.replies
    );
    net.deliver(|a, b, m| a == 1 && b == 5 && is_accept(m));
    let at_2 = net.chosen(2, 1);
    let at_5 = net.chosen(5, 1);
    assert!(at_2.is_some());
    assert!(
        at_5.is_none() || at_5 == at_2,
        "agreement: slot 1 is {at_2:?} at replica 2, {at_5:?} at replica 5"
    );
}

/// Claim 5. A promise's slots are bounded by the candidate's
/// `known_chosen_upto` + `max_slot_lead`, but a refused promise itself raises
/// `known_chosen_upto` to `far - max_slot_lead`, unchecked. So two promises
/// from one member (the first reporting slot u64::MAX - 1, the second slot
/// N) make the candidate fill and broadcast N slots.
#[test]
fn review_two_promises_from_one_member_make_the_candidate_fill_n_slots() {
    let c = config(1);
    let lead = c.max_slot_lead;
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    let b = stand(&mut r);
    let promise = |slot: u64| {
        from(
            2,
            Message::Promise {
                recovery: None,
                ballot: b,
                snapshot_upto: 0,
                accepted: vec![(slot, ballot(0, 2), super::rules::entry(1))],
            },
        )
    };
    let first = r.step(promise(u64::MAX - 1));
    assert!(!r.status().is_leader, "refused: {:?}", first.messages);
    let n = 200_000u64;
    let ready = r.step(promise(n));
    let sent = ready.messages.len() as u64;
    assert!(
        sent <= 8 * lead,
        "one promise made the candidate lead and send {sent} messages (leader: {})",
        r.status().is_leader
    );
}

/// Claim 5 (variant): `known_chosen_upto` is also raised unchecked by a
/// member's `Commit`/`Accept` `chosen_upto`. A Commit naming chosen_upto =
/// u64::MAX disables the promise bound for good.
#[test]
fn review_commit_with_huge_chosen_upto_disables_the_promise_bound() {
    let c = config(1);
    let lead = c.max_slot_lead;
    let mut r = Replica::new(c, AppendLog::default()).unwrap();
    r.step(from(
        2,
        Message::Commit {
            ballot: ballot(1, 2),
            first_slot: 0,
            chosen_upto: u64::MAX,
            read_round: 0,
            promisers: vec![2, 3],
        },
    ));
    let b = stand(&mut r);
    let ready = r.step(from(
        2,
        Message::Promise {
            recovery: None,
            ballot: b,
            snapshot_upto: 0,
            accepted: vec![(200_000, ballot(1, 2), super::rules::entry(1))],
        },
    ));
    let sent = ready.messages.len() as u64;
    assert!(sent <= 8 * lead, "sent {sent} messages");
}

/// Claim 3 (SeqReused). A retry with the same (client, seq) but another
/// command, while the first is in flight, is silently merged and answered
/// with the first command's answer, not SeqReused.
#[test]
fn review_same_seq_other_command_in_flight_gets_the_other_answer() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
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
    let first = r.step(Input::Request(write(7, 1, 5)));
    let slot = first
        .messages
        .iter()
        .find_map(|(_, m)| match m {
            Message::Accept { slot, .. } => Some(*slot),
            _ => None,
        })
        .unwrap();
    // Before the fix, this was dropped as a retry, and its client got
    // Append(5)'s answer when that applied.
    let second = r.step(Input::Request(write(7, 1, 6)));
    let refused: Vec<_> = second.replies.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(refused, vec![Outcome::SeqReused]);
    let done = r.step(from(2, Message::Accepted { ballot: b, slot }));
    assert_eq!(r.state().values, vec![5]);
    let replies: Vec<_> = done.replies.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(matches!(replies[0], Outcome::Ok(_)), "{replies:?}");
}

/// Claim 2. With a Flexible-Paxos configuration whose phase-1 quorum is 1
/// (phase 2 = all 3), a voting leader's ballot was known only to its own
/// acceptor: after a wipe, the amnesiac picked the same ballot (1.1), every
/// other replica promised it "strictly above" their promise (ZERO), and the
/// old incarnation's delayed accepts in 1.1 then overwrote the new
/// incarnation's value in the same ballot. Such quorums are now refused;
/// with a phase-1 quorum of 2 the same schedule gives the amnesiac a fresh
/// ballot, and the delayed accepts are refused.
#[test]
fn review_wipe_with_phase1_of_one_reuses_a_ballot() {
    let lone = Quorums {
        members: 3,
        phase1: 1,
        phase2: 3,
    };
    assert_eq!(
        lone.validate(),
        Err(synod::paxos::QuorumError::LonePhase1 { members: 3 })
    );
    let cfg = |id: u64| Config::new(id, [1, 2, 3]).unwrap();
    let mut net = Net::new(&[1, 2, 3], cfg);
    // Old incarnation of 1 leads 1.1 with 2's promise and proposes v at slot
    // 0; its accepts are delayed in the network.
    net.stand(1);
    net.deliver(|a, b, m| a == 1 && b != 3 && is_prepare(m));
    net.deliver(|a, b, m| b == 1 && a != 3 && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    let old_ballot = net.r[&1].status().ballot;
    net.q.clear();
    net.step(1, Input::Request(write(7, 1, 5)));
    let delayed: Vec<_> = std::mem::take(&mut net.q)
        .into_iter()
        .filter(|(a, b, m)| *a == 1 && *b != 1 && is_accept(m))
        .collect();
    assert_eq!(delayed.len(), 2);

    // Disk wiped: 1 restarts amnesiac with a fresh seed (nonce), and runs
    // until it leads and votes again.
    let mut c1 = cfg(1);
    c1.seed = 0xdead_beef;
    net.r
        .insert(1, Replica::amnesiac(c1, AppendLog::default()).unwrap());
    for _ in 0..2000 {
        let s = net.r[&1].status();
        if s.is_leader && s.voting {
            break;
        }
        net.step(1, Input::Tick);
        while net.deliver(|_, _, _| true) > 0 {}
    }
    let s = net.r[&1].status();
    assert!(s.is_leader && s.voting, "{s:?}");
    assert!(s.ballot > old_ballot, "ballot {} used twice", s.ballot);
    net.step(1, Input::Request(write(8, 1, 6)));
    while net.deliver(|_, _, _| true) > 0 {}
    // The old incarnation's accepts arrive now: refused, below the promise.
    for (a, b, m) in delayed {
        net.step(b, from(a, m));
    }
    for _ in 0..10 {
        net.step(1, Input::Tick);
        while net.deliver(|_, _, _| true) > 0 {}
    }
    assert_eq!(net.r[&1].state().values, vec![6]);
    for id in [2, 3] {
        assert_eq!(net.chosen(1, 0), net.chosen(id, 0), "agreement at slot 0");
    }
}

/// Claim 5 (arithmetic). A member's snapshot claiming every slot below
/// u64::MAX, installed by a leader, makes its next proposal overflow
/// `next_slot` (a panic with overflow checks, a wrap to slot 0 without).
#[test]
fn review_snapshot_near_u64_max_overflows_next_slot() {
    let mut r = Replica::new(config(1), AppendLog::default()).unwrap();
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
    let image = SnapshotImage::<AppendLog> {
        upto: u64::MAX,
        log_ticks: 0,
        sessions: Default::default(),
        state: AppendLog::default().snapshot(),
    };
    let data = serde_json::to_vec(&image).unwrap();
    r.step(from(
        2,
        Message::SnapshotChunk {
            upto: u64::MAX,
            offset: 0,
            total_len: data.len() as u64,
            data,
        },
    ));
    // The snapshot covers slots past its next one: it steps down. Leading
    // again, its log is full: the request waits, nothing overflows.
    assert!(!r.status().is_leader);
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
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        r.step(Input::Request(write(7, 1, 5)))
    }));
    let ready = result.expect("a client request panicked the leader");
    assert!(
        !ready.messages.iter().any(|(_, m)| is_accept(m)),
        "proposed past the last slot: {:?}",
        ready.messages
    );
}

#[allow(dead_code)]
fn _unused(_: Arc<Entry<AppendCommand>>) {}

/// Claim 4 (liveness after faults heal). A leader whose in-flight slot was
/// snapshotted by every other acceptor after they promised is never told:
/// `on_accept` drops an accept below the snapshot silently, and the leader
/// fetches only when `chosen_upto < known_chosen_upto`, which nothing raises.
/// Its heartbeats keep everyone else from standing: the cluster stalls for
/// good, with every message delivered.
///
/// 3 replicas, snapshot_interval 1. Slot 0 = x chosen in 1.1 by {1,3};
/// 2 missed it and its fetch to 1 is delayed; 3 (which never learned that
/// slot 0 was chosen) leads 2.3 with {3,2} and re-proposes x at slot 0;
/// the delayed fetch then gets 2 a snapshot past slot 0.
#[test]
fn review_leader_whose_in_flight_slot_is_snapshotted_elsewhere_stalls_forever() {
    let mut net = Net::new(&[1, 2, 3], |id| {
        let mut c = config(id);
        c.snapshot_interval = 1;
        c
    });
    net.stand(1);
    net.deliver(|a, _, m| a == 1 && is_prepare(m));
    net.deliver(|_, b, m| b == 1 && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    net.q.clear();
    net.step(1, Input::Request(write(7, 1, 5)));
    // The accept to 2 is lost; 3 accepts; slot 0 is chosen at 1.
    net.deliver(|a, b, m| a == 1 && b == 3 && is_accept(m));
    net.deliver(|a, b, m| a == 3 && b == 1 && is_accepted(m));
    assert_eq!(net.r[&1].status().snapshot_upto, 1);
    // 1's commit reaches 2 only; 2 fetches slot 0 from 1 (delayed).
    net.deliver(|a, b, m| a == 1 && b == 2 && matches!(m, Message::Commit { .. }));
    let fetch = net.take(|a, b, m| a == 2 && b == 1 && matches!(m, Message::Fetch { .. }));
    net.q.clear();
    // 3 stands and leads with 2's promise; it re-proposes x at slot 0.
    net.stand(3);
    net.deliver(|a, b, m| a == 3 && b == 2 && is_prepare(m));
    net.deliver(|a, b, m| a == 2 && b == 3 && is_promise(m));
    assert!(net.r[&3].status().is_leader);
    net.q.retain(|(a, _, _)| *a == 3);
    // The delayed fetch arrives: 1 answers with its snapshot, 2 installs it.
    let (a, b, m) = fetch;
    net.step(b, from(a, m));
    net.deliver(|a, b, m| a == 1 && b == 2 && matches!(m, Message::SnapshotChunk { .. }));
    assert_eq!(net.r[&2].status().snapshot_upto, 1);

    // Every fault heals: all messages delivered, all replicas tick.
    net.step(3, Input::Request(write(8, 1, 6)));
    for _ in 0..500 {
        for id in [1, 2, 3] {
            net.step(id, Input::Tick);
        }
        for _ in 0..5 {
            if net.deliver(|_, _, _| true) == 0 {
                break;
            }
        }
    }
    let s: Vec<_> = [1, 2, 3].iter().map(|id| net.r[id].status()).collect();
    assert!(
        s.iter().all(|s| s.applied_upto >= 2),
        "stalled after healing: {s:#?}"
    );
}

/// Claim 3 (log time), weaker: a lagging leader's base is fixed when it
/// takes over; log time it learns afterwards (here a snapshot fetched from
/// its promiser) does not move the base, so applied log time freezes for as
/// long as the leader lagged (leases are not expired, sessions not aged).
#[test]
fn review_lagging_leader_freezes_log_time_for_the_length_of_its_lag() {
    let mut net = Net::new(&[1, 2, 3], |id| {
        let mut c = config(id);
        c.snapshot_interval = 1;
        c
    });
    net.stand(1);
    net.deliver(|a, b, m| a == 1 && b == 2 && is_prepare(m));
    net.deliver(|_, b, m| b == 1 && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    for _ in 0..500 {
        net.step(1, Input::Tick);
    }
    net.q.clear();
    net.step(1, Input::Request(write(7, 1, 5)));
    net.deliver(|a, b, m| a == 1 && b == 2 && is_accept(m));
    net.deliver(|a, b, m| a == 2 && b == 1 && is_accepted(m));
    net.deliver(|a, b, m| a == 1 && b == 2 && matches!(m, Message::Commit { .. }));
    let t = net.r[&2].state().last_ticks;
    assert!(t >= 500, "{t}");
    assert_eq!(net.r[&2].status().snapshot_upto, 1);
    net.q.clear();
    // 3, which heard nothing, leads with 2's promise and fetches the snapshot.
    net.stand(3);
    net.deliver(|a, b, m| a == 3 && b == 2 && is_prepare(m));
    net.deliver(|a, b, m| a == 2 && b == 3 && is_promise(m));
    assert!(net.r[&3].status().is_leader);
    net.deliver(|a, b, m| a == 3 && b == 2 && matches!(m, Message::Fetch { .. }));
    net.deliver(|a, b, m| a == 2 && b == 3 && matches!(m, Message::SnapshotChunk { .. }));
    assert_eq!(net.r[&3].status().applied_upto, 1);
    net.q.clear();
    // 3 leads for 200 ticks, a write every 10.
    for i in 0..200u64 {
        net.step(3, Input::Tick);
        if i % 10 == 9 {
            net.step(3, Input::Request(write(8, 1 + i / 10, i)));
        }
        net.deliver(|a, b, m| a == 3 && b == 2 && is_accept(m));
        net.deliver(|a, b, m| a == 2 && b == 3 && is_accepted(m));
        net.q.clear();
    }
    let now = net.r[&3].state().last_ticks;
    assert!(net.r[&3].status().applied_upto > 10);
    assert!(
        now >= t + 150,
        "log time {now} after leading 200 ticks from log time {t}: frozen"
    );
}
