//! No acknowledged write is lost when the leader is SIGKILLed, nor when every
//! node is SIGKILLed at once and the cluster restarts from its disks.

use synod::kv::{Command, Response};
use synod::node::bench::local::Stop;
use synod::node::config::Tuning;

use super::support::{client, start3, Acked, CATCH_UP_WAIT, EXIT_WAIT, LEADER_WAIT, STATUS_WAIT};

#[test]
fn leader_sigkill_loses_no_acknowledged_write() {
    let (mut c, leader) = start3(Tuning::default());
    let mut acked = Acked::default();
    let mut writer = client(&c);
    acked.put_range(&mut writer, "before-", 0..40);
    c.stop(leader, Stop::Kill, EXIT_WAIT).unwrap();
    // The survivors elect a new leader; the client rides out the election.
    acked.put_range(&mut writer, "during-", 0..40);
    let new_leader = c.wait_leader(LEADER_WAIT).unwrap();
    assert_ne!(new_leader, leader, "a killed node cannot lead");
    c.start(leader, false).unwrap();
    acked.put_range(&mut writer, "after-", 0..10);
    acked.check_all(&mut client(&c));
    // The killed leader, back, catches up; then the current leader is killed
    // too, so every read below needs the restarted node in its quorum.
    let applied = c.status(new_leader, STATUS_WAIT).unwrap().applied_upto;
    c.wait_status(leader, CATCH_UP_WAIT, "catch up with the leader", |s| {
        s.applied_upto >= applied
    })
    .unwrap();
    c.stop(new_leader, Stop::Kill, EXIT_WAIT).unwrap();
    c.wait_leader(LEADER_WAIT).unwrap();
    acked.check_all(&mut client(&c));
}

#[test]
fn whole_cluster_sigkill_and_restart_loses_no_acknowledged_write() {
    let (mut c, _) = start3(Tuning::default());
    let mut acked = Acked::default();
    acked.put_range(&mut client(&c), "k", 0..60);
    for (id, status) in c.stop_all(Stop::Kill, EXIT_WAIT) {
        let status = status.unwrap();
        assert!(
            !status.success(),
            "node {id} was SIGKILLed yet exited {status}"
        );
    }
    c.start_all(false).unwrap();
    c.wait_leader(LEADER_WAIT).unwrap();
    acked.check_all(&mut client(&c));
    // And the restarted cluster accepts writes again.
    acked.put_range(&mut client(&c), "again-", 0..5);
    acked.check_all(&mut client(&c));
}

/// The check above has teeth: an acknowledged write that is gone when read
/// back (here deleted behind the check's back) is caught.
#[test]
#[should_panic(expected = "acknowledged write of k3 lost")]
fn acknowledged_write_check_catches_a_lost_write() {
    let (c, _) = start3(Tuning::default());
    let mut acked = Acked::default();
    let mut cl = client(&c);
    acked.put_range(&mut cl, "k", 0..5);
    assert_eq!(
        cl.call(Command::Delete { key: "k3".into() }).unwrap(),
        Response::Ok
    );
    acked.check_all(&mut cl);
}
