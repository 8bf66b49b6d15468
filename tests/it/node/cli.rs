//! `synod node` as a process: usage errors exit 3 naming the file and
//! position, and SIGTERM shuts the node down cleanly (exit 0) with what it
//! acknowledged on disk.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use synod::kv::Response;

use super::cluster::{get, put, DEADLINE};

fn node(config: &Path, data: &Path, bootstrap: bool) -> Process {
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_synod"));
    cmd.args(["node", "--id", "1", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data);
    if bootstrap {
        cmd.arg("--bootstrap");
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

fn free_port() -> u16 {
    // Released at once: a small race with other processes, fine on loopback.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn one_node_config(extra: &str) -> String {
    format!(
        "cluster_id = \"cli\"\n[[node]]\nid = 1\npeer = \"127.0.0.1:{}\"\nclient = \"127.0.0.1:{}\"\n{extra}",
        free_port(),
        free_port()
    )
}

fn run_to_exit(config_text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(&config, config_text).unwrap();
    let out = node(&config, &dir.path().join("data"), true)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_config_key_exits_3_naming_file_line_and_column() {
    let (code, stderr) = run_to_exit("cluster_id = \"cli\"\n  bogus = 1\n");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("cluster.toml:2:3"), "{stderr}");
}

#[test]
fn a_frame_limit_too_small_for_the_cores_messages_exits_3() {
    let (code, stderr) = run_to_exit(&one_node_config("[tuning]\nmax_frame_bytes = 2048\n"));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("max_frame_bytes"), "{stderr}");
}

/// Collects the child's stderr lines on a thread; `wait_for` blocks until
/// one contains the text.
struct Log {
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Log {
    fn of(child: &mut Child) -> Log {
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Log {
            lines,
            seen: Vec::new(),
        }
    }

    fn wait_for(&mut self, text: &str) {
        let start = Instant::now();
        while !self.seen.iter().any(|l| l.contains(text)) {
            let left = DEADLINE.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no log line with {text:?}; log:\n{}", self.seen.join("\n")),
            }
        }
    }
}

fn sigterm(child: &Child) {
    // SAFETY: kill(2) on our own child's pid; it only reads its arguments.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
}

#[test]
fn sigterm_stops_the_node_cleanly_and_a_restart_recovers_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("cluster.toml");
    std::fs::write(&config_path, one_node_config("")).unwrap();
    let config = synod::node::config::ClusterConfig::load(&config_path).unwrap();
    let data = dir.path().join("data");

    let mut child = node(&config_path, &data, true)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = Log::of(&mut child);
    log.wait_for("starting node 1 mode=fresh");
    log.wait_for("leader elected");
    let mut client = synod::node::client::Client::<synod::kv::Command, Response>::new(
        &config,
        synod::node::client::ClientOptions {
            timeout: DEADLINE,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(client.call(put("k", "v")).unwrap(), Response::Ok);
    sigterm(&child);
    let status = child.wait().unwrap();
    log.wait_for("node stopped cleanly");
    assert_eq!(status.code(), Some(0));

    let mut child = node(&config_path, &data, false)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = Log::of(&mut child);
    log.wait_for("starting node 1 mode=recover");
    assert_eq!(client.call(get("k")).unwrap(), Response::Value("v".into()));
    sigterm(&child);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Node 1's data directory started as node 2, or with `--bootstrap`, exits
/// 3 naming both identities (or the flag) and leaves every file as it was;
/// the directory used to be taken over amnesiac as node 2.
#[test]
fn a_directory_of_another_node_or_bootstrap_over_state_exits_3_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    let second = format!(
        "[[node]]\nid = 2\npeer = \"127.0.0.1:{}\"\nclient = \"127.0.0.1:{}\"\n",
        free_port(),
        free_port()
    );
    std::fs::write(&config, one_node_config(&second)).unwrap();
    let data = dir.path().join("data");
    let identity = "{\"cluster_id\":\"cli\",\"node_id\":1}\n";
    std::fs::create_dir_all(data.join("wal")).unwrap();
    std::fs::write(data.join("IDENTITY"), identity).unwrap();
    std::fs::write(data.join("wal").join("marker"), b"node 1's log").unwrap();

    let mut as_two = Process::new(env!("CARGO_BIN_EXE_synod"));
    as_two
        .args(["node", "--id", "2", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data);
    let runs = [
        (as_two, "node 1"),
        (node(&config, &data, true), "--bootstrap"),
    ];
    for (mut cmd, named) in runs {
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(stderr.contains(named), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(data.join("IDENTITY")).unwrap(),
            identity
        );
        assert!(data.join("wal").join("marker").exists(), "{stderr}");
        assert!(!data.join("wal.stale").exists(), "{stderr}");
    }
}
