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

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// Where delivered messages go: called on a reader thread with the sender's
/// id and the message. It should hand off quickly (to a queue), since it
/// holds up that peer's connection.
pub type Deliver<M> = Arc<dyn Fn(NodeId, M) + Send + Sync>;

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
    /// Binds node `me`'s peer address from `config` and starts.
    pub fn bind(
        config: &ClusterConfig,
        me: NodeId,
        deliver: Deliver<M>,
    ) -> Result<Transport<M>, TransportError> {
        let node = config.node(me).ok_or(TransportError::UnknownNode(me))?;
        let listener = TcpListener::bind(node.peer).map_err(|source| TransportError::Bind {
            addr: node.peer.to_string(),
            source,
        })?;
        Self::start(config, me, listener, deliver)
    }

    /// Starts on an already bound `listener` (tests bind port 0 first, then
    /// write the config with the port they got).
    pub fn start(
        config: &ClusterConfig,
        me: NodeId,
        listener: TcpListener,
        deliver: Deliver<M>,
    ) -> Result<Transport<M>, TransportError> {
        config.node(me).ok_or(TransportError::UnknownNode(me))?;
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

/// Why an outbound connection failed.
#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("refused by peer: {0}")]
    Refused(String),
    #[error("reached node {got}, expected node {expected}")]
    WrongPeer { expected: NodeId, got: NodeId },
}

fn connect(shared: &Shared, link: &Link) -> Result<TcpStream, LinkError> {
    let t = shared.tuning();
    let stream = TcpStream::connect_timeout(&link.addr, ms(t.connect_timeout_ms))?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(ms(t.write_timeout_ms)))?;
    stream.set_read_timeout(Some(ms(t.handshake_timeout_ms)))?;
    let hello = shared.codec.encode(shared.me, &Hello { to: link.to })?;
    (&stream).write_all(&hello)?;
    let reply = shared.codec.read(&mut &stream)?;
    match reply.decode::<HelloReply>()? {
        HelloReply::Accepted if reply.sender == link.to => Ok(stream),
        HelloReply::Accepted => Err(LinkError::WrongPeer {
            expected: link.to,
            got: reply.sender,
        }),
        HelloReply::Refused(why) => Err(LinkError::Refused(why)),
    }
}

/// The sender thread of one peer: connect (with capped exponential backoff),
/// then write queued frames in batches, one flush per batch.
fn run_sender(shared: &Shared, link: &Link) {
    let t = shared.tuning();
    let (min_backoff, max_backoff) = (ms(t.reconnect_min_ms), ms(t.reconnect_max_ms));
    let mut backoff = min_backoff;
    let mut failures: u64 = 0;
    let mut conn: Option<BufWriter<TcpStream>> = None;
    let mut batch = Vec::new();
    // Frames are taken from the queue only once a connection exists, so while
    // the peer is down they wait there, bounded, oldest dropped first.
    while link.queue.wait_nonempty() {
        let writer = match conn.as_mut() {
            Some(w) => w,
            None => match connect(shared, link) {
                Ok(stream) => {
                    if failures > 0 {
                        tracing::info!(peer = link.to, failures, "reconnected to peer");
                    } else {
                        tracing::debug!(peer = link.to, "connected to peer");
                    }
                    failures = 0;
                    backoff = min_backoff;
                    bump(&shared.counters.connects, 1);
                    *lock(&link.current) = stream.try_clone().ok();
                    conn.insert(BufWriter::with_capacity(64 << 10, stream))
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(peer = link.to, addr = %link.addr, error = %e, "cannot connect to peer; retrying with backoff");
                    } else {
                        tracing::debug!(peer = link.to, failures, error = %e, "reconnect failed");
                    }
                    failures += 1;
                    if link.queue.sleep_unless_closed(backoff) {
                        break;
                    }
                    backoff = (backoff * 2).min(max_backoff);
                    continue;
                }
            },
        };
        batch.clear();
        let n = link.queue.drain_into(&mut batch, 256) as u64;
        let written = batch
            .iter()
            .try_for_each(|f| writer.write_all(f))
            .and_then(|()| writer.flush());
        match written {
            Ok(()) => bump(&shared.counters.frames_sent, n),
            Err(e) => {
                if !shared.closing() {
                    tracing::warn!(peer = link.to, error = %e, lost = n, "peer connection failed; reconnecting");
                }
                bump(&shared.counters.frames_lost, n);
                conn = None;
                *lock(&link.current) = None;
            }
        }
    }
    if let Some(w) = conn {
        let _ = w.get_ref().shutdown(Shutdown::Both);
    }
}

fn run_acceptor<M>(shared: &Arc<Shared>, listener: &TcpListener, deliver: &Deliver<M>)
where
    M: DeserializeOwned + Send + 'static,
{
    for stream in listener.incoming() {
        if shared.closing() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "peer accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer_addr = stream.peer_addr().ok();
        // Join readers that returned, outside the lock: a reader may still
        // be on its way out, and must not wait on the acceptor.
        let done: Vec<_> = {
            let mut inbound = shared.inbound();
            let ids = std::mem::take(&mut inbound.finished);
            ids.iter()
                .filter_map(|id| inbound.readers.remove(id))
                .collect()
        };
        for h in done {
            let _ = h.join();
        }
        let mut inbound = shared.inbound();
        if inbound.conns.len() >= shared.tuning().max_peer_connections {
            bump(&shared.counters.connections_refused, 1);
            tracing::warn!(addr = ?peer_addr, limit = shared.tuning().max_peer_connections, "peer port at its connection limit; refusing");
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let id = inbound.next_conn;
        inbound.next_conn += 1;
        inbound.conns.insert(id, (None, handle));
        let (shared2, deliver) = (shared.clone(), deliver.clone());
        let spawned = thread::Builder::new()
            .name(format!("peer-read-{}", shared.me))
            .spawn(move || run_reader(&shared2, id, stream, &deliver));
        match spawned {
            Ok(h) => {
                inbound.readers.insert(id, h);
            }
            Err(e) => {
                inbound.conns.remove(&id);
                tracing::error!(error = %e, "cannot spawn peer reader; connection dropped");
            }
        }
    }
}

/// Why an inbound connection ended.
#[derive(Debug, thiserror::Error)]
enum InboundEnd {
    #[error("handshake refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("frame claims sender {got} on the connection of node {peer}")]
    SenderChanged { peer: NodeId, got: NodeId },
}

fn run_reader<M>(shared: &Shared, conn: u64, stream: TcpStream, deliver: &Deliver<M>)
where
    M: DeserializeOwned,
{
    let addr = stream.peer_addr().ok();
    let mut peer = None;
    let end = serve_inbound(shared, conn, &stream, deliver, &mut peer);
    match (&end, peer) {
        (InboundEnd::Frame(FrameError::Closed), _) => {
            tracing::debug!(?addr, ?peer, "peer connection closed")
        }
        _ if shared.closing() => {}
        (InboundEnd::Refused(_), _) | (_, None) => {
            bump(&shared.counters.connections_refused, 1);
            tracing::warn!(?addr, error = %end, "refused inbound peer connection");
        }
        (_, Some(p)) => {
            bump(&shared.counters.connections_rejected, 1);
            tracing::warn!(?addr, peer = p, error = %end, "closed peer connection");
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    let mut inbound = shared.inbound();
    inbound.conns.remove(&conn);
    inbound.finished.push(conn);
}

fn serve_inbound<M>(
    shared: &Shared,
    conn: u64,
    stream: &TcpStream,
    deliver: &Deliver<M>,
    peer_out: &mut Option<NodeId>,
) -> InboundEnd
where
    M: DeserializeOwned,
{
    let t = shared.tuning();
    if let Err(e) = stream
        .set_read_timeout(Some(ms(t.handshake_timeout_ms)))
        .and_then(|()| stream.set_write_timeout(Some(ms(t.handshake_timeout_ms))))
    {
        return e.into();
    }
    let mut out = stream;
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let peer = match handshake(shared, &mut reader) {
        Ok(peer) => peer,
        Err(end) => {
            if let InboundEnd::Refused(why) = &end {
                if let Ok(f) = shared
                    .codec
                    .encode(shared.me, &HelloReply::Refused(why.clone()))
                {
                    let _ = out.write_all(&f);
                }
            }
            return end;
        }
    };
    *peer_out = Some(peer);
    {
        // A newer connection from the same peer replaces the old one (the peer
        // restarted or reconnected); the old reader ends on its closed socket.
        let mut inbound = shared.inbound();
        for (id, (p, s)) in inbound.conns.iter_mut() {
            if *id != conn && *p == Some(peer) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if let Some(entry) = inbound.conns.get_mut(&conn) {
            entry.0 = Some(peer);
        }
    }
    let accepted = shared.codec.encode(shared.me, &HelloReply::Accepted);
    if let Err(e) = accepted
        .map_err(InboundEnd::from)
        .and_then(|f| Ok(out.write_all(&f)?))
    {
        return e;
    }
    // Past the handshake a peer may be quiet for long (no leader, no load).
    if let Err(e) = stream.set_read_timeout(None) {
        return e.into();
    }
    loop {
        let frame = match shared.codec.read(&mut reader) {
            Ok(f) => f,
            Err(e) => return e.into(),
        };
        if frame.sender != peer {
            return InboundEnd::SenderChanged {
                peer,
                got: frame.sender,
            };
        }
        let msg = match frame.decode::<M>() {
            Ok(m) => m,
            Err(e) => return e.into(),
        };
        bump(&shared.counters.frames_received, 1);
        deliver(peer, msg);
    }
}

fn handshake(shared: &Shared, reader: &mut BufReader<&TcpStream>) -> Result<NodeId, InboundEnd> {
    let frame = shared.codec.read(reader)?;
    let hello: Hello = frame.decode()?;
    let from = frame.sender;
    if from == shared.me {
        return Err(InboundEnd::Refused(format!(
            "sender claims this node's own id {from}"
        )));
    }
    if shared.config.node(from).is_none() {
        return Err(InboundEnd::Refused(format!(
            "node {from} is not a member of cluster {:?}",
            shared.config.cluster_id
        )));
    }
    if hello.to != shared.me {
        return Err(InboundEnd::Refused(format!(
            "hello addressed to node {}, this is node {}",
            hello.to, shared.me
        )));
    }
    Ok(from)
}
