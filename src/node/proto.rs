//! The client wire protocol: what travels on a node's client port.
//!
//! Every message is one frame of [`crate::node::transport::frame`] (same
//! header and checksum as between peers, its own size limit,
//! `max_client_frame_bytes`); the frame's sender is the client id on the way
//! in and the node id on the way out. A client sends [`ClientMessage`]s and
//! reads [`ServerMessage`]s. Requests on one connection may be pipelined:
//! replies carry the request's `seq`, and may arrive in any order.
//!
//! Exactly-once: a client retries a request with the same `(client_id, seq)`
//! after a timeout or a lost connection, to any node; the core's sessions
//! apply it once and answer the retry with the first outcome.

use serde::{Deserialize, Serialize};

use crate::node::config::{ClusterConfig, NodeId};
use crate::node::transport::frame::FrameCodec;

/// How a read is served.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum ReadMode {
    /// Linearizable: the leader confirms its leadership with a quorum
    /// (read index) before answering. The default.
    #[default]
    Linearizable,
    /// UNSAFE: any node answers from its own state, which may be stale (like
    /// etcd's serializable reads). It exists so the harness can show that the
    /// checker catches stale reads.
    Local,
}

impl std::str::FromStr for ReadMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "linearizable" => Ok(ReadMode::Linearizable),
            "local" => Ok(ReadMode::Local),
            other => Err(format!(
                "unknown read mode {other:?} (expected linearizable or local)"
            )),
        }
    }
}

/// One client command, identified for exactly-once execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request<C> {
    /// The client's random 64-bit id (its session).
    pub client_id: u64,
    /// The client's sequence number, increasing per new command; a retry
    /// reuses it.
    pub seq: u64,
    /// The state machine command.
    pub command: C,
    /// How a read-only command is served.
    pub read_mode: ReadMode,
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientMessage<C> {
    /// Execute a command.
    Request(Request<C>),
    /// Report this node's [`NodeStatus`].
    Status,
}

/// The outcome of a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply<R> {
    /// The command was applied (or read) with this response.
    Ok(R),
    /// This node does not lead; `hint` is the leader it knows of, if any.
    NotLeader {
        /// A node id to try instead.
        hint: Option<NodeId>,
    },
    /// The node is overloaded; try again later.
    Busy,
    /// The request was refused (malformed, or not acceptable).
    Error(String),
}

/// What a node sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServerMessage<R> {
    /// The answer to request `seq` of `client_id`.
    Reply {
        /// The request's client id.
        client_id: u64,
        /// The request's sequence number.
        seq: u64,
        /// Its outcome.
        reply: Reply<R>,
    },
    /// The answer to [`ClientMessage::Status`].
    Status(NodeStatus),
}

/// A node's view of the protocol, for `synod client status` and tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node answering.
    pub id: NodeId,
    /// The leader it believes in, if any.
    pub leader: Option<NodeId>,
    /// Its current ballot, as the core prints it.
    pub ballot: String,
    /// The highest slot it knows chosen.
    pub chosen_slot: u64,
    /// The highest slot it has applied.
    pub applied_slot: u64,
    /// False while the node has lost its state and may not vote yet.
    pub can_vote: bool,
}

/// The frame codec of the client port for `config`'s cluster; `None` if the
/// cluster id is too long or the client frame limit too small to frame
/// anything (never for a config that passed [`ClusterConfig::load`]).
pub fn client_codec(config: &ClusterConfig) -> Option<FrameCodec> {
    FrameCodec::new(&config.cluster_id, config.tuning.max_client_frame_bytes)
}
