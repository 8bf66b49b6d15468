//! A deterministic in-memory cluster driver: one seed drives the network
//! (loss, duplication, reordering), the clocks, the clients, crashes and
//! restarts, and disk wipes. It applies the core's rule (persist the step's
//! records, then send its messages and replies) and checks after every step
//! that no two replicas learned different values for one slot, across
//! restarts too (a learned slot never changes).
//!
//! The later `synod sim` command builds on [`Sim`].

mod cluster;
mod lockstep;
mod machine;
mod rng;

pub use cluster::{Client, Node, Sim, SimConfig, SimStats, Violation};
pub use lockstep::Lockstep;
pub use machine::{AppendCommand, AppendLog, AppendResponse};
pub use rng::SimRng;
