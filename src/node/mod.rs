//! The synod node: TCP transport, durable WAL, server threads, client.

pub mod client;
pub mod config;
pub mod proto;
pub mod transport;
