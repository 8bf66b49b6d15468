//! A deterministic in-memory cluster driver: one seed drives the network
//! (loss, duplication, reordering, partitions, messages held back, lost
//! replies), the clocks, the clients, crashes and restarts, and disk wipes.
//! It applies the core's rule (persist the step's records, then send its
//! messages and replies) and checks after every step what no replica can see
//! (the ghost, [`Rule`]): no two replicas learn different values for one
//! slot, across restarts too; no ballot is led by two incarnations or
//! proposes two values for a slot; no leader announces chosen a slot where
//! its ballot proposed another value.
//!
//! A restart builds a new core from the disk, so a restarted replica's own
//! tick count starts again at 0, as a real process's does.
//!
//! On top of it, swarm testing ([`Swarm`], [`run_swarm`], [`search_swarm`]):
//! each seed draws its own faults and limits; a run has fault periods, each
//! followed by a liveness phase after healing, and ends with the clients'
//! history checked for linearizability by [`crate::checker`]. A panic (a
//! core assertion) is a finding with its seed.
//!
//! The later `synod sim` command builds on [`Sim`].

pub mod cli;
mod client;
mod cluster;
mod disk;
mod ghost;
mod history;
mod liveness;
mod lockstep;
mod machine;
mod network;
mod order;
mod rng;
mod run;
mod swarm;

pub use cluster::{Client, Node, Sim, SimConfig, SimStats};
pub use ghost::{Rule, Violation};
pub use history::{append_history, check_appends, ClientEvent, ClientEventKind};
pub use liveness::Liveness;
pub use lockstep::Lockstep;
pub use machine::{AppendCommand, AppendLog, AppendResponse};
pub use network::{Held, Links};
pub use order::check_append_order;
pub use rng::SimRng;
pub use run::{run_drawn, run_on, run_swarm, search_swarm, swarm_sim};
pub use swarm::{swarm_command, Failure, Swarm, SwarmBudget, SwarmRun, SwarmViolation};
