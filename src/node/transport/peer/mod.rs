//! The peer transport: Paxos messages between the members over TCP.
//!
//! Each ordered pair of peers uses its own connection, opened by the sender:
//! a node's sender thread for peer P connects to P's peer port, introduces
//! itself with a [`Hello`], waits for [`HelloReply::Accepted`], then only
//! writes. P's acceptor hands the connection to a reader thread, which checks
//! the handshake (a member, not P itself, of P's cluster, addressed to P) and
//! then only reads. One direction per connection keeps each side's state
//! machine trivial: a sender never reads, a reader never writes after the
//! handshake.
//!
//! Threads (all through [`crate::sync::thread`]): one acceptor, one reader
//! per inbound connection (at most `max_peer_connections`), one sender per
//! peer. Sends never block the caller: frames go to a bounded
//! [`SendQueue`] per peer that drops its oldest frame when full, and a failed
//! connection loses what was written to it. Paxos tolerates both as message
//! loss; the counters in [`TransportStats`] and the logs say how much.

mod inbound;
mod sender;

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use self::inbound::run_acceptor;
use self::sender::run_sender;
use super::frame::{FrameCodec, FrameError};
use super::send_queue::{Pushed, SendQueue};
use crate::node::config::{ClusterConfig, NodeId, Tuning};
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::{thread, Arc, Mutex};

/// The first frame on a peer connection, from the connecting node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The node the connector believes it reached.
    pub to: NodeId,
}

/// The acceptor's answer to a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelloReply {
    /// The connection may carry messages.
    Accepted,
    /// Refused, with the reason; the acceptor closes the connection.
    Refused(String),
}

/// Where delivered messages go, shared by the reader threads. Boxed inside
/// the shim's `Arc` because loom's `Arc` cannot hold an unsized `dyn Fn`.
type Deliver<M> = Arc<Box<dyn Fn(NodeId, M) + Send + Sync>>;

/// The transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The node's id is not in the config.
    #[error("node {0} is not a member of the cluster config")]
    UnknownNode(NodeId),
    /// The peer port could not be bound or inspected.
    #[error("peer port {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The config's limits cannot frame a message.
    #[error("invalid transport config: {0}")]
    Config(String),
    /// A thread could not be started.
    #[error("cannot spawn transport thread: {0}")]
    Spawn(std::io::Error),
}

/// A message could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The destination is not a member (or is this node: a driver delivers
    /// its own messages itself).
    #[error("node {0} is not a peer of this node")]
    UnknownPeer(NodeId),
    /// The message cannot be framed (for example it exceeds `max_frame_bytes`).
    #[error("cannot frame message: {0}")]
    Frame(#[from] FrameError),
    /// The transport is shut down.
    #[error("transport is shut down")]
    Closed,
}

/// Counters since the transport started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Frames written to a peer connection and flushed.
    pub frames_sent: u64,
    /// Frames received and delivered.
    pub frames_received: u64,
    /// Frames dropped from a full send queue.
    pub frames_dropped: u64,
    /// Frames lost because the connection failed while writing them.
    pub frames_lost: u64,
    /// Inbound connections refused: handshake failed, or over the limit.
    pub connections_refused: u64,
    /// Inbound connections closed for a bad frame after the handshake.
    pub connections_rejected: u64,
    /// Outbound connections established (first connects and reconnects).
    pub connects: u64,
}

#[derive(Debug, Default)]
struct Counters {
    frames_sent: AtomicU64,
    frames_received: AtomicU64,
    frames_lost: AtomicU64,
    connections_refused: AtomicU64,
    connections_rejected: AtomicU64,
    connects: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

struct Shared {
    me: NodeId,
    config: ClusterConfig,
    codec: FrameCodec,
    closing: AtomicBool,
    counters: Counters,
    inbound: Mutex<Inbound>,
}

#[derive(Default)]
struct Inbound {
    next_conn: u64,
    /// Open inbound connections: the handshaken peer (if yet) and a handle to
    /// close the socket from another thread.
    conns: BTreeMap<u64, (Option<NodeId>, TcpStream)>,
    readers: BTreeMap<u64, thread::JoinHandle<()>>,
    /// Readers that returned, to be joined by the acceptor.
    finished: Vec<u64>,
}

impl Shared {
    fn tuning(&self) -> &Tuning {
        &self.config.tuning
    }

    fn inbound(&self) -> crate::sync::MutexGuard<'_, Inbound> {
        // Every mutation under this lock is a single insert or remove.
        self.inbound.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

struct Link {
    to: NodeId,
    addr: SocketAddr,
    queue: SendQueue,
    /// The live outbound socket, so shutdown can interrupt a blocked write.
    current: Mutex<Option<TcpStream>>,
}

/// The running transport of one node. Dropping it shuts it down.
pub struct Transport<M> {
    shared: Arc<Shared>,
    links: BTreeMap<NodeId, Arc<Link>>,
    threads: Vec<thread::JoinHandle<()>>,
    local_addr: SocketAddr,
    shut: bool,
    _message: PhantomData<fn(M) -> M>,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl<M> Transport<M>
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    /// Binds node `me`'s peer address from `config` and starts. `deliver` is
    /// called on a reader thread with the sender's id and each message; it
    /// should hand off quickly (to a queue), since it holds up that peer's
    /// connection, and must not block forever once shutdown begins.
    pub fn bind(
        config: &ClusterConfig,
        me: NodeId,
        deliver: impl Fn(NodeId, M) + Send + Sync + 'static,
    ) -> Result<Transport<M>, TransportError> {
        let node = config.node(me).ok_or(TransportError::UnknownNode(me))?;
        let listener = TcpListener::bind(node.peer).map_err(|source| TransportError::Bind {
            addr: node.peer.to_string(),
            source,
        })?;
        Self::start(config, me, listener, deliver)
    }

    /// Starts on an already bound `listener` (tests bind port 0 first, then
    /// write the config with the port they got). `deliver` as in [`Self::bind`].
    pub fn start(
        config: &ClusterConfig,
        me: NodeId,
        listener: TcpListener,
        deliver: impl Fn(NodeId, M) + Send + Sync + 'static,
    ) -> Result<Transport<M>, TransportError> {
        config.node(me).ok_or(TransportError::UnknownNode(me))?;
        let deliver: Deliver<M> = Arc::new(Box::new(deliver));
        let local_addr = listener
            .local_addr()
            .map_err(|source| TransportError::Bind {
                addr: "listener".into(),
                source,
            })?;
        let codec = FrameCodec::new(&config.cluster_id, config.tuning.max_frame_bytes)
            .ok_or_else(|| TransportError::Config("cluster id too long for frames".into()))?;
        let shared = Arc::new(Shared {
            me,
            config: config.clone(),
            codec,
            closing: AtomicBool::new(false),
            counters: Counters::default(),
            inbound: Mutex::new(Inbound::default()),
        });
        let mut transport = Transport {
            shared: shared.clone(),
            links: BTreeMap::new(),
            threads: Vec::new(),
            local_addr,
            shut: false,
            _message: PhantomData,
        };
        let t = &config.tuning;
        for node in config.nodes.iter().filter(|n| n.id != me) {
            let link = Arc::new(Link {
                to: node.id,
                addr: node.peer,
                queue: SendQueue::new(t.send_queue_frames, t.send_queue_bytes),
                current: Mutex::new(None),
            });
            transport.links.insert(node.id, link.clone());
            let shared = shared.clone();
            let handle = thread::Builder::new()
                .name(format!("peer-send-{me}->{}", node.id))
                .spawn(move || run_sender(&shared, &link))
                .map_err(TransportError::Spawn)?;
            transport.threads.push(handle);
        }
        let acceptor = thread::Builder::new()
            .name(format!("peer-accept-{me}"))
            .spawn(move || run_acceptor(&shared, &listener, &deliver))
            .map_err(TransportError::Spawn)?;
        transport.threads.push(acceptor);
        Ok(transport)
    }

    /// The address the peer port listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Queues `msg` for peer `to`. Never blocks on the network; if the peer's
    /// queue is full its oldest frame is dropped (counted and logged).
    pub fn send(&self, to: NodeId, msg: &M) -> Result<(), SendError> {
        let link = self.links.get(&to).ok_or(SendError::UnknownPeer(to))?;
        let frame = self.shared.codec.encode(self.shared.me, msg)?;
        self.enqueue(link, frame)
    }

    /// Queues `msg` for each peer in `to`, encoding it once.
    pub fn send_many(&self, to: &[NodeId], msg: &M) -> Result<(), SendError> {
        if let Some(bad) = to.iter().find(|id| !self.links.contains_key(id)) {
            return Err(SendError::UnknownPeer(*bad));
        }
        let frame = self.shared.codec.encode(self.shared.me, msg)?;
        for id in to {
            self.enqueue(&self.links[id], frame.clone())?;
        }
        Ok(())
    }

    fn enqueue(&self, link: &Link, frame: Vec<u8>) -> Result<(), SendError> {
        match link.queue.push(frame) {
            Pushed::Queued { dropped: 0 } => Ok(()),
            Pushed::Queued { dropped } => {
                let total = link.queue.dropped();
                // Log the first drop and then every 1024th, not every frame.
                if total == dropped as u64 || total % 1024 < dropped as u64 {
                    tracing::warn!(
                        peer = link.to,
                        dropped_total = total,
                        "send queue full: dropped oldest frames"
                    );
                }
                Ok(())
            }
            Pushed::Closed => Err(SendError::Closed),
        }
    }

    /// Frames waiting in the send queue for `to` (None if not a peer).
    pub fn queued(&self, to: NodeId) -> Option<(usize, usize)> {
        self.links
            .get(&to)
            .map(|l| (l.queue.len(), l.queue.bytes()))
    }

    /// The counters so far.
    pub fn stats(&self) -> TransportStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        TransportStats {
            frames_sent: get(&c.frames_sent),
            frames_received: get(&c.frames_received),
            frames_dropped: self.links.values().map(|l| l.queue.dropped()).sum(),
            frames_lost: get(&c.frames_lost),
            connections_refused: get(&c.connections_refused),
            connections_rejected: get(&c.connections_rejected),
            connects: get(&c.connects),
        }
    }
}

impl<M> Transport<M> {
    /// Stops every thread and closes every connection; queued frames are
    /// discarded. Idempotent; also run on drop.
    pub fn shutdown(&mut self) {
        if self.shut {
            return;
        }
        self.shut = true;
        self.shared.closing.store(true, Ordering::Release);
        for link in self.links.values() {
            link.queue.close();
            if let Some(s) = lock(&link.current).as_ref() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        // Wake the acceptor out of `accept` with a connection of our own.
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
        // The acceptor is gone, so no reader starts after this.
        let readers = {
            let mut inbound = self.shared.inbound();
            for (_, stream) in inbound.conns.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut inbound.readers)
        };
        for (_, handle) in readers {
            let _ = handle.join();
        }
    }
}

impl<M> Drop for Transport<M> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
