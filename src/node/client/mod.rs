//! The client library: finds the leader, retries with the same
//! `(client_id, seq)` so a retried command is applied once, and gives up at
//! an overall deadline with an indeterminate outcome.
//!
//! Outcomes follow Jepsen's rule "when in doubt, indefinite": a request whose
//! bytes were written to any node and that got no `Ok` may have been applied
//! ([`ClientError::Indeterminate`]); only a request never written anywhere is
//! a definite failure ([`ClientError::Unavailable`]).

pub mod cli;

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::marker::PhantomData;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::node::config::{ClusterConfig, NodeId};
use crate::node::proto::{
    client_codec, ClientMessage, ClientReply, ClientRequest, Outcome, ReadMode, ServerMessage,
    Status,
};
use crate::node::transport::frame::{FrameCodec, FrameError};
use crate::paxos::FIRST_SEQ;

/// How a [`Client`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Overall deadline of one call, retries included.
    pub timeout: Duration,
    /// How long one attempt at one node waits for its reply before the client
    /// tries another node (with the same sequence number).
    pub attempt_timeout: Duration,
    /// The read mode of calls made with [`Client::call`].
    pub read_mode: ReadMode,
    /// The client id; `None` draws a random one.
    pub client_id: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(1),
            read_mode: ReadMode::ReadIndex,
            client_id: None,
        }
    }
}

/// Why a call did not return a response.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The deadline passed after the request was sent: it may or may not
    /// have been applied.
    #[error("indeterminate after {attempts} attempts: {last}")]
    Indeterminate {
        /// Attempts made.
        attempts: u32,
        /// The last thing that went wrong.
        last: String,
    },
    /// The deadline passed and the request was never written to any node: it
    /// was definitely not applied.
    #[error("cluster unavailable, request never sent: {last}")]
    Unavailable {
        /// The last thing that went wrong.
        last: String,
    },
    /// A node refused the request (no earlier attempt was sent, so it was not applied).
    #[error("refused by node {node}: {message}")]
    Refused {
        /// The node that refused.
        node: NodeId,
        /// Its reason.
        message: String,
    },
    /// The request cannot be framed (too large for `max_client_frame_bytes`).
    #[error("cannot send request: {0}")]
    Frame(#[from] FrameError),
    /// The configuration cannot be used (unknown node, unframable cluster id).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// True if the command may have been applied.
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, ClientError::Indeterminate { .. })
    }
}

/// What one attempt got back.
enum Answer<R> {
    /// The core's outcome.
    Core(Outcome<R>),
    /// The node refused the request before the core saw it.
    Refused(String),
}

/// One attempt at one node went wrong.
enum AttemptError {
    /// Nothing reached the node (connect failed).
    NotSent(String),
    /// The request may have reached the node.
    Sent(String),
}

struct Conn {
    reader: BufReader<TcpStream>,
}

/// A connection to a cluster, typed by the state machine's command `C` and
/// response `R`. One call at a time; for concurrency use several clients.
pub struct Client<C, R> {
    config: ClusterConfig,
    codec: FrameCodec,
    options: ClientOptions,
    client_id: u64,
    next_seq: u64,
    leader: Option<NodeId>,
    /// Where the next leaderless search starts, so clients spread over nodes.
    cursor: usize,
    conns: BTreeMap<NodeId, Conn>,
    _types: PhantomData<fn(C) -> R>,
}

/// A random nonzero 64-bit id from the clock, the process id and a counter,
/// mixed by SplitMix64. Not for cryptography; only distinct across clients.
pub fn random_client_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z.max(1)
}

impl<C, R> Client<C, R>
where
    C: Serialize,
    R: DeserializeOwned,
{
    /// A client of `config`'s cluster. Connects lazily.
    pub fn new(
        config: &ClusterConfig,
        options: ClientOptions,
    ) -> Result<Client<C, R>, ClientError> {
        let codec = client_codec(config).ok_or_else(|| {
            ClientError::Config("cluster id or client frame limit unusable".into())
        })?;
        if config.nodes.is_empty() {
            return Err(ClientError::Config("config lists no node".into()));
        }
        let client_id = options.client_id.unwrap_or_else(random_client_id);
        Ok(Client {
            cursor: (client_id % config.nodes.len() as u64) as usize,
            config: config.clone(),
            codec,
            options,
            client_id,
            next_seq: FIRST_SEQ,
            leader: None,
            conns: BTreeMap::new(),
            _types: PhantomData,
        })
    }

    /// This client's id. It changes when the cluster has no session for it
    /// (see [`Outcome::SessionExpired`]), even if [`ClientOptions::client_id`]
    /// fixed it.
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// The leader this client last got an answer from.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Executes `command` with the default read mode.
    pub fn call(&mut self, command: C) -> Result<R, ClientError> {
        self.call_with(command, self.options.read_mode)
    }

    /// Executes `command` with `read_mode`: sends it to the leader it knows
    /// (or searches), follows `NotLeader` hints, and retries after timeouts
    /// and lost connections with the same sequence number until the deadline.
    pub fn call_with(&mut self, command: C, read_mode: ReadMode) -> Result<R, ClientError> {
        let mut seq = self.next_seq;
        self.next_seq += 1;
        let mut frame = self.request_frame(seq, &command, read_mode)?;
        let deadline = Instant::now() + self.options.timeout;
        let n = self.config.nodes.len();
        // A local read may be answered by any node; everything else goes to
        // the leader.
        let mut target = match (read_mode, self.leader) {
            (ReadMode::Local, _) | (_, None) => self.next_node(),
            (_, Some(leader)) => leader,
        };
        // Whether some attempt may have reached a core without a definite
        // answer: then giving up is indeterminate.
        let mut sent = false;
        let mut attempts = 0u32;
        let mut last = String::from("no attempt made");
        // Attempts since the last answer that made progress; after a full
        // round of the cluster the client pauses (an election is under way).
        let mut fruitless = 0usize;
        let mut pause = Duration::from_millis(10);
        loop {
            if Instant::now() >= deadline {
                return Err(if sent {
                    ClientError::Indeterminate { attempts, last }
                } else {
                    ClientError::Unavailable { last }
                });
            }
            if fruitless >= n {
                fruitless = 0;
                sleep_until(deadline, pause);
                pause = (pause * 2).min(Duration::from_millis(500));
                continue;
            }
            attempts += 1;
            let answer = self.attempt(target, &frame, seq, deadline);
            let hint = match answer {
                Ok(Answer::Core(Outcome::Ok(response))) => {
                    if read_mode != ReadMode::Local {
                        self.leader = Some(target);
                    }
                    return Ok(response);
                }
                // Definite: nothing was proposed by this node.
                Ok(Answer::Core(Outcome::NotLeader { hint })) => {
                    last = format!("node {target} is not the leader");
                    hint
                }
                Ok(Answer::Core(Outcome::Busy)) => {
                    last = format!("node {target} is busy");
                    sleep_until(deadline, pause);
                    pause = (pause * 2).min(Duration::from_millis(500));
                    continue;
                }
                // The leader lost its leadership with the command in flight:
                // retry the same seq; the session answers if it was applied.
                Ok(Answer::Core(Outcome::Unknown { hint })) => {
                    sent = true;
                    last = format!("node {target} lost leadership with the request in flight");
                    hint
                }
                Ok(Answer::Core(Outcome::SessionStale)) => {
                    // Applied or superseded, and the answer is gone.
                    return Err(ClientError::Indeterminate {
                        attempts,
                        last: format!("node {target}: session no longer holds the answer"),
                    });
                }
                Ok(Answer::Core(Outcome::SessionExpired)) if !sent => {
                    // Definite: no copy was applied, but the cluster holds no
                    // session for us (evicted, or our reads, which are never
                    // logged, used the first sequence numbers). Open a new one.
                    self.renew_session();
                    seq = self.next_seq;
                    self.next_seq += 1;
                    frame = self.request_frame(seq, &command, read_mode)?;
                    last = format!("node {target}: the client's session expired");
                    continue;
                }
                Ok(Answer::Core(Outcome::SessionExpired)) => {
                    // The session went while we retried: an earlier copy may
                    // have been applied, and this one never will be.
                    return Err(ClientError::Indeterminate {
                        attempts,
                        last: format!("node {target}: the client's session expired"),
                    });
                }
                Ok(Answer::Core(Outcome::SeqReused)) => {
                    // Definite: nothing applied. Another client with our id,
                    // or a reused sequence number.
                    return Err(ClientError::Refused {
                        node: target,
                        message: format!(
                            "sequence number {seq} of client {} was used for another command",
                            self.client_id
                        ),
                    });
                }
                Ok(Answer::Refused(message)) => {
                    if sent {
                        return Err(ClientError::Indeterminate {
                            attempts,
                            last: format!("node {target} refused a retry: {message}"),
                        });
                    }
                    return Err(ClientError::Refused {
                        node: target,
                        message,
                    });
                }
                Err(AttemptError::NotSent(e)) => {
                    last = e;
                    self.forget(target);
                    None
                }
                Err(AttemptError::Sent(e)) => {
                    sent = true;
                    last = e;
                    self.forget(target);
                    None
                }
            };
            self.leader = None;
            fruitless += 1;
            target = match hint {
                Some(h) if h != target && self.config.node(h).is_some() => h,
                _ => self.next_node(),
            };
        }
    }

    /// The frame of request `seq` carrying `command`.
    fn request_frame(
        &self,
        seq: u64,
        command: &C,
        read_mode: ReadMode,
    ) -> Result<Vec<u8>, ClientError> {
        let request = ClientMessage::Request(ClientRequest {
            client_id: self.client_id,
            seq,
            command,
            read_mode,
        });
        Ok(self.codec.encode(self.client_id, &request)?)
    }

    /// Takes a fresh client id, numbered from [`FIRST_SEQ`]: the cluster
    /// opens a session only at a client's first sequence number, so that a
    /// late retry of a forgotten request is never applied again. A new id,
    /// not a restart of the old numbering: copies of the old id's requests
    /// may still be in flight.
    fn renew_session(&mut self) {
        self.client_id = random_client_id();
        self.next_seq = FIRST_SEQ;
    }

    /// Asks node `id` for its status (one attempt, within the client's timeout).
    pub fn status(&mut self, id: NodeId) -> Result<Status, ClientError> {
        let frame = self
            .codec
            .encode(self.client_id, &ClientMessage::<C>::Status)?;
        let deadline = Instant::now() + self.options.timeout.min(self.options.attempt_timeout);
        let result = self.exchange(id, &frame, deadline, |msg| match msg {
            ServerMessage::Status(s) => Some(s),
            ServerMessage::Reply(_) | ServerMessage::Refused { .. } => None,
        });
        match result {
            Ok(status) => Ok(status),
            Err(AttemptError::NotSent(e) | AttemptError::Sent(e)) => {
                self.forget(id);
                Err(ClientError::Unavailable { last: e })
            }
        }
    }

    fn next_node(&mut self) -> NodeId {
        let id = self.config.nodes[self.cursor % self.config.nodes.len()].id;
        self.cursor = self.cursor.wrapping_add(1);
        id
    }

    fn forget(&mut self, id: NodeId) {
        self.conns.remove(&id);
    }

    fn attempt(
        &mut self,
        id: NodeId,
        frame: &[u8],
        seq: u64,
        deadline: Instant,
    ) -> Result<Answer<R>, AttemptError> {
        let client_id = self.client_id;
        self.exchange(id, frame, deadline, |msg| match msg {
            ServerMessage::Reply(ClientReply {
                client_id: c,
                seq: s,
                outcome,
            }) if c == client_id && s == seq => Some(Answer::Core(outcome)),
            ServerMessage::Refused {
                client_id: c,
                seq: s,
                reason,
            } if c == client_id && s == seq => Some(Answer::Refused(reason)),
            // A late reply to an earlier call on this connection.
            _ => None,
        })
    }

    /// Writes `frame` to node `id` and reads until `pick` accepts a message,
    /// within the attempt timeout and the deadline.
    fn exchange<T>(
        &mut self,
        id: NodeId,
        frame: &[u8],
        deadline: Instant,
        mut pick: impl FnMut(ServerMessage<R>) -> Option<T>,
    ) -> Result<T, AttemptError> {
        let attempt_deadline = deadline.min(Instant::now() + self.options.attempt_timeout);
        let remaining = |what: &str| {
            let left = attempt_deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(format!("node {id}: timed out {what}"))
            } else {
                Ok(left)
            }
        };
        if !self.conns.contains_key(&id) {
            let node = self
                .config
                .node(id)
                .ok_or_else(|| AttemptError::NotSent(format!("node {id} is not in the config")))?;
            let left = remaining("connecting").map_err(AttemptError::NotSent)?;
            let stream = TcpStream::connect_timeout(&node.client, left)
                .map_err(|e| AttemptError::NotSent(format!("node {id} ({}): {e}", node.client)))?;
            let _ = stream.set_nodelay(true);
            self.conns.insert(
                id,
                Conn {
                    reader: BufReader::with_capacity(64 << 10, stream),
                },
            );
        }
        let codec = &self.codec;
        let Some(conn) = self.conns.get_mut(&id) else {
            return Err(AttemptError::NotSent(format!("node {id}: no connection")));
        };
        let stream = conn.reader.get_ref();
        let left = remaining("sending").map_err(AttemptError::NotSent)?;
        stream
            .set_write_timeout(Some(left))
            .and_then(|()| (&*stream).write_all(frame))
            .map_err(|e| AttemptError::Sent(format!("node {id}: sending: {e}")))?;
        loop {
            let left = remaining("waiting for the reply").map_err(AttemptError::Sent)?;
            conn.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .map_err(|e| AttemptError::Sent(format!("node {id}: {e}")))?;
            let reply = codec
                .read(&mut conn.reader)
                .map_err(|e| AttemptError::Sent(format!("node {id}: {}", describe(&e))))?;
            let msg: ServerMessage<R> = reply
                .decode()
                .map_err(|e| AttemptError::Sent(format!("node {id}: bad reply: {e}")))?;
            if let Some(t) = pick(msg) {
                return Ok(t);
            }
        }
    }
}

fn describe(e: &FrameError) -> String {
    match e {
        FrameError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            "timed out waiting for the reply".into()
        }
        FrameError::Closed => "connection closed before the reply".into(),
        other => other.to_string(),
    }
}

fn sleep_until(deadline: Instant, pause: Duration) {
    let left = deadline.saturating_duration_since(Instant::now());
    std::thread::sleep(pause.min(left));
}
