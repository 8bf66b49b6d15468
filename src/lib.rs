//! synod: a Paxos-replicated key-value and lock service built to be verified,
//! and the Jepsen-style verification harness around it.
//!
//! One pure protocol core ([`paxos`] driving the state machine [`kv`]) is
//! driven by every harness: the stateright models (`models/`), the fuzzers,
//! the simulator, and the real node ([`node`]). The checker ([`checker`],
//! [`history`]) knows nothing of synod and checks any system's histories.
//! See `DESIGN.md` for the architecture and the core's contract.

pub mod checker;
pub mod fuzzing;
pub mod history;
pub mod kv;
pub mod node;
pub mod paxos;
pub mod sim;
pub mod sync;
