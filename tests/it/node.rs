//! The running node (`synod::node::server`), in process: three servers on
//! loopback ports of this process, each with its own data directory, driven
//! through the client library.

mod cli;
mod cluster;
mod datadir;
mod recovery;
mod server;
