//! `synod client` as a process, against a one-node test service on a real
//! client port that applies commands to a real `KvStore` (no Paxos: this
//! checks the command line, its output and its exit codes).

use std::path::PathBuf;
use std::process::Command as Process;
use std::sync::{mpsc, Arc, Mutex, Weak};

use synod::kv::{Command, KvLimits, KvStore, Response};
use synod::node::proto::{ClientReply, Outcome, Status};
use synod::node::transport::client_port::{ClientEvent, ClientPort};
use synod::paxos::{Ballot, StateMachine};

use super::support::{bind_cluster, quick_tuning, RefusingPort};

type Port = ClientPort<Command, Response>;

struct Service {
    _port: Arc<Port>,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

/// Starts the service; a `mute` one never answers.
fn service(mute: bool) -> Service {
    let mut ports = bind_cluster(1, quick_tuning());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(&config, ports.config.to_toml().unwrap()).unwrap();
    let (tx, rx) = mpsc::channel::<ClientEvent<Command>>();
    let tx = Mutex::new(tx);
    let port: Arc<Port> = Arc::new(
        ClientPort::start(
            &ports.config,
            1,
            ports.client[0].take().unwrap(),
            move |ev| {
                let _ = tx.lock().unwrap().send(ev);
            },
        )
        .unwrap(),
    );
    let weak: Weak<Port> = Arc::downgrade(&port);
    std::thread::spawn(move || {
        let mut store = KvStore::new(KvLimits::default());
        let mut applied = 0;
        for ev in rx {
            let Some(port) = weak.upgrade() else { return };
            match ev {
                ClientEvent::Request { conn, request } if !mute => {
                    applied += 1;
                    let outcome = Outcome::Ok(store.apply(applied, &request.command));
                    let _ = port.reply(
                        conn,
                        ClientReply {
                            client_id: request.client_id,
                            seq: request.seq,
                            outcome,
                        },
                    );
                }
                ClientEvent::Status { conn } if !mute => {
                    let _ = port.status(
                        conn,
                        Status {
                            id: 1,
                            leader: Some(1),
                            is_leader: true,
                            ballot: Ballot { round: 4, node: 1 },
                            chosen_upto: applied,
                            applied_upto: applied,
                            snapshot_upto: 0,
                            amnesiac: false,
                            voting: true,
                            read_round: 0,
                        },
                    );
                }
                _ => {}
            }
        }
    });
    Service {
        _port: port,
        _dir: dir,
        config,
    }
}

/// Runs `synod client --config <config> ARGS`: (exit code, stdout, stderr).
fn client(config: &PathBuf, args: &[&str]) -> (i32, String, String) {
    let out = Process::new(env!("CARGO_BIN_EXE_synod"))
        .arg("client")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run synod");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_put_then_get_prints_the_value() {
    let s = service(false);
    assert_eq!(client(&s.config, &["put", "k", "v1"]).0, 0);
    assert_eq!(client(&s.config, &["append", "k", "+2"]).0, 0);
    let (code, out, _) = client(&s.config, &["get", "k"]);
    assert_eq!((code, out.as_str()), (0, "v1+2\n"));
    let (code, out, _) = client(&s.config, &["--read-mode", "local", "get", "k"]);
    assert_eq!((code, out.as_str()), (0, "v1+2\n"));
}

#[test]
fn cli_definite_failures_exit_1_with_a_word() {
    let s = service(false);
    let (code, _, err) = client(&s.config, &["get", "absent"]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
    client(&s.config, &["put", "k", "a"]);
    let (code, _, err) = client(&s.config, &["cas", "k", "b", "c"]);
    assert_eq!(code, 1);
    assert!(err.contains("cas mismatch"), "{err}");
    assert_eq!(client(&s.config, &["cas", "k", "a", "c"]).0, 0);
    let (code, out, _) = client(&s.config, &["acquire", "l", "alice", "10000"]);
    assert_eq!(code, 0);
    let token: u64 = out.trim().parse().expect("a token");
    let (code, _, err) = client(&s.config, &["acquire", "l", "bob", "10000"]);
    assert_eq!(code, 1);
    assert!(err.contains("held"), "{err}");
    let (code, _, err) = client(&s.config, &["release", "l", "bob", &token.to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("not owner"), "{err}");
    assert_eq!(
        client(&s.config, &["renew", "l", "alice", &token.to_string()]).0,
        0
    );
    assert_eq!(
        client(&s.config, &["release", "l", "alice", &token.to_string()]).0,
        0
    );
    assert_eq!(client(&s.config, &["delete", "k"]).0, 0);
}

#[test]
fn cli_txn_prints_the_completed_micro_ops() {
    let s = service(false);
    let (code, out, err) = client(
        &s.config,
        &["txn", r#"[["w","x","1"],["r","x",null],["r","y",null]]"#],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        r#"[["w","x","1"],["r","x","1"],["r","y",null]]"#
    );
}

#[test]
fn cli_status_prints_each_node() {
    let s = service(false);
    let (code, out, _) = client(&s.config, &["status"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("node 1: leader 1 (this node), ballot 4.1"),
        "{out}"
    );
}

#[test]
fn cli_unanswered_request_exits_2_indeterminate() {
    let s = service(true);
    let (code, _, err) = client(&s.config, &["--timeout-ms", "300", "put", "k", "v"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("indeterminate"), "{err}");
}

#[test]
fn cli_usage_errors_exit_3() {
    let s = service(false);
    assert_eq!(client(&s.config, &["frobnicate"]).0, 3);
    assert_eq!(client(&s.config, &["put", "k"]).0, 3);
    let (code, _, err) = client(&s.config, &["txn", r#"[["q","x",null]]"#]);
    assert_eq!(code, 3);
    assert!(err.contains("micro-op #0"), "{err}");
    assert_eq!(
        client(&s.config, &["--read-mode", "stale", "get", "k"]).0,
        3
    );
    let (code, _, err) = client(&PathBuf::from("/nonexistent/cluster.toml"), &["get", "k"]);
    assert_eq!(code, 3);
    assert!(err.contains("/nonexistent/cluster.toml"), "{err}");
}

#[test]
fn cli_request_never_sent_exits_1_unavailable() {
    // Nothing listens on the client ports: every connect is refused.
    let mut ports = bind_cluster(2, quick_tuning());
    let dead: Vec<RefusingPort> = (0..2).map(|_| RefusingPort::new()).collect();
    for (node, d) in ports.config.nodes.iter_mut().zip(&dead) {
        node.client = d.addr;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(&config, ports.config.to_toml().unwrap()).unwrap();
    let (code, _, err) = client(&config, &["--timeout-ms", "300", "put", "k", "v"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("never sent"), "{err}");
}
