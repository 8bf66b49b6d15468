//! The server side of the client port: accepts client connections, decodes
//! [`ClientMessage`]s and hands them to the node, and writes its replies.
//!
//! Each connection has a reader thread (decode, hand off) and a writer thread
//! (drain the connection's reply queue), so a slow client never blocks the
//! thread that replies (the core). A connection whose reply queue overflows
//! is closed rather than losing a reply silently: every accepted request gets
//! exactly one reply, or its connection closes, and the client retries.
//! Garbage, an oversized frame, a frame of another cluster or a request whose
//! client id differs from its frame's sender close the connection; the
//! listener keeps serving.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::frame::{FrameCodec, FrameError};
use super::peer::TransportError;
use super::send_queue::{Pushed, SendQueue};
use crate::node::config::{ClusterConfig, NodeId, Tuning};
use crate::node::proto::{
    client_codec, ClientMessage, ClientReply, ClientRequest, ServerMessage, Status,
};
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::{thread, Arc, Mutex, MutexGuard};

/// Identifies one client connection on one node.
pub type ConnectionId = u64;

/// What the client port hands to the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent<C> {
    /// A request arrived; answer it with [`ClientPort::reply`].
    Request {
        /// The connection to answer on.
        conn: ConnectionId,
        /// The request.
        request: ClientRequest<C>,
    },
    /// A status query arrived; answer it with [`ClientPort::status`].
    Status {
        /// The connection to answer on.
        conn: ConnectionId,
    },
    /// The connection closed; replies for it can be forgotten.
    Closed {
        /// The connection.
        conn: ConnectionId,
    },
}

/// Where client events go, shared by the reader threads. Boxed inside the
/// shim's `Arc` because loom's `Arc` cannot hold an unsized `dyn Fn`.
type ClientHandler<C> = Arc<Box<dyn Fn(ClientEvent<C>) + Send + Sync>>;

/// A reply could not be queued.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    /// The connection is closed (or was closed because its queue overflowed).
    #[error("client connection {0} is closed")]
    Gone(ConnectionId),
    /// The reply cannot be framed; the connection was closed.
    #[error("cannot frame reply: {0}")]
    Frame(#[from] FrameError),
}

/// Counters since the port started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientPortStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections refused at the connection limit.
    pub refused: u64,
    /// Connections closed for a bad frame or message.
    pub rejected: u64,
    /// Connections closed because their reply queue overflowed.
    pub overflowed: u64,
    /// Requests handed to the node.
    pub requests: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    refused: AtomicU64,
    rejected: AtomicU64,
    overflowed: AtomicU64,
    requests: AtomicU64,
}

struct Conn {
    stream: TcpStream,
    replies: SendQueue,
}

impl Conn {
    fn close(&self) {
        self.replies.close();
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

#[derive(Default)]
struct Registry {
    next: ConnectionId,
    conns: BTreeMap<ConnectionId, Arc<Conn>>,
    threads: BTreeMap<ConnectionId, Vec<thread::JoinHandle<()>>>,
    /// Connections whose threads returned or are about to, joined by the acceptor.
    finished: Vec<ConnectionId>,
}

struct Shared {
    me: NodeId,
    tuning: Tuning,
    codec: FrameCodec,
    closing: AtomicBool,
    counters: Counters,
    registry: Mutex<Registry>,
}

impl Shared {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Every mutation under this lock is a single insert or remove.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A node's running client port. Dropping it shuts it down.
pub struct ClientPort<C, R> {
    shared: Arc<Shared>,
    acceptor: Option<thread::JoinHandle<()>>,
    local_addr: SocketAddr,
    _types: PhantomData<fn(C) -> R>,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl<C, R> ClientPort<C, R>
where
    C: DeserializeOwned + Send + 'static,
    R: Serialize,
{
    /// Binds node `me`'s client address from `config` and starts. `handler`
    /// is called on the connection's reader thread with each event; it may
    /// call [`Self::reply`] inline, and should not block for long (it holds up
    /// that connection).
    pub fn bind(
        config: &ClusterConfig,
        me: NodeId,
        handler: impl Fn(ClientEvent<C>) + Send + Sync + 'static,
    ) -> Result<ClientPort<C, R>, TransportError> {
        let node = config.node(me).ok_or(TransportError::UnknownNode(me))?;
        let listener = TcpListener::bind(node.client).map_err(|source| TransportError::Bind {
            addr: node.client.to_string(),
            source,
        })?;
        Self::start(config, me, listener, handler)
    }

    /// Starts on an already bound `listener`; `handler` as in [`Self::bind`].
    pub fn start(
        config: &ClusterConfig,
        me: NodeId,
        listener: TcpListener,
        handler: impl Fn(ClientEvent<C>) + Send + Sync + 'static,
    ) -> Result<ClientPort<C, R>, TransportError> {
        let handler: ClientHandler<C> = Arc::new(Box::new(handler));
        let local_addr = listener
            .local_addr()
            .map_err(|source| TransportError::Bind {
                addr: "client listener".into(),
                source,
            })?;
        let codec = client_codec(config)
            .ok_or_else(|| TransportError::Config("cannot frame client messages".into()))?;
        let shared = Arc::new(Shared {
            me,
            tuning: config.tuning.clone(),
            codec,
            closing: AtomicBool::new(false),
            counters: Counters::default(),
            registry: Mutex::new(Registry::default()),
        });
        let s = shared.clone();
        let acceptor = thread::Builder::new()
            .name(format!("client-accept-{me}"))
            .spawn(move || run_acceptor(&s, &listener, &handler))
            .map_err(TransportError::Spawn)?;
        Ok(ClientPort {
            shared,
            acceptor: Some(acceptor),
            local_addr,
            _types: PhantomData,
        })
    }

    /// Queues the core's `reply` on `conn`. If the connection's reply queue
    /// is full the connection is closed instead (the client retries), and
    /// this returns [`ReplyError::Gone`].
    pub fn reply(&self, conn: ConnectionId, reply: ClientReply<R>) -> Result<(), ReplyError> {
        self.send(conn, &ServerMessage::Reply(reply))
    }

    /// Refuses request `seq` of `client_id` on `conn` without it reaching the
    /// core (for example while shutting down).
    pub fn refuse(
        &self,
        conn: ConnectionId,
        client_id: u64,
        seq: u64,
        reason: String,
    ) -> Result<(), ReplyError> {
        self.send(
            conn,
            &ServerMessage::Refused {
                client_id,
                seq,
                reason,
            },
        )
    }

    /// Queues a status answer on `conn`.
    pub fn status(&self, conn: ConnectionId, status: Status) -> Result<(), ReplyError> {
        self.send(conn, &ServerMessage::<R>::Status(status))
    }

    fn send(&self, conn: ConnectionId, msg: &ServerMessage<R>) -> Result<(), ReplyError> {
        let Some(c) = self.shared.registry().conns.get(&conn).cloned() else {
            return Err(ReplyError::Gone(conn));
        };
        let frame = match self.shared.codec.encode(self.shared.me, msg) {
            Ok(f) => f,
            Err(e) => {
                // The request is answered by closing its connection.
                tracing::error!(conn, error = %e, "cannot frame client reply; closing connection");
                c.close();
                return Err(e.into());
            }
        };
        match c.replies.push(frame) {
            Pushed::Queued { dropped: 0 } => Ok(()),
            Pushed::Queued { .. } => {
                bump(&self.shared.counters.overflowed);
                tracing::warn!(conn, "client reply queue overflowed; closing connection");
                c.close();
                Err(ReplyError::Gone(conn))
            }
            Pushed::Closed => Err(ReplyError::Gone(conn)),
        }
    }
}

impl<C, R> ClientPort<C, R> {
    /// The address the client port listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Client connections open now.
    pub fn open_connections(&self) -> usize {
        self.shared.registry().conns.len()
    }

    /// The counters so far.
    pub fn stats(&self) -> ClientPortStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientPortStats {
            accepted: get(&c.accepted),
            refused: get(&c.refused),
            rejected: get(&c.rejected),
            overflowed: get(&c.overflowed),
            requests: get(&c.requests),
        }
    }

    /// Closes the port and every connection and joins their threads.
    /// Idempotent; also run on drop.
    pub fn shutdown(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.shared.closing.store(true, Ordering::Release);
        let mut wake = self.local_addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = acceptor.join();
        let threads = {
            let mut reg = self.shared.registry();
            for c in reg.conns.values() {
                c.close();
            }
            std::mem::take(&mut reg.threads)
        };
        for handle in threads.into_values().flatten() {
            let _ = handle.join();
        }
    }
}

impl<C, R> Drop for ClientPort<C, R> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run_acceptor<C>(shared: &Arc<Shared>, listener: &TcpListener, handler: &ClientHandler<C>)
where
    C: DeserializeOwned + Send + 'static,
{
    for stream in listener.incoming() {
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "client accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        // Join the threads of closed connections outside the lock: the
        // node's handler may call `reply` (which takes it) from a reader
        // that is on its way out.
        let done: Vec<_> = {
            let mut reg = shared.registry();
            let ids = std::mem::take(&mut reg.finished);
            ids.iter()
                .filter_map(|id| reg.threads.remove(id))
                .flatten()
                .collect()
        };
        for h in done {
            let _ = h.join();
        }
        let mut reg = shared.registry();
        if reg.conns.len() >= shared.tuning.max_client_connections {
            bump(&shared.counters.refused);
            tracing::warn!(addr = ?stream.peer_addr().ok(), limit = shared.tuning.max_client_connections, "client port at its connection limit; refusing");
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ =
            stream.set_write_timeout(Some(Duration::from_millis(shared.tuning.write_timeout_ms)));
        let id = reg.next;
        reg.next += 1;
        let conn = Arc::new(Conn {
            stream: handle,
            replies: SendQueue::new(shared.tuning.client_reply_queue_frames, usize::MAX),
        });
        reg.conns.insert(id, conn.clone());
        bump(&shared.counters.accepted);
        let (s1, c2, h) = (shared.clone(), conn.clone(), handler.clone());
        let reader = thread::Builder::new()
            .name(format!("client-read-{}", shared.me))
            .spawn(move || run_reader(&s1, id, &conn, &h));
        let writer = thread::Builder::new()
            .name(format!("client-write-{}", shared.me))
            .spawn(move || run_writer(&c2));
        let mut handles = Vec::new();
        let mut failed = false;
        for spawned in [reader, writer] {
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    failed = true;
                    tracing::error!(error = %e, "cannot spawn client connection thread");
                }
            }
        }
        if failed {
            if let Some(c) = reg.conns.remove(&id) {
                c.close();
            }
        }
        reg.threads.insert(id, handles);
    }
}

fn run_reader<C>(shared: &Shared, id: ConnectionId, conn: &Conn, handler: &ClientHandler<C>)
where
    C: DeserializeOwned,
{
    let addr = conn.stream.peer_addr().ok();
    let end = serve(shared, id, conn, handler);
    match end {
        Err(FrameError::Closed) => tracing::debug!(conn = id, ?addr, "client disconnected"),
        Err(_) if shared.closing.load(Ordering::Acquire) => {}
        Err(e) => {
            bump(&shared.counters.rejected);
            tracing::warn!(conn = id, ?addr, error = %e, "closed client connection");
        }
        Ok(()) => {}
    }
    conn.close();
    shared.registry().conns.remove(&id);
    handler(ClientEvent::Closed { conn: id });
    // Last: from here on the acceptor may join this thread.
    shared.registry().finished.push(id);
}

fn serve<C>(
    shared: &Shared,
    id: ConnectionId,
    conn: &Conn,
    handler: &ClientHandler<C>,
) -> Result<(), FrameError>
where
    C: DeserializeOwned,
{
    let mut reader = BufReader::with_capacity(64 << 10, &conn.stream);
    loop {
        let frame = shared.codec.read(&mut reader)?;
        match frame.decode::<ClientMessage<C>>()? {
            ClientMessage::Request(request) => {
                if request.client_id != frame.sender {
                    return Err(FrameError::Malformed(
                        "request's client id differs from its frame's sender",
                    ));
                }
                bump(&shared.counters.requests);
                handler(ClientEvent::Request { conn: id, request });
            }
            ClientMessage::Status => handler(ClientEvent::Status { conn: id }),
        }
    }
}

fn run_writer(conn: &Conn) {
    let mut writer = BufWriter::with_capacity(64 << 10, &conn.stream);
    let mut batch = Vec::new();
    while conn.replies.wait_nonempty() {
        batch.clear();
        conn.replies.drain_into(&mut batch, 256);
        let written = batch
            .iter()
            .try_for_each(|f| writer.write_all(f))
            .and_then(|()| writer.flush());
        if let Err(e) = written {
            tracing::debug!(error = %e, "client reply write failed; closing connection");
            break;
        }
    }
    conn.close();
}
