//! The synod node: TCP transport, durable WAL, server threads, client.

pub mod queue;
