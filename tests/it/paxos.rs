//! The Multi-Paxos core: paper-rule tests (Paxos Made Simple), scripted
//! scenarios, and seeded simulations with faults.

mod bounds;
mod rules;
mod scenarios;
mod simulation;
mod swarm;
