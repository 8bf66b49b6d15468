//! Clusters on loopback ports chosen by the kernel.

use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
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
    // A cluster id of its own, so a test that reaches another test's port (a
    // port reused after a listener closed) is refused by the handshake.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let cluster_id = format!(
        "test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let config = ClusterConfig {
        cluster_id,
        nodes,
        tuning,
    };
    // Round trip through the file format, so every test config is a valid file.
    let config = ClusterConfig::parse(&config.to_toml().unwrap(), Path::new("test.toml"))
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

/// A loopback port that refuses connections for as long as this value lives:
/// a socket bound to it that never listens, so no other test can take the
/// port and turn "nothing listens there" into a connection.
pub struct RefusingPort {
    fd: libc::c_int,
    pub addr: std::net::SocketAddr,
}

impl RefusingPort {
    pub fn new() -> RefusingPort {
        // SAFETY: plain socket calls on a descriptor this value owns; the
        // sockaddr structs are fully initialized and sized as the calls expect.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let mut sa: libc::sockaddr_in = std::mem::zeroed();
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            sa.sin_port = 0;
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), len);
            assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
            let mut out: libc::sockaddr_in = std::mem::zeroed();
            let mut out_len = len;
            let rc = libc::getsockname(
                fd,
                (&mut out as *mut libc::sockaddr_in).cast(),
                &mut out_len,
            );
            assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
            let port = u16::from_be(out.sin_port);
            RefusingPort {
                fd,
                addr: std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)),
            }
        }
    }
}

impl Drop for RefusingPort {
    fn drop(&mut self) {
        // SAFETY: `fd` is owned by this value and closed once.
        unsafe {
            libc::close(self.fd);
        }
    }
}
