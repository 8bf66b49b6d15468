//! The core's own records through the WAL: a simulated cluster's persisted
//! records, written through `FileStorage` (compaction base plus synced
//! appends) and read back, recover the same replica as the records did.

use synod::node::storage::{FileStorage, Storage, StorageLimits};
use synod::paxos::{Config, Record, Replica};
use synod::sim::{AppendCommand, AppendLog, Sim, SimConfig};

fn append(client: u64, seq: u64) -> AppendCommand {
    if seq % 3 == 0 {
        AppendCommand::Put {
            key: client.to_le_bytes().to_vec(),
            value: vec![seq as u8; 40],
        }
    } else {
        AppendCommand::Append(client * 1_000_000 + seq)
    }
}

fn tune(c: &mut Config) {
    c.snapshot_interval = 40;
}

#[test]
fn the_cores_records_round_trip_through_the_wal_and_recover_the_same_replica() {
    let mut sim = Sim::new(SimConfig::calm(7, 3), AppendLog::default(), tune, append).unwrap();
    sim.run(6_000).unwrap();
    assert!(sim.stats().acknowledged > 50, "{:?}", sim.stats());
    let mut snapshots = 0;
    for node in sim.nodes() {
        let disk = &node.disk;
        snapshots += disk
            .iter()
            .filter(|r| matches!(r, Record::Snapshot(_)))
            .count();
        let dir = tempfile::tempdir().unwrap();
        let (mut storage, _) =
            FileStorage::<Record<AppendLog>>::open(dir.path(), StorageLimits::default()).unwrap();
        // The first half becomes a compaction base, replacing what was
        // appended; the rest goes in synced chunks.
        let split = disk.len() / 2;
        storage.append(&disk[..split]).unwrap();
        storage.compact(&disk[..split]).unwrap();
        for chunk in disk[split..].chunks(7) {
            storage.append(chunk).unwrap();
            storage.sync().unwrap();
        }
        drop(storage);

        let (_, recovered) =
            FileStorage::<Record<AppendLog>>::open(dir.path(), StorageLimits::default()).unwrap();
        assert_eq!(&recovered.records, disk, "node {}", node.id);
        assert_eq!(recovered.base_records, split);
        let from_wal =
            Replica::recover(node.config.clone(), AppendLog::default(), recovered.records).unwrap();
        let from_records =
            Replica::recover(node.config.clone(), AppendLog::default(), disk.clone()).unwrap();
        assert_eq!(from_wal, from_records, "node {}", node.id);
    }
    assert!(
        snapshots > 0,
        "the run took no snapshot; the test covers less than it says"
    );
}
