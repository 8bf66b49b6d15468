//! Findings of the fourth adversarial review (of commit a9a92af: a full
//! session table refuses new sessions with `Busy`; periodic catch-up fetches
//! at most once per election timeout and none while snapshot chunks arrive;
//! the simulator's ghost invariants). Each test is a deterministic schedule
//! through `Replica::step`, asserting the claimed behaviour; each failed on
//! the code it was written against and is `#[ignore]`d with its finding.
//!
//! # What was tried and held
//!
//! Claim 1 (sessions). Exactly-once held in every schedule tried, given
//! clients stop retrying within `session_timeout_ticks`:
//! - a first request refused `Full` at one slot and applied at a later one
//!   (two leaders' copies): applied once, but the refusal was answered
//!   `Busy` (finding 1, below);
//! - a copy left accepted in an unchosen slot below the applied one: slots
//!   apply in order, so the older copy decides first (it opens the session
//!   or is refused), and the later copy is a duplicate or is refused too;
//! - a copy queued at a deposed leader past the session's expiry: it is
//!   never proposed (its accepts are refused, the nack deposes it, and the
//!   queue is answered `NotLeader`);
//! - duplicates in one batch: a leader never queues a `(client, seq)` twice
//!   (`waiting`), and expiry runs after a whole slot, so within one slot a
//!   `Full` copy cannot be followed by an applied one;
//! - snapshots: the table, its expiry index and the log clock travel in the
//!   image, so an installed table decides `Full` as the log did;
//! - reads: a `ReadIndex` read never opens or uses a session slot (it is not
//!   logged), so it is never `Full`; `Log` reads go through the table like
//!   writes.
//!
//! Liveness: a full table starves *new* clients for as long as the sessions
//! in it stay in use (each within `session_timeout_ticks` of log time); the
//! clients holding sessions are served. Refused first requests still take
//! log slots whose log time advances with the leader's ticks, so idle
//! sessions do expire and the cluster never stops serving everyone. With
//! the defaults (10,000 sessions, 100,000 ticks) a burst of one-shot clients
//! (each `Client` draws a random id) locks new ones out for 100,000 ticks.
//! No test: documented behaviour.
//!
//! Claim 2 (fetches). Catch-up after healing held in every schedule tried:
//! - chunks of a lower `upto` than the transfer being assembled return
//!   before `last_chunk_ticks` is refreshed, and so do stale chunks (`upto`
//!   at or below `applied_upto`), oversized ones and those above
//!   `max_snapshot_bytes`: only chunks that add to the live transfer hold
//!   fetches back, and after healing they are finite;
//! - two senders with different `upto`s: the higher replaces the lower and
//!   the lower's chunks are ignored (no refresh); same `upto` gives the same
//!   image bytes (`SnapshotImage` is deterministic: `BTreeMap`s, the log
//!   clock of the slot), so their chunks tile one image;
//! - an incomplete transfer of an `upto` no peer will send again (the
//!   responder lags below it): once chunks stop, the gate reopens; the
//!   responder's own lag is closed by its fetches or its phase 1 (P2c), and
//!   then its image reaches that `upto`;
//! - a lost fetch (follower, leader, amnesiac): retried after one election
//!   timeout from the tick.
//!
//! The multiplication claim failed for `Learn` exchanges (finding 2, fixed).
//!
//! Claim 3 (ghost rules). No false alarm found:
//! - "two incarnations, one ballot": a ballot's node is its leader, a
//!   voting replica's own promise of its ballot is durable before its
//!   prepare leaves (and the simulator persists before it sends), a
//!   recovered replica stands above its promise, an amnesiac above every
//!   peer's promise (strictly) and above its `Stood` record; restarts never
//!   restore leadership;
//! - "one value per (ballot, slot)": a leadership proposes each slot once
//!   (`become_leader` below `end`, `propose` from `next_slot`, which only
//!   grows); retransmissions resend the in-flight entry; an amnesiac's
//!   recovery re-proposes the value it knows chosen, once;
//! - "announced bound over chosen values only": a leader's `chosen_upto`
//!   passes one of its own slots only by learning it; learning another
//!   value there, or any slot at or past `next_slot`, deposes it in the same
//!   step (`learn`), before any send; a snapshot covering an in-flight slot
//!   or `next_slot` deposes it; higher-ballot accepts, commits and prepares
//!   depose it first (`yield_to`); slots it skipped as known chosen are
//!   never proposed; `Accept.chosen_upto` is the leader's own bound;
//!   recovery re-proposals below it carry the chosen value; slots learned
//!   only by snapshot are skipped by the ghost (a missed alarm, never a
//!   false one).

use synod::paxos::{Config, Input, Message, Outcome};
use synod::sim::AppendLog;

use super::review::Net;
use super::review2::{is_prepare, is_promise};
use super::rules::write;

type M = Message<AppendLog>;

/// Delivers every queued message, and those they cause, until none is left
/// (no ticks). Returns every client reply, as `(client, outcome)`.
fn flush(net: &mut Net) -> Vec<(u64, Outcome<synod::sim::AppendResponse>)> {
    let mut replies = Vec::new();
    for _ in 0..100 {
        let q = std::mem::take(&mut net.q);
        if q.is_empty() {
            break;
        }
        for (a, b, m) in q {
            let ready = net.step(b, super::rules::from(a, m));
            replies.extend(ready.replies.into_iter().map(|r| (r.client_id, r.outcome)));
        }
    }
    replies
}

/// [`flush`], among the replicas `ids` only (every other message is lost).
fn flush_among(net: &mut Net, ids: &[u64]) {
    for _ in 0..100 {
        let q = std::mem::take(&mut net.q);
        if q.is_empty() {
            break;
        }
        for (a, b, m) in q {
            if ids.contains(&a) && ids.contains(&b) {
                net.step(b, super::rules::from(a, m));
            }
        }
    }
}

/// Finding 1. Claim 1 (`Busy` is definite: "a first request found the session table
/// full (nothing was applied)"). A `Busy` from the session table is sent by
/// whichever replica holds the client's request when *any* copy of
/// `(client, seq)` applies as `Full`; another copy of the same request, in a
/// later slot, may still apply once a session expired in between. The
/// client is told "nothing applied" and its command is applied.
///
/// Schedule (3 replicas, `max_sessions` 1, `session_timeout_ticks` 30,
/// `max_batch` 1):
/// 1. 1 leads; client 100's first request (value 1) is chosen and applied
///    at slot 0: the table is full.
/// 2. Client 200's first request (value 2) goes to 1: its accept for slot 1
///    reaches 2 only; everything else of 1 is lost.
/// 3. 2 stands, 3 promises: 2 leads and re-proposes slot 1 (200's request,
///    P2c). 2 leads for 100 ticks (its accepts are held back).
/// 4. Client 300's first request (value 3) goes to 2 (slot 2), then client
///    200 retries its request (value 2, same seq) at 2 (slot 3).
/// 5. Everything is delivered. Slot 1 applies `Full`: 2, holding 200's
///    retry, answers `Busy`. Slot 2 applies `Full`, and after it client
///    100's session (last used at log time ~0) expires at log time ~100.
///    Slot 3 opens 200's session and applies value 2; no one answers it.
///
/// Here the client was first answered `Unknown` (1 lost its leadership), so
/// neither bundled client misreports it: the simulator's clients retry
/// `Busy` under the same seq (and get the session's `Ok`), and
/// `node::client` has already counted the request as sent. What breaks is
/// the core's contract (`Outcome::Busy`, `mod.rs`: definite, nothing
/// applied), for any client that takes it at its word. A fix: answer
/// `Busy` only from `on_request`, and a `Full` at apply as indefinite (or
/// `Busy` only when no other copy can be in the log, which the core cannot
/// know).
///
/// Expected: a client answered `Busy` does not see its command applied.
#[test]
fn review4_busy_from_a_full_table_means_not_applied() {
    let cfg = |id: u64| {
        let mut c = Config::new(id, [1, 2, 3]).unwrap();
        c.max_sessions = 1;
        c.session_timeout_ticks = 30;
        c.max_batch = 1;
        c
    };
    let mut net = Net::new(&[1, 2, 3], cfg);
    net.stand(1);
    net.deliver(|_, _, m| is_prepare(m));
    net.deliver(|_, b, m| b == 1 && is_promise(m));
    assert!(net.r[&1].status().is_leader);
    net.step(1, Input::Request(write(100, 1, 1)));
    let mut replies = flush(&mut net);
    assert!(replies.contains(&(100, Outcome::Ok(synod::sim::AppendResponse::Appended(1)))));
    assert_eq!(net.r[&2].state().values, vec![1]);

    // 200's first request: slot 1, accepted by 2 only.
    net.step(1, Input::Request(write(200, 1, 2)));
    let accept = net.take(|a, b, m| a == 1 && b == 2 && matches!(m, M::Accept { .. }));
    net.q.clear();
    net.step(2, super::rules::from(accept.0, accept.2));
    net.q.clear();

    // 2 takes over with 3's promise and re-proposes slot 1.
    net.stand(2);
    net.deliver(|a, b, m| a == 2 && b == 3 && is_prepare(m));
    net.deliver(|a, b, m| a == 3 && b == 2 && is_promise(m));
    assert!(net.r[&2].status().is_leader);
    for _ in 0..100 {
        net.step(2, Input::Tick);
    }
    // 300's first request, then 200's retry, both to the new leader.
    replies.extend(
        net.step(2, Input::Request(write(300, 1, 3)))
            .replies
            .into_iter()
            .map(|r| (r.client_id, r.outcome)),
    );
    replies.extend(
        net.step(2, Input::Request(write(200, 1, 2)))
            .replies
            .into_iter()
            .map(|r| (r.client_id, r.outcome)),
    );
    replies.extend(flush(&mut net));
    for _ in 0..5 {
        replies.extend(net.run(1));
    }
    let to_200: Vec<_> = replies
        .iter()
        .filter(|(c, _)| *c == 200)
        .map(|(_, o)| o.clone())
        .collect();
    let applied = net.r[&2].state().values.clone();
    assert!(
        !(to_200.contains(&Outcome::Busy) && applied.contains(&2)),
        "client 200 was answered {to_200:?}, yet its value 2 is applied: {applied:?}"
    );
    // The schedule still reaches the refusal: now answered as indefinite.
    assert!(applied.contains(&2), "{applied:?}");
    assert_eq!(
        to_200
            .iter()
            .filter(|o| matches!(o, Outcome::Unknown { .. }))
            .count(),
        2,
        "{to_200:?}"
    );
}

/// Finding 2. Claim 2 ("at most one periodic fetch per election timeout"; "a snapshot
/// transfer no longer multiplies"). The gate covers the tick and commit
/// fetches, but the answer to a full `Learn` goes at once and
/// unconditionally, even when that `Learn` taught nothing (the responder
/// has a gap at the requester's `chosen_upto`: slots above it, not it).
/// Every such fetch is answered with the same full `Learn`, so one fetch
/// becomes a Fetch/Learn exchange that never ends while the gap lasts; and
/// every periodic fetch (one per election timeout) starts another, so the
/// exchanges in flight grow without bound, one per election timeout
/// (a network duplicate forks one, too). Reasoned, not shown here: when
/// exchanges that do progress outlive the requester's lag and the responder
/// compacts past it, each exchange's next fetch is answered with a whole
/// snapshot, so k exchanges become k concurrent transfers, the flood the
/// gate was meant to end (swarm seed 27). Requiring that a full `Learn`
/// advanced `chosen_upto` before fetching at once would end both.
///
/// Schedule (5 replicas, `max_learn_entries` 2, `max_batch` 1):
/// 1. 3 leads with 4 and 5; a client writes 4 values (slots 0..3), chosen
///    by {3, 4, 5}. 1 receives the accepts of slots 1..3 only (slot 0's is
///    lost), then 3's commit (chosen below 4): 1 learns 1..3, gap at 0.
///    2 receives only the commit: it knows it lags (its fetch to 3 is lost).
/// 2. Partition {1, 2} | {3, 4, 5}. 1 stands; 2 promises (its leader hint
///    becomes 1).
/// 3. 2 ticks 200 times; between ticks, every Fetch and Learn between 1 and
///    2 is delivered (one hop each). Nothing else is.
///
/// Expected: 2's fetches to 1 stay at about one per election timeout (200
/// ticks, timeout 10 to 20: at most ~20). Got one per delivery round.
#[test]
fn review4_a_full_learn_without_progress_does_not_fetch_again_at_once() {
    let cfg = |id: u64| {
        let mut c = Config::new(id, [1, 2, 3, 4, 5]).unwrap();
        c.max_learn_entries = 2;
        c.max_batch = 1;
        c
    };
    let mut net = Net::new(&[1, 2, 3, 4, 5], cfg);
    net.stand(3);
    net.deliver(|a, b, m| a == 3 && (b == 4 || b == 5) && is_prepare(m));
    net.deliver(|_, b, m| b == 3 && is_promise(m));
    assert!(net.r[&3].status().is_leader);
    net.q.retain(|(_, b, _)| *b != 1 && *b != 2);
    for v in 1..=4u64 {
        net.step(3, Input::Request(write(7, v, v)));
    }
    net.deliver(|_, b, m| {
        b == 1 && matches!(m, M::Accept { slot, .. } if *slot >= 1 && *slot <= 3)
    });
    flush_among(&mut net, &[3, 4, 5]);
    assert_eq!(net.r[&3].status().chosen_upto, 4);
    // 3's commit reaches 1 and 2.
    for _ in 0..20 {
        net.step(3, Input::Tick);
    }
    net.deliver(|a, b, m| a == 3 && (b == 1 || b == 2) && matches!(m, M::Commit { .. }));
    assert_eq!(net.chosen(1, 0), None, "1 has a gap at slot 0");
    assert!(net.chosen(1, 1).is_some() && net.chosen(1, 3).is_some());
    assert_eq!(net.r[&2].status().chosen_upto, 0);
    // Partition {1, 2} | {3, 4, 5}: the fetches to 3 are lost.
    net.q.clear();
    net.stand(1);
    net.deliver(|a, b, m| a == 1 && b == 2 && is_prepare(m));
    net.q.clear();
    let mut fetches = 0;
    for _ in 0..200 {
        net.step(2, Input::Tick);
        net.q.retain(|(a, b, m)| {
            ((*a == 1 && *b == 2) || (*a == 2 && *b == 1))
                && matches!(m, M::Fetch { .. } | M::Learn { .. })
        });
        fetches += net
            .q
            .iter()
            .filter(|(a, _, m)| *a == 2 && matches!(m, M::Fetch { .. }))
            .count();
        // One hop of every Fetch and Learn between 1 and 2.
        let q = std::mem::take(&mut net.q);
        for (a, b, m) in q {
            net.step(b, super::rules::from(a, m));
        }
    }
    let in_flight = net.q.len();
    assert!(
        fetches <= 25,
        "2 sent {fetches} fetches to 1 in 200 ticks ({in_flight} Fetch/Learn in flight at the end)"
    );
}
