//! The pure Multi-Paxos core: no threads, clocks, sockets, files or
//! randomness. Every harness (models, fuzzers, simulator, node) drives this
//! one implementation.
//!
//! # The driver's contract
//!
//! A [`Replica`] takes one [`Input`] at a time (a [`Message`] from a peer, a
//! [`ClientRequest`], or a tick) in [`Replica::step`] and returns a [`Ready`]:
//!
//! 1. **persist** `ready.persist` durably, in order (promises, accepted values,
//!    chosen values, snapshots);
//! 2. **then send** `ready.messages` to peers and `ready.replies` to clients.
//!
//! Never the other way round: an acceptor's promise or acceptance that leaves
//! before it is durable can be forgotten by a crash and broken after restart.
//! A driver may keep stepping while a batch waits for its fsync, as long as
//! batches become durable, and their sends leave, in order.
//!
//! A replica restarts with [`Replica::recover`] from exactly the records it
//! persisted, in order, and the state machine's initial state (the state
//! before slot 0, used when no snapshot record is given). A driver may drop
//! records of slots below a persisted snapshot's `upto`.
//!
//! A replica whose records are lost (disk wiped or corrupt) starts with
//! [`Replica::amnesiac`] and takes part in no quorum until that is safe. Its
//! first `Ready` persists [`Record::Amnesia`]` { voting: false }`, so a crash
//! during its recovery restarts it amnesiac again through `recover`; until
//! that first record is durable, a restart must call `amnesiac` again (an
//! empty disk cannot tell a wiped replica from a new one: the driver can).
//! Rejoining needs every other replica reachable (see `leader.rs`,
//! `end_amnesia_if_recovered`, for the rule and why it is safe).
//!
//! Time is only [`Input::Tick`]; randomness only [`Config::seed`].
//!
//! # Clients
//!
//! A [`ClientRequest`] carries `(client_id, seq)`; a client keeps one request
//! outstanding and retries it with the same `seq` (to any replica) until it
//! gets a definite [`Outcome`]. `Ok`, `NotLeader`, `Busy` and `SessionStale`
//! are definite; `Unknown` (the leader lost its leadership with the command
//! in flight) may or may not take effect, and a retry is applied at most once.
//! A session expired (`session_timeout_ticks` of log time unused) is
//! forgotten: a retry of a first request after that could apply twice, so
//! make the timeout longer than any client retries. A full table
//! (`max_sessions`) refuses new sessions (answered `Unknown`: a retry may
//! apply once sessions expire) instead of evicting one.
//!
//! # The protocol
//!
//! Multi-Paxos (Lamport, Paxos Made Simple, section 3): a leader runs phase 1
//! once for every open slot with a ballot above all it has seen; for each slot
//! it proposes the value with the highest ballot reported by a phase-1 quorum
//! of promises (P2c) or a no-op, then runs phase 2 per slot, pipelined
//! (`window`) and batched (`max_batch`). Chosen slots reach every replica
//! through the leader's commit bound (heartbeats and accepts), fetches and
//! snapshots. Client sessions give exactly-once commands; reads use a read
//! index confirmed by a quorum. See the files: `acceptor.rs`, `leader.rs`,
//! `learner.rs`, `read.rs`, `session.rs`, `snapshot.rs`, `client.rs`.

mod acceptor;
mod ballot;
mod client;
mod compaction;
mod config;
mod leader;
mod learner;
mod message;
mod quorum;
mod read;
mod replica;
mod session;
mod snapshot;
mod state_machine;

pub use ballot::{Ballot, NodeId, Slot};
pub use compaction::compaction_base;
#[cfg(feature = "faults")]
pub use config::Faults;
pub use config::{Config, ConfigError};
pub use message::{
    ClientReply, ClientRequest, Entry, Input, Message, Outcome, Proposal, ReadMode, Ready, Record,
    SharedEntry, SnapshotImage, FIRST_SEQ,
};
pub use quorum::{QuorumError, Quorums};
pub use replica::{RecoverError, Replica, Status};
pub use session::{Session, SessionOutcome, Sessions};
pub use state_machine::{RestoreError, StateMachine};
