//! Recovery paths of the running node: snapshots (compaction of the WAL, a
//! lagging node installing one) and a wiped data directory (amnesia).

use synod::kv::Response;
use synod::node::config::NodeId;
use synod::node::identity::StartMode;
use synod::node::storage::segment_file_name;

use super::cluster::{get, put, snapshot_tuning, Cluster};

fn write_keys(cluster: &Cluster, range: std::ops::Range<u32>) {
    let mut client = cluster.client();
    for i in range {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        assert_eq!(client.call(put(&k, &v)).unwrap(), Response::Ok);
    }
}

fn read_keys(cluster: &Cluster, range: std::ops::Range<u32>) {
    let mut client = cluster.client();
    for i in range {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        assert_eq!(client.call(get(&k)).unwrap(), Response::Value(v), "key {k}");
    }
}

fn a_follower(cluster: &Cluster) -> NodeId {
    let leader = cluster.leader();
    *cluster.servers.keys().find(|&&id| id != leader).unwrap()
}

#[test]
fn a_lagging_node_catches_up_by_installing_a_snapshot_and_compacted_wals_recover() {
    let mut cluster = Cluster::start_with(3, snapshot_tuning(8));
    write_keys(&cluster, 0..5);
    let lagging = a_follower(&cluster);
    cluster.stop(lagging);
    // Well past the snapshot interval: the leader has compacted the slots
    // the lagging node misses, so only a snapshot can bring it back.
    write_keys(&cluster, 5..60);
    let leader = cluster.leader();
    let target = cluster.wait_status(leader, "applied the writes", |s| s.applied_upto >= 55);
    cluster.launch(lagging, false, None).unwrap();
    let caught_up = cluster.wait_status(lagging, "caught up", |s| {
        s.applied_upto >= target.applied_upto
    });
    assert!(
        caught_up.snapshot_upto > 0,
        "the lagging node caught up without a snapshot: {caught_up:?}"
    );
    // Every WAL now starts at a snapshot: restart all from it.
    let ids: Vec<NodeId> = cluster.servers.keys().copied().collect();
    for &id in &ids {
        cluster.stop(id);
    }
    // Stopped: the pipeline drained, so every compaction is on disk.
    for &id in &ids {
        let wal = cluster
            .data_dir(id)
            .join(synod::node::identity::STORAGE_DIR);
        let files: Vec<String> = std::fs::read_dir(&wal)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // Compaction starts a new segment: segment 1 is gone.
        assert!(
            files
                .iter()
                .any(|f| f.starts_with("wal-") && *f != segment_file_name(1)),
            "node {id} never compacted its WAL: {files:?}"
        );
    }
    for &id in &ids {
        cluster.launch(id, false, None).unwrap();
    }
    read_keys(&cluster, 0..60);
    write_keys(&cluster, 60..70);
    read_keys(&cluster, 60..70);
}

#[test]
fn a_wiped_node_restarts_amnesiac_catches_up_and_then_votes_again() {
    let mut cluster = Cluster::start(3);
    write_keys(&cluster, 0..10);
    let wiped = a_follower(&cluster);
    cluster.stop(wiped);
    std::fs::remove_dir_all(cluster.data_dir(wiped)).unwrap();
    cluster.launch(wiped, false, None).unwrap();
    assert!(matches!(
        cluster.servers[&wiped].mode(),
        StartMode::Amnesiac(_)
    ));
    write_keys(&cluster, 10..20);
    let status = cluster.wait_status(wiped, "voted again", |s| s.voting && !s.amnesiac);
    assert!(status.applied_upto >= 10, "{status:?}");
    // Restarted once more it recovers (its identity and WAL are its own).
    cluster.stop(wiped);
    cluster.launch(wiped, false, None).unwrap();
    assert_eq!(*cluster.servers[&wiped].mode(), StartMode::Recover);
    cluster.wait_status(wiped, "voting after recovery", |s| s.voting);
    read_keys(&cluster, 0..20);
}

#[test]
fn a_wiped_node_that_stops_before_rejoining_restarts_amnesiac_from_its_mark() {
    let mut cluster = Cluster::start(3);
    write_keys(&cluster, 0..3);
    for id in 1..=3 {
        cluster.stop(id);
    }
    // Alone, node 1 cannot rejoin (that needs every other replica), so it
    // stays amnesiac however long it runs; a restart must keep it so.
    std::fs::remove_dir_all(cluster.data_dir(1)).unwrap();
    cluster.launch(1, false, None).unwrap();
    assert!(matches!(cluster.servers[&1].mode(), StartMode::Amnesiac(_)));
    cluster.stop(1);
    cluster.launch(1, false, None).unwrap();
    assert_eq!(*cluster.servers[&1].mode(), StartMode::Recover);
    let status = cluster.wait_status(1, "answered", |_| true);
    assert!(status.amnesiac && !status.voting, "{status:?}");
    // With its peers back it rejoins and has the data.
    for id in 2..=3 {
        cluster.launch(id, false, None).unwrap();
    }
    cluster.wait_status(1, "voted again", |s| s.voting && s.applied_upto >= 3);
    read_keys(&cluster, 0..3);
}
