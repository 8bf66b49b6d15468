//! Nodes that fell behind: one that lags past the snapshot interval catches
//! up through a snapshot; one whose disk was wiped restarts amnesiac, catches
//! up, and votes only once the core's rule allows it.

use synod::node::bench::local::Stop;
use synod::node::config::Tuning;

use super::support::{
    client, log, other_than, start3, Acked, CATCH_UP_WAIT, EXIT_WAIT, LEADER_WAIT, STATUS_WAIT,
};

/// A small snapshot interval, so a short outage spans several snapshots.
const SNAPSHOT_INTERVAL: u64 = 16;

#[test]
fn node_lagging_past_the_snapshot_interval_catches_up_by_snapshot() {
    let tuning = Tuning {
        snapshot_interval: SNAPSHOT_INTERVAL,
        ..Tuning::default()
    };
    let (mut c, leader) = start3(tuning);
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "early-", 0..3);
    let laggard = other_than(&c, leader);
    let left_at = c.status(laggard, STATUS_WAIT).unwrap().applied_upto;
    c.stop(laggard, Stop::Term, EXIT_WAIT).unwrap();
    acked.put_range(
        &mut client(&c),
        "missed-",
        0..(4 * SNAPSHOT_INTERVAL as usize),
    );
    // The premise: the live nodes dropped the slots the laggard misses from
    // their logs (the core truncates below each snapshot), so a snapshot is
    // the only way it can catch up.
    let live = c.status(leader, STATUS_WAIT).unwrap();
    assert!(
        live.snapshot_upto > left_at,
        "the leader's snapshot ({}) must cover slots the laggard lacks (from {left_at})",
        live.snapshot_upto
    );
    c.start(laggard, false).unwrap();
    let caught = c
        .wait_status(laggard, CATCH_UP_WAIT, "catch up by snapshot", |s| {
            s.applied_upto >= live.applied_upto
        })
        .unwrap();
    assert!(
        caught.snapshot_upto > left_at,
        "it caught up past truncated slots, so it holds a snapshot past {left_at}: {caught:?}"
    );
    // Its state is the cluster's: with the leader gone, the laggard is in
    // every quorum, and every acknowledged write reads back.
    c.stop(leader, Stop::Kill, EXIT_WAIT).unwrap();
    c.wait_leader(LEADER_WAIT).unwrap();
    acked.check_all(&mut client(&c));
}

#[test]
fn wiped_node_restarts_amnesiac_and_votes_only_after_its_recovery_ballot() {
    let (mut c, leader) = start3(Tuning::default());
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "k", 0..30);
    let wiped = other_than(&c, leader);
    let before = c.status(leader, STATUS_WAIT).unwrap();
    c.stop(wiped, Stop::Kill, EXIT_WAIT).unwrap();
    c.wipe(wiped).unwrap();
    c.start(wiped, false).unwrap();

    // Poll it while it recovers: it must never vote while amnesiac, and once
    // it votes it has led a ballot of its own above every ballot the cluster
    // had used (the core's rule: a full instance after the restart) and knows
    // everything chosen before the wipe.
    let recovered = c
        .wait_status(wiped, CATCH_UP_WAIT, "end its amnesia", |s| {
            assert!(
                !(s.amnesiac && s.voting),
                "an amnesiac node must not vote: {s:?}"
            );
            s.voting && !s.amnesiac
        })
        .unwrap();
    assert!(
        recovered.ballot > before.ballot,
        "it votes only after promising a ballot above every earlier one: {recovered:?} vs {before:?}"
    );
    assert!(
        recovered.chosen_upto >= before.chosen_upto,
        "it votes only after learning what was chosen: {recovered:?} vs {before:?}"
    );

    let text = log(&c, wiped);
    let amnesiac_at = text
        .find("mode=amnesiac")
        .unwrap_or_else(|| panic!("a wiped node must start amnesiac:\n{text}"));
    let voting_at = text
        .find("voting enabled")
        .unwrap_or_else(|| panic!("its log must say when voting was enabled:\n{text}"));
    assert!(
        amnesiac_at < voting_at,
        "voting enabled before the amnesiac start?\n{text}"
    );
    assert_eq!(
        text.matches("voting enabled").count(),
        1,
        "voting is enabled once:\n{text}"
    );

    // The cluster stays consistent with the wiped node in every quorum.
    acked.put_range(&mut client(&c), "after-", 0..10);
    let other = c
        .ids()
        .into_iter()
        .find(|&n| n != wiped && c.is_running(n).unwrap_or(false))
        .unwrap();
    c.stop(other, Stop::Kill, EXIT_WAIT).unwrap();
    c.wait_leader(LEADER_WAIT).unwrap();
    acked.check_all(&mut client(&c));
}
