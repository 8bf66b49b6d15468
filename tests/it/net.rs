//! The node's network layer: config file, frames, peer transport, client port
//! and client library, over real loopback sockets.

mod cli;
mod client;
mod config;
mod frame;
mod peer;
mod support;
