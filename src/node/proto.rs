//! The client wire protocol: what travels on a node's client port.
//!
//! Every message is one frame of [`crate::node::transport::frame`] (same
//! header and checksum as between peers, its own size limit,
//! `max_client_frame_bytes`); the frame's sender is the client id on the way
//! in and the node id on the way out. A client sends [`ClientMessage`]s and
//! reads [`ServerMessage`]s. Requests on one connection may be pipelined:
//! replies carry the request's `seq`, and may arrive in any order.
//!
//! Requests and replies are the core's own [`ClientRequest`] and
//! [`ClientReply`], so nothing is translated (or lost) between the wire and
//! the core. Exactly-once: a client retries a request with the same
//! `(client_id, seq)` after a timeout or a lost connection, to any node; the
//! core's sessions apply it once and answer the retry with the first outcome.

use serde::{Deserialize, Serialize};

use crate::node::config::ClusterConfig;
use crate::node::transport::frame::FrameCodec;
pub use crate::paxos::{ClientReply, ClientRequest, Outcome, ReadMode, Status};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientMessage<C> {
    /// Execute a command (the core's request, unchanged).
    Request(ClientRequest<C>),
    /// Report this node's [`Status`].
    Status,
}

/// What a node sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServerMessage<R> {
    /// The core's reply to a request.
    Reply(ClientReply<R>),
    /// The answer to [`ClientMessage::Status`].
    Status(Status),
    /// The node refused request `seq` of `client_id` without handing it to
    /// the core (for example it is shutting down). Definite: not applied.
    Refused {
        /// The request's client id.
        client_id: u64,
        /// The request's sequence number.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// Parses a `--read-mode` argument: `linearizable` (the core's read index),
/// `log` (reads through the log) or `local` (UNSAFE: any node's own state).
pub fn parse_read_mode(s: &str) -> Result<ReadMode, String> {
    match s {
        "linearizable" | "read-index" => Ok(ReadMode::ReadIndex),
        "log" => Ok(ReadMode::Log),
        "local" => Ok(ReadMode::Local),
        other => Err(format!(
            "unknown read mode {other:?} (expected linearizable, log or local)"
        )),
    }
}

/// The frame codec of the client port for `config`'s cluster; `None` if the
/// cluster id is too long or the client frame limit too small to frame
/// anything (never for a config that passed [`ClusterConfig::load`]).
pub fn client_codec(config: &ClusterConfig) -> Option<FrameCodec> {
    FrameCodec::new(&config.cluster_id, config.tuning.max_client_frame_bytes)
}
