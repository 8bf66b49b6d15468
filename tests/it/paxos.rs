//! The Multi-Paxos core: paper-rule tests (Paxos Made Simple), scripted
//! scenarios, and seeded simulations with faults.

mod bounds;
#[cfg(feature = "faults")]
mod defects;
mod review;
mod review2;
mod review3;
mod review4;
mod rules;
mod scenarios;
mod simulation;
mod swarm;
