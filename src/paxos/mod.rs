//! The pure Multi-Paxos core: no threads, clocks, sockets, files or
//! randomness. Every harness drives this one implementation.
//!
//! The contract (DESIGN.md): a [`Replica`] takes one input at a time (a
//! message from a peer, a client request, a tick) and returns a `Ready`:
//! records to persist, messages to peers, replies to clients. A driver persists
//! the batch's records durably, then sends its messages and replies.

mod state_machine;

pub use state_machine::{RestoreError, StateMachine};
