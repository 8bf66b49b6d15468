//! A three-node cluster of in-process servers, restartable on the same ports.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use synod::kv::{Command, Response};
use synod::node::client::{Client, ClientOptions};
use synod::node::config::{ClusterConfig, NodeConfig, NodeId, Tuning};
use synod::node::server::{Listeners, Server, ServerOptions};
use tempfile::TempDir;

/// Generous: these are deadlines for liveness on a loaded machine, never
/// timing assertions.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub struct Cluster {
    pub config: ClusterConfig,
    root: TempDir,
    pub servers: BTreeMap<NodeId, Server>,
}

fn tuning() -> Tuning {
    Tuning {
        tick_ms: 5,
        election_timeout_ticks: 20,
        heartbeat_ticks: 4,
        reconnect_min_ms: 5,
        reconnect_max_ms: 50,
        ..Tuning::default()
    }
}

impl Cluster {
    /// Binds ports for `n` nodes and starts them all with `--bootstrap`.
    pub fn start(n: u64) -> Cluster {
        Self::start_with(n, tuning())
    }

    /// [`Cluster::start`] with the given tuning.
    pub fn start_with(n: u64, tuning: Tuning) -> Cluster {
        let mut listeners = BTreeMap::new();
        let mut nodes = Vec::new();
        for id in 1..=n {
            let peer = TcpListener::bind("127.0.0.1:0").expect("bind peer port");
            let client = TcpListener::bind("127.0.0.1:0").expect("bind client port");
            nodes.push(NodeConfig {
                id,
                peer: peer.local_addr().unwrap(),
                client: client.local_addr().unwrap(),
            });
            listeners.insert(id, Listeners { peer, client });
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let config = ClusterConfig {
            cluster_id: format!(
                "node-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
            nodes,
            tuning,
        };
        let config = ClusterConfig::parse(&config.to_toml().unwrap(), Path::new("test.toml"))
            .expect("generated config is valid");
        let mut cluster = Cluster {
            config,
            root: tempfile::tempdir().expect("temp dir"),
            servers: BTreeMap::new(),
        };
        for (id, l) in listeners {
            cluster.launch(id, true, Some(l)).expect("start node");
        }
        cluster
    }

    pub fn data_dir(&self, id: NodeId) -> PathBuf {
        self.root.path().join(format!("node-{id}"))
    }

    fn addrs(&self, id: NodeId) -> (SocketAddr, SocketAddr) {
        let n = self.config.node(id).expect("member");
        (n.peer, n.client)
    }

    /// Starts node `id` (on the config's ports unless `listeners` are given).
    pub fn launch(
        &mut self,
        id: NodeId,
        bootstrap: bool,
        listeners: Option<Listeners>,
    ) -> Result<(), synod::node::server::ServerError> {
        let listeners = match listeners {
            Some(l) => l,
            None => {
                let (peer, client) = self.addrs(id);
                Listeners {
                    peer: rebind(peer),
                    client: rebind(client),
                }
            }
        };
        let server = Server::start(ServerOptions {
            id,
            config: self.config.clone(),
            data_dir: self.data_dir(id),
            bootstrap,
            recover_amnesiac: false,
            listeners: Some(listeners),
            stop_on_signal: false,
        })?;
        self.servers.insert(id, server);
        Ok(())
    }

    /// Stops node `id` cleanly (what SIGTERM does) and waits for it.
    pub fn stop(&mut self, id: NodeId) {
        let server = self.servers.remove(&id).expect("node is running");
        server.shutdown().expect("clean shutdown");
    }

    pub fn client(&self) -> Client<Command, Response> {
        self.client_with(None)
    }

    pub fn client_with(&self, client_id: Option<u64>) -> Client<Command, Response> {
        Client::new(
            &self.config,
            ClientOptions {
                timeout: DEADLINE,
                attempt_timeout: Duration::from_millis(500),
                client_id,
                ..ClientOptions::default()
            },
        )
        .expect("client")
    }

    /// Waits until some running node reports itself leader; its id.
    pub fn leader(&self) -> NodeId {
        let mut client = self.client();
        let start = Instant::now();
        loop {
            for &id in self.servers.keys() {
                if let Ok(status) = client.status(id) {
                    if status.is_leader {
                        return id;
                    }
                }
            }
            assert!(start.elapsed() < DEADLINE, "no leader elected");
            sleep(Duration::from_millis(20));
        }
    }
}

/// Binds `addr` again after its server closed it (retrying while the
/// kernel still holds it).
fn rebind(addr: SocketAddr) -> TcpListener {
    let start = Instant::now();
    loop {
        match TcpListener::bind(addr) {
            Ok(l) => return l,
            Err(e) => {
                assert!(start.elapsed() < DEADLINE, "cannot rebind {addr}: {e}");
                sleep(Duration::from_millis(20));
            }
        }
    }
}

pub fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: key.into(),
        value: value.into(),
    }
}

pub fn get(key: &str) -> Command {
    Command::Get { key: key.into() }
}

impl Cluster {
    /// Waits until node `id`'s status satisfies `ok`; returns that status.
    pub fn wait_status(
        &self,
        id: NodeId,
        what: &str,
        ok: impl Fn(&synod::paxos::Status) -> bool,
    ) -> synod::paxos::Status {
        let mut client = self.client();
        let start = Instant::now();
        loop {
            if let Ok(status) = client.status(id) {
                if ok(&status) {
                    return status;
                }
            }
            assert!(start.elapsed() < DEADLINE, "node {id} never {what}");
            sleep(Duration::from_millis(20));
        }
    }
}

/// The test tuning with snapshots every `interval` applied slots.
pub fn snapshot_tuning(interval: u64) -> Tuning {
    Tuning {
        snapshot_interval: interval,
        ..tuning()
    }
}
