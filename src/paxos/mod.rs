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
//! persisted, in order. A replica whose records are lost starts with
//! [`Replica::amnesiac`] and takes part in no quorum until that is safe.
//! Time is only [`Input::Tick`]; randomness only [`Config::seed`].
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
#[cfg(feature = "faults")]
pub use config::Faults;
pub use config::{Config, ConfigError};
pub use message::{
    ClientReply, ClientRequest, Entry, Input, Message, Outcome, Proposal, ReadMode, Ready, Record,
    SharedEntry, SnapshotImage,
};
pub use quorum::{QuorumError, Quorums};
pub use replica::{RecoverError, Replica, Status};
pub use session::{Session, SessionOutcome, Sessions};
pub use state_machine::{RestoreError, StateMachine};
