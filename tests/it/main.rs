//! The one integration-test binary: each module is a concern (one link step
//! on a 2-core machine instead of one per file).
mod checker;

mod cluster;
mod fuzz;
mod history;
mod kv;
mod net;
mod node;
mod paxos;
mod sim;
mod storage;
