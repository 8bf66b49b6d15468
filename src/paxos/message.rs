//! What crosses the core's boundary: log entries, peer messages, client
//! requests and replies, durable records, and the step's input and output.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ballot::{Ballot, NodeId, Slot};
use super::session::Sessions;
use super::state_machine::StateMachine;

/// One command in a log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proposal<C> {
    /// A client's command, with its session key for exactly-once application.
    Client {
        /// The client's session.
        client_id: u64,
        /// The client's sequence number (one outstanding request per client).
        seq: u64,
        /// The command.
        command: C,
    },
    /// A command the leader proposed from its ticks (`StateMachine::tick_commands`).
    Tick(C),
}

impl<C> Proposal<C> {
    /// The session key `(client_id, seq)` of a client's command.
    pub fn client_key(&self) -> Option<(u64, u64)> {
        match self {
            Proposal::Client { client_id, seq, .. } => Some((*client_id, *seq)),
            Proposal::Tick(_) => None,
        }
    }
}

/// The value of one slot: a batch of commands and the proposing leader's tick
/// count (the log's clock; made monotonic when applied). A no-op has no
/// commands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The leader's tick count when it proposed the entry.
    pub log_ticks: u64,
    /// The batch, applied in order.
    pub proposals: Vec<Proposal<C>>,
}

impl<C> Entry<C> {
    /// An entry without commands (fills a slot no promise reported).
    pub fn noop(log_ticks: u64) -> Entry<C> {
        Entry {
            log_ticks,
            proposals: Vec::new(),
        }
    }
}

/// A shared log entry: messages and records of one step point at one copy.
pub type SharedEntry<C> = Arc<Entry<C>>;

/// A message between replicas. Names after Paxos Made Simple (prepare,
/// promise, accept, accepted) and Multi-Paxos practice (commit, fetch).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Message<S: StateMachine> {
    /// Phase 1a, once per leadership, for every slot from `first_slot` on.
    Prepare {
        /// The proposer's new ballot.
        ballot: Ballot,
        /// The proposer's first unchosen slot.
        first_slot: Slot,
        /// `Some(nonce)` for an amnesiac's recovery prepare: an acceptor
        /// promises it only strictly above its own promise (an amnesiac may
        /// have used this ballot before it lost its records), and echoes the
        /// nonce, so a promise sent to an earlier incarnation is not counted.
        recovery: Option<u64>,
    },
    /// Phase 1b: the acceptor promises to accept nothing below `ballot`.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The prepare's `recovery` nonce, echoed.
        recovery: Option<u64>,
        /// The acceptor's snapshot covers every slot below this one.
        snapshot_upto: Slot,
        /// Every value the acceptor accepted at or after the prepare's
        /// `first_slot` (and its snapshot), with the ballot it was accepted in.
        accepted: Vec<(Slot, Ballot, SharedEntry<S::Command>)>,
    },
    /// Phase 2a: accept `entry` for `slot` in `ballot`.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The value.
        entry: SharedEntry<S::Command>,
        /// The leader knows every slot below this one chosen.
        chosen_upto: Slot,
    },
    /// Phase 2b: the acceptor accepted `slot` in `ballot`.
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
    },
    /// A refusal: the acceptor promised `promised`, above the sender's `ballot`.
    Nack {
        /// The refused ballot.
        ballot: Ballot,
        /// The acceptor's promise.
        promised: Ballot,
    },
    /// The leader's heartbeat: slots below `chosen_upto` are chosen (those an
    /// acceptor accepted in `ballot` with the value it holds), and a read-index
    /// round to confirm leadership.
    Commit {
        /// The leader's ballot.
        ballot: Ballot,
        /// The first slot of this leadership (it proposed every open slot from
        /// here on; informative).
        first_slot: Slot,
        /// Every slot below this one is chosen.
        chosen_upto: Slot,
        /// The read-index round being confirmed.
        read_round: u64,
        /// The phase-1 quorum of this ballot (informative, for traces and models).
        promisers: Vec<NodeId>,
    },
    /// The acceptor has promised nothing above `ballot` (confirms a read round).
    CommitAck {
        /// The leader's ballot.
        ballot: Ballot,
        /// The round confirmed.
        read_round: u64,
    },
    /// An acceptor's answer to an accept for a slot its snapshot covers:
    /// every slot below `upto` is chosen, so the leader lags behind a value
    /// it cannot see. It fetches (and, superseded, steps down), instead of
    /// retransmitting to acceptors that drop the accept silently.
    Compacted {
        /// The acceptor's snapshot covers every slot below this one.
        upto: Slot,
    },
    /// A lagging replica asks for chosen slots from `from_slot` on.
    Fetch {
        /// The first slot the asker misses.
        from_slot: Slot,
    },
    /// Chosen values, answering a fetch.
    Learn {
        /// Chosen slots and values, ascending.
        entries: Vec<(Slot, SharedEntry<S::Command>)>,
    },
    /// A chunk of a snapshot covering every slot below `upto`, for a replica
    /// whose missing slots were truncated.
    SnapshotChunk {
        /// The snapshot covers slots below this one.
        upto: Slot,
        /// Byte offset of the chunk.
        offset: u64,
        /// Length of the whole serialized snapshot.
        total_len: u64,
        /// The bytes (at most `max_message_bytes`).
        data: Vec<u8>,
    },
}

/// How a read-only command (one `StateMachine::query` answers) is served.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum ReadMode {
    /// Linearizable: the leader answers after a read-index round confirms its
    /// leadership and its state covers every slot it proposed.
    #[default]
    ReadIndex,
    /// Linearizable: the read goes through the log like a write.
    Log,
    /// UNSAFE (like etcd's serializable reads): any replica answers at once from
    /// its own state, which may be stale. For verifiers to prove they catch it.
    Local,
}

/// A client's request to a replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientRequest<C> {
    /// The client's session (random 64-bit ids are fine).
    pub client_id: u64,
    /// Increases by one per new request; a retry reuses it. A client has at
    /// most one request outstanding.
    pub seq: u64,
    /// The command.
    pub command: C,
    /// How a read-only command is served (writes ignore it).
    pub read_mode: ReadMode,
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Outcome<R> {
    /// Applied (or read); the state machine's answer. Definite.
    Ok(R),
    /// This replica does not lead; try `hint`. Definite: nothing was proposed.
    NotLeader {
        /// The leader this replica believes in, if any.
        hint: Option<NodeId>,
    },
    /// Too many pending requests. Definite: nothing was proposed.
    Busy,
    /// The replica lost its leadership with the command in flight, or a first
    /// request found the session table full when applied (another copy may
    /// still apply in a later slot): it may or may not take effect.
    /// Indefinite; retry the same `seq`.
    Unknown {
        /// The leader this replica believes in, if any.
        hint: Option<NodeId>,
    },
    /// `seq` is below the session's latest: the answer is no longer kept.
    /// Definite: the request was already applied or superseded.
    SessionStale,
    /// The client has no session (it expired) and `seq` is not
    /// a first request ([`FIRST_SEQ`]): the request is not applied now, but an
    /// earlier copy may have been before the session went. Indefinite (Raft
    /// thesis, section 6.3).
    SessionExpired,
    /// `(client_id, seq)` was already used for another command: refused,
    /// nothing applied. Definite; a client protocol error.
    SeqReused,
}

/// The sequence number of a client's first request: the only one that may
/// open a session. A request with a later `seq` from a client without a
/// session is answered [`Outcome::SessionExpired`], never applied.
pub const FIRST_SEQ: u64 = 1;

/// A reply to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientReply<R> {
    /// The request's client.
    pub client_id: u64,
    /// The request's sequence number.
    pub seq: u64,
    /// The result.
    pub outcome: Outcome<R>,
}

/// A snapshot: the replicated state covering every slot below `upto`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SnapshotImage<S: StateMachine> {
    /// The snapshot covers slots below this one.
    pub upto: Slot,
    /// The log clock after the last covered slot.
    pub log_ticks: u64,
    /// The session table (replicated state).
    pub sessions: Sessions<S::Command, S::Response>,
    /// `StateMachine::snapshot` of the state.
    pub state: Vec<u8>,
}

/// What a driver must make durable, in order, before sending the step's
/// messages and replies. `Replica::recover` takes them back in the same order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Record<S: StateMachine> {
    /// The acceptor promised `ballot`.
    Promise {
        /// The ballot.
        ballot: Ballot,
    },
    /// The acceptor accepted `entry` for `slot` in `ballot`.
    Accept {
        /// The slot.
        slot: Slot,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        entry: SharedEntry<S::Command>,
    },
    /// The learner learned that `entry` is chosen for `slot`.
    Chosen {
        /// The slot.
        slot: Slot,
        /// The value.
        entry: SharedEntry<S::Command>,
    },
    /// A snapshot; records of slots below its `upto` may be discarded.
    Snapshot(Arc<SnapshotImage<S>>),
    /// The replica lost its state (`voting: false`, the first record of an
    /// amnesiac replica) or has safely rejoined (`voting: true`). Recovery
    /// honours the last one, so a crash mid-recovery stays amnesiac.
    Amnesia {
        /// Whether it votes again.
        voting: bool,
    },
    /// (Last, so the WAL encoding of the earlier variants is unchanged.)
    /// This replica stood for election with `ballot`: it never stands with
    /// it again. Its own acceptor's promise records that for a voting replica;
    /// an amnesiac does not promise its own ballot, so it records this.
    Stood {
        /// The ballot.
        ballot: Ballot,
    },
}

/// One input to [`crate::paxos::Replica::step`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Input<S: StateMachine> {
    /// A message from peer `from`.
    Message {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message<S>,
    },
    /// A client request.
    Request(ClientRequest<S::Command>),
    /// One tick of the replica's clock.
    Tick,
}

/// The output of one step. The rule: persist `persist` durably, in order,
/// then send `messages` and `replies`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Ready<S: StateMachine> {
    /// Records to make durable first.
    pub persist: Vec<Record<S>>,
    /// Messages to peers, sent after `persist` is durable.
    pub messages: Vec<(NodeId, Message<S>)>,
    /// Client replies, sent after `persist` is durable.
    pub replies: Vec<ClientReply<S::Response>>,
}

impl<S: StateMachine> Default for Ready<S> {
    fn default() -> Self {
        Ready {
            persist: Vec::new(),
            messages: Vec::new(),
            replies: Vec::new(),
        }
    }
}

impl<S: StateMachine> Ready<S> {
    /// Whether the step produced nothing.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty() && self.messages.is_empty() && self.replies.is_empty()
    }
}
