//! The pipeline's [`Sink`]: where a batch's messages and replies go once its
//! records are durable.

use crate::kv::{Command, KvStore, Response};
use crate::node::config::NodeId;
use crate::node::pipeline::Sink;
use crate::node::transport::client_port::{ClientPort, ConnectionId};
use crate::node::transport::{SendError, Transport};
use crate::paxos::{ClientReply, Message};
use crate::sync::Arc;

/// One outbound item of a step: a message to a peer or a reply to a client
/// connection (the core thread resolved the client's connection when it
/// built the batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A Paxos message to peer `to`.
    Peer {
        /// The destination.
        to: NodeId,
        /// The message.
        message: Message<KvStore>,
    },
    /// A reply to the client on connection `conn`.
    Reply {
        /// The connection the request came on.
        conn: ConnectionId,
        /// The core's reply.
        reply: ClientReply<Response>,
    },
}

/// Releases durable items to the transport and the client port. Both only
/// queue (bounded, never blocking), as the pipeline requires.
pub struct NodeSink {
    /// The peer transport.
    pub transport: Arc<Transport<Message<KvStore>>>,
    /// The client port.
    pub port: Arc<ClientPort<Command, Response>>,
}

impl Sink<Outbound> for NodeSink {
    fn release(&mut self, item: Outbound) {
        match item {
            Outbound::Peer { to, message } => {
                // A full queue drops its oldest frame and a dead peer loses
                // what it was sent: message loss, which Paxos retransmits past.
                match self.transport.send(to, &message) {
                    Ok(()) => {}
                    Err(SendError::Closed) => {
                        tracing::debug!(to, "peer message not sent: transport closed");
                    }
                    // Not framable (over max_frame_bytes) or not a peer: a
                    // misconfiguration that retransmission cannot cure.
                    Err(e) => tracing::warn!(to, error = %e, "peer message dropped"),
                }
            }
            Outbound::Reply { conn, reply } => {
                // A gone connection: the client retries with the same seq and
                // its session answers with the first outcome.
                if let Err(e) = self.port.reply(conn, reply) {
                    tracing::debug!(conn, error = %e, "client reply not delivered");
                }
            }
        }
    }

    fn discard(&mut self, item: Outbound) {
        // Storage failed: the node stops, and stopping closes every client
        // connection, which is what a client waiting for this reply must see.
        tracing::warn!(
            ?item,
            "discarding an item whose records never became durable"
        );
    }
}
