//! `synod node --id N --config cluster.toml --data-dir DIR [--bootstrap]`.
//!
//! Exit codes: 0 after a clean shutdown (SIGTERM or SIGINT); 1 when the node
//! fails (storage failing, the data directory locked by another node, a port
//! in use); 3 on a usage or configuration error, on a data directory of
//! another node or cluster, or `--bootstrap` over existing state, and on
//! storage that holds less than the node made durable, damaged data or an
//! unknown format version (the directory is left untouched; the error names
//! file and byte offset; `--recover-amnesiac` sets the state aside).

use std::path::PathBuf;

use clap::Args;

use crate::node::config::ClusterConfig;

use super::{signal, Server, ServerOptions};

/// Arguments of `synod node`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// This node's id in the cluster file.
    #[arg(long)]
    pub id: u64,
    /// The cluster file (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// The node's data directory (WAL, snapshot, identity, lock).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Start a new cluster member: write this node's identity into an empty
    /// data directory (refused, exit 3, over existing state). Without it, a
    /// directory with no identity means lost state, and the node starts
    /// amnesiac (no vote until safe).
    #[arg(long)]
    pub bootstrap: bool,
    /// Start without this data directory's state: move it aside (kept, never
    /// read) and join amnesiac, voting again only once that is safe. For a
    /// directory of another node or cluster, which is otherwise refused.
    #[arg(long)]
    pub recover_amnesiac: bool,
}

/// Installs logging to stderr (`RUST_LOG`, default `info`); a second call is
/// harmless.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes would break the lines tests and operators grep.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs a node until SIGTERM or SIGINT; returns the process's exit code.
pub fn run(args: &NodeArgs) -> u8 {
    init_logging();
    let config = match ClusterConfig::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("synod node: {e}");
            return 3;
        }
    };
    if config.node(args.id).is_none() {
        let msg = format!(
            "{}: node {} is not a member (members: {:?})",
            args.config.display(),
            args.id,
            config.ids()
        );
        eprintln!("synod node: {msg}");
        return 3;
    }
    if let Err(e) = super::core_config(&config, args.id) {
        eprintln!("synod node: {}: {e}", args.config.display());
        return 3;
    }
    if let Err(e) = signal::install() {
        eprintln!("synod node: cannot install signal handlers: {e}");
        return 1;
    }
    let server = match Server::start(ServerOptions {
        id: args.id,
        config,
        data_dir: args.data_dir.clone(),
        bootstrap: args.bootstrap,
        recover_amnesiac: args.recover_amnesiac,
        listeners: None,
        stop_on_signal: true,
    }) {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("cannot start node {}: {e}", args.id);
            eprintln!("synod node: {e}");
            // A refused directory is the operator's to fix, like a bad flag.
            let refused = match &e {
                super::ServerError::DataDir(crate::node::identity::DataDirError::Refused {
                    ..
                }) => true,
                super::ServerError::Storage(storage)
                | super::ServerError::DataDir(crate::node::identity::DataDirError::Storage(
                    storage,
                )) => storage.is_bad_state(),
                _ => false,
            };
            if refused && !matches!(e, super::ServerError::DataDir(_)) {
                // Never recover as a voting member with less than was promised.
                eprintln!(
                    "synod node: refusing to start on {}: its storage holds less than this \
                     node made durable, damaged data, or an unknown format; restart with \
                     --recover-amnesiac to set it aside (moved to wal.stale) and rejoin \
                     amnesiac",
                    args.data_dir.display()
                );
            }
            return if refused { 3 } else { 1 };
        }
    };
    match server.wait() {
        Ok(report) => {
            tracing::info!(
                syncs = report.pipeline.syncs,
                batches = report.pipeline.batches,
                applied_upto = report.status.applied_upto,
                "node {} stopped",
                args.id
            );
            0
        }
        Err(e) => {
            tracing::error!("node {} failed: {e}", args.id);
            eprintln!("synod node: {e}");
            1
        }
    }
}
