//! The synod node: TCP transport, durable WAL, server threads, client.

pub mod bench;
pub mod client;
pub mod config;
pub mod identity;
pub mod pipeline;
pub mod proto;
pub mod queue;
pub mod server;
pub mod storage;
pub mod transport;
