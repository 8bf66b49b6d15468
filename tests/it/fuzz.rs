//! The fuzz targets' bodies (`synod::fuzzing`) under stable `cargo test`:
//! every seed under `fuzz/seeds/<target>/` and every fixed crash under
//! `fuzz/regressions/<target>/` replays without a failure, and the canary
//! does crash on its planted input.
//!
//! `SYNOD_WRITE_SEEDS=1 cargo test --release --test it fuzz::write_seeds`
//! regenerates the generated seeds (valid frames of every message kind, real
//! WAL files, histories).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use synod::fuzzing::{frame_decode, TARGETS};
use synod::kv::{Command, KvStore, Response};
use synod::node::proto::{ClientMessage, ServerMessage};
use synod::node::transport::peer::{Hello, HelloReply};
use synod::paxos::{
    Ballot, ClientReply, ClientRequest, Entry, Message, Outcome, Proposal, ReadMode,
};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| {
                    p.is_file()
                        && !p
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let mut n = 0;
    for (name, body) in TARGETS {
        for file in files(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&file).unwrap();
            let result = std::panic::catch_unwind(|| body(&data));
            assert!(result.is_ok(), "{} fails {name}", file.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_seed_replays() {
    let n = replay("seeds");
    assert!(n >= TARGETS.len(), "only {n} seeds");
    for (name, _) in TARGETS {
        assert!(
            !files(&fuzz_dir().join("seeds").join(name)).is_empty(),
            "no seeds for {name}"
        );
    }
}

#[test]
fn every_regression_replays() {
    replay("regressions");
}

#[test]
fn the_canary_crashes_on_its_planted_input() {
    assert!(std::panic::catch_unwind(|| synod::fuzzing::canary::run(b"FUZZ!")).is_err());
}

fn ballot(round: u64, node: u64) -> Ballot {
    Ballot { round, node }
}

fn entry() -> Arc<Entry<Command>> {
    Arc::new(Entry {
        log_ticks: 3,
        proposals: vec![
            Proposal::Client {
                client_id: 7,
                seq: 1,
                command: Command::Put {
                    key: "a".into(),
                    value: "x".into(),
                },
            },
            Proposal::Tick(Command::Get { key: "b".into() }),
        ],
    })
}

/// One valid payload of every message kind each decoder knows.
fn sample_payloads() -> Vec<(String, Vec<u8>)> {
    let b = ballot(2, 1);
    let peer: Vec<(&str, Message<KvStore>)> = vec![
        (
            "prepare",
            Message::Prepare {
                ballot: b,
                first_slot: 4,
                recovery: Some(9),
            },
        ),
        (
            "promise",
            Message::Promise {
                ballot: b,
                recovery: None,
                snapshot_upto: 1,
                accepted: vec![(4, ballot(1, 2), entry())],
            },
        ),
        (
            "accept",
            Message::Accept {
                ballot: b,
                slot: 5,
                entry: entry(),
                chosen_upto: 4,
            },
        ),
        ("accepted", Message::Accepted { ballot: b, slot: 5 }),
        (
            "nack",
            Message::Nack {
                ballot: b,
                promised: ballot(3, 2),
            },
        ),
        (
            "commit",
            Message::Commit {
                ballot: b,
                first_slot: 4,
                chosen_upto: 6,
                read_round: 2,
                promisers: vec![1, 2],
            },
        ),
        (
            "commit_ack",
            Message::CommitAck {
                ballot: b,
                read_round: 2,
            },
        ),
        ("compacted", Message::Compacted { upto: 3 }),
        ("fetch", Message::Fetch { from_slot: 2 }),
        (
            "learn",
            Message::Learn {
                entries: vec![(2, entry())],
            },
        ),
        (
            "snapshot_chunk",
            Message::SnapshotChunk {
                upto: 3,
                offset: 0,
                total_len: 4,
                data: vec![1, 2, 3, 4],
            },
        ),
    ];
    let mut out: Vec<(String, Vec<u8>)> = peer
        .iter()
        .map(|(n, m)| (format!("peer_{n}"), postcard::to_allocvec(m).unwrap()))
        .collect();
    out.push((
        "hello".into(),
        postcard::to_allocvec(&Hello { to: 2 }).unwrap(),
    ));
    out.push((
        "hello_accepted".into(),
        postcard::to_allocvec(&HelloReply::Accepted).unwrap(),
    ));
    out.push((
        "hello_refused".into(),
        postcard::to_allocvec(&HelloReply::Refused("no".into())).unwrap(),
    ));
    let request = ClientMessage::Request(ClientRequest {
        client_id: 7,
        seq: 1,
        command: Command::Cas {
            key: "a".into(),
            expected: Some("x".into()),
            new: "y".into(),
        },
        read_mode: ReadMode::ReadIndex,
    });
    out.push((
        "client_request".into(),
        postcard::to_allocvec(&request).unwrap(),
    ));
    out.push((
        "client_status".into(),
        postcard::to_allocvec(&ClientMessage::<Command>::Status).unwrap(),
    ));
    let reply = ServerMessage::Reply(ClientReply {
        client_id: 7,
        seq: 1,
        outcome: Outcome::Ok(Response::Value("x".into())),
    });
    out.push((
        "server_reply".into(),
        postcard::to_allocvec(&reply).unwrap(),
    ));
    let refused = ServerMessage::<Response>::Refused {
        client_id: 7,
        seq: 2,
        reason: "stopping".into(),
    };
    out.push((
        "server_refused".into(),
        postcard::to_allocvec(&refused).unwrap(),
    ));
    out
}

#[test]
fn write_seeds() {
    if std::env::var_os("SYNOD_WRITE_SEEDS").is_none() {
        return;
    }
    let seeds = fuzz_dir().join("seeds");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    // frame_decode: each message as a full frame (mode 0: a stream) and as
    // a bare payload (mode 1: the target frames it).
    let codec = frame_decode::peer_codec();
    for (name, payload) in sample_payloads() {
        let frame = frame_decode::wrap(1, &payload);
        assert!(codec.decode(&frame).is_ok());
        write(
            "frame_decode",
            &format!("{name}.frame"),
            &[&[0u8][..], &frame].concat(),
        );
        write(
            "frame_decode",
            &format!("{name}.payload"),
            &[&[1u8][..], &payload].concat(),
        );
    }
    // wal_recover: raw mode with a real WAL segment written by FileStorage,
    // and structured runs.
    {
        use synod::node::storage::{FileStorage, Storage};
        let dir = std::env::temp_dir().join(format!("synod-seed-wal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut s, _) =
            FileStorage::<Vec<u8>>::open(&dir, synod::fuzzing::wal_recover::limits()).unwrap();
        s.append(&[b"one".to_vec(), b"two".to_vec(), vec![]])
            .unwrap();
        s.sync().unwrap();
        drop(s);
        let wal = std::fs::read(dir.join(synod::node::storage::segment_file_name(1))).unwrap();
        let snapshot = std::fs::read(dir.join("snapshot")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let len = (wal.len() as u16).to_le_bytes();
        let snapshot_len = (snapshot.len() as u16).to_le_bytes();
        // mode 1 (raw), the snapshot (the manifest), first segment 1, one
        // segment.
        write(
            "wal_recover",
            "raw_real_wal",
            &[&[1u8, 1][..], &snapshot_len, &snapshot, &[0, 1], &len, &wal].concat(),
        );
        write(
            "wal_recover",
            "structured_clean",
            &[0, 2, 1, 1, 2, b'h', b'i', 0],
        );
        write(
            "wal_recover",
            "structured_cut",
            &[0, 3, 1, 1, 3, b'a', b'b', b'c', 1, 1, 1, 1, b'z', 1, 9, 0],
        );
        write(
            "wal_recover",
            "structured_flip",
            &[0, 2, 1, 2, 2, b'h', b'i', 2, b'y', b'o', 2, 0, 0, 0, 0xff],
        );
        write(
            "wal_recover",
            "structured_compact",
            &[0, 3, 0, 1, 1, b's', 1, 0, 1, b'w', 0],
        );
    }
    // history_parse: real histories from histories/ (their first 2 KiB),
    // as EDN and auto, and as JSONL written by synod; a txt history.
    let edn = [
        "histories/reference/knossos/cas-register/bad/cas-failure.edn",
        "histories/reference/knossos/mutex/bad/etcd.edn",
    ];
    for (i, rel) in edn.iter().enumerate() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let text = std::fs::read(&path).unwrap();
        let cut = text.len().min(2048);
        let cut = text[..cut]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(cut, |i| i + 1);
        write(
            "history_parse",
            &format!("edn_{i}"),
            &[&[2u8][..], &text[..cut]].concat(),
        );
        write(
            "history_parse",
            &format!("auto_edn_{i}"),
            &[&[0u8][..], &text[..cut]].concat(),
        );
        if let Ok(h) = synod::history::read_file(&path, &Default::default()) {
            let mut out = Vec::new();
            let short = synod::history::History {
                events: h.events.into_iter().take(20).collect(),
            };
            synod::history::write_jsonl(&mut out, &short).unwrap();
            write(
                "history_parse",
                &format!("jsonl_{i}"),
                &[&[1u8][..], &out].concat(),
            );
        }
    }
    write(
        "history_parse",
        "txt_0",
        b"\x030\tinvoke\tread\tnil\n0\tok\tread\t1\n1\tinvoke\twrite\t2\n1\tinfo\twrite\t2\n",
    );
    // checker_oracle and kv_apply: a few byte strings per mode.
    for mode in 0u8..4 {
        let h: Vec<u8> = (0..40u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(mode))
            .collect();
        write(
            "checker_oracle",
            &format!("mode{mode}"),
            &[&[mode, 0][..], &h].concat(),
        );
    }
    write("kv_apply", "restore_empty", &[0]);
    let steps: Vec<u8> = (0..120u8)
        .map(|i| i.wrapping_mul(29).wrapping_add(3))
        .collect();
    write("kv_apply", "steps", &[&[1u8, 20][..], &steps].concat());
    write("canary", "almost", b"FUZ");
}
