//! Shared pieces of the real-process cluster tests: a 3-node cluster of the
//! built `synod` binary in a temp directory, writes that remember what was
//! acknowledged, and reads that check every acknowledged write survived.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use synod::kv::{Command, Response};
use synod::node::bench::local::LocalCluster;
use synod::node::client::{Client, ClientOptions};
use synod::node::config::{NodeId, Tuning};

/// How long a cluster may take to elect a leader (bounded, generous: five
/// other engineers compile on this 2-core machine).
pub const LEADER_WAIT: Duration = Duration::from_secs(20);
/// How long a node may take to exit after a signal.
pub const EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long one status request may take.
pub const STATUS_WAIT: Duration = Duration::from_secs(2);
/// How long a node may take to catch up.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(20);

/// A cluster in a temp directory; the cluster (and its processes) is dropped
/// before the directory, so no node writes into a removed directory.
pub struct TestCluster {
    cluster: LocalCluster,
    _dir: tempfile::TempDir,
}

impl Deref for TestCluster {
    type Target = LocalCluster;
    fn deref(&self) -> &LocalCluster {
        &self.cluster
    }
}

impl DerefMut for TestCluster {
    fn deref_mut(&mut self) -> &mut LocalCluster {
        &mut self.cluster
    }
}

/// Three bootstrapped nodes with `tuning`, running, with a leader elected;
/// returns the cluster and the leader.
pub fn start3(tuning: Tuning) -> (TestCluster, NodeId) {
    let dir = tempfile::tempdir().unwrap();
    let cluster =
        LocalCluster::create(env!("CARGO_BIN_EXE_synod").as_ref(), dir.path(), 3, tuning).unwrap();
    let mut c = TestCluster { cluster, _dir: dir };
    c.start_all(true).unwrap();
    let leader = c.wait_leader(LEADER_WAIT).unwrap();
    (c, leader)
}

/// A client with a deadline long enough to ride out an election.
pub fn client(c: &LocalCluster) -> Client<Command, Response> {
    c.client(ClientOptions {
        timeout: Duration::from_secs(15),
        ..ClientOptions::default()
    })
    .unwrap()
}

/// Writes to the cluster and remembers which writes were acknowledged.
#[derive(Default)]
pub struct Acked {
    /// Keys whose put was acknowledged, with the value written. Each key is
    /// written once, so its value must be exactly this forever.
    pub writes: Vec<(String, String)>,
    /// Puts that timed out: they may or may not have happened.
    pub indeterminate: usize,
}

impl Acked {
    /// Puts `{prefix}{i}` for each `i` in `range`, each key once.
    pub fn put_range(
        &mut self,
        client: &mut Client<Command, Response>,
        prefix: &str,
        range: std::ops::Range<usize>,
    ) {
        for i in range {
            let key = format!("{prefix}{i}");
            let value = format!("value-of-{key}");
            match client.call(Command::Put {
                key: key.clone(),
                value: value.clone(),
            }) {
                Ok(Response::Ok) => self.writes.push((key, value)),
                Ok(other) => panic!("put {key}: unexpected answer {other:?}"),
                Err(e) if e.is_indeterminate() => self.indeterminate += 1,
                Err(e) => panic!("put {key} failed definitely: {e}"),
            }
        }
    }

    /// Reads every acknowledged key with a linearizable read: each must hold
    /// its value.
    pub fn check_all(&self, client: &mut Client<Command, Response>) {
        assert!(!self.writes.is_empty(), "no write was acknowledged");
        for (key, value) in &self.writes {
            let got = client
                .call(Command::Get { key: key.clone() })
                .unwrap_or_else(|e| panic!("get {key}: {e}"));
            assert_eq!(
                got,
                Response::Value(value.clone()),
                "acknowledged write of {key} lost"
            );
        }
    }
}

/// `text` without ANSI escape sequences (a log written with colours).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, up to the final byte.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Node `id`'s latest log, without colours.
pub fn log(c: &LocalCluster, id: NodeId) -> String {
    strip_ansi(&c.log(id).unwrap())
}

/// Some node other than `id`.
pub fn other_than(c: &LocalCluster, id: NodeId) -> NodeId {
    c.ids().into_iter().find(|&n| n != id).unwrap()
}
