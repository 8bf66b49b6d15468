//! Clusters on loopback ports chosen by the kernel.

use std::net::TcpListener;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use synod::node::config::{ClusterConfig, NodeConfig, NodeId, Tuning};

/// Listeners bound to 127.0.0.1:0 for `n` nodes, and the config naming them.
pub struct Ports {
    pub config: ClusterConfig,
    pub peer: Vec<Option<TcpListener>>,
    pub client: Vec<Option<TcpListener>>,
}

pub fn bind_cluster(n: usize, tuning: Tuning) -> Ports {
    let mut peer = Vec::new();
    let mut client = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..n {
        let p = TcpListener::bind("127.0.0.1:0").expect("bind peer port");
        let c = TcpListener::bind("127.0.0.1:0").expect("bind client port");
        nodes.push(NodeConfig {
            id: i as NodeId + 1,
            peer: p.local_addr().unwrap(),
            client: c.local_addr().unwrap(),
        });
        peer.push(Some(p));
        client.push(Some(c));
    }
    let config = ClusterConfig {
        cluster_id: "test".into(),
        nodes,
        tuning,
    };
    // Round trip through the file format, so every test config is a valid file.
    let config = ClusterConfig::parse(&config.to_toml(), Path::new("test.toml"))
        .expect("generated config is valid");
    Ports {
        config,
        peer,
        client,
    }
}

/// Fast reconnects and handshakes so tests do not wait on defaults.
pub fn quick_tuning() -> Tuning {
    Tuning {
        reconnect_min_ms: 5,
        reconnect_max_ms: 50,
        handshake_timeout_ms: 2000,
        connect_timeout_ms: 500,
        ..Tuning::default()
    }
}

/// The bound on every wait in these tests: liveness, not timing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Receives from `rx` until `want` accepts an item, or PATIENCE passes.
pub fn recv_until<T>(rx: &mpsc::Receiver<T>, mut want: impl FnMut(&T) -> bool) -> Option<T> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(item) if want(&item) => return Some(item),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}
