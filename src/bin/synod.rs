//! The `synod` command line. It exposes only subcommands that work.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the checker and readers allocate millions of small values; it
/// is markedly faster than glibc malloc for that and returns memory promptly.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// synod: a Paxos-replicated KV and lock service, and the harness that verifies it.
#[derive(Parser, Debug)]
#[command(name = "synod", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check histories for linearizability.
    Check(synod::checker::cli::CheckArgs),
    /// Generate a kv history with a known verdict (valid, or with --invalid one stale read).
    GenHistory(synod::history::generate::GenHistoryArgs),
    /// Run one command against a cluster (exit 0 ok, 1 failed, 2 indeterminate, 3 usage).
    Client(synod::node::client::cli::ClientArgs),
    /// Benchmark a local cluster of real node processes (fsync on).
    Bench(synod::node::bench::BenchArgs),
    /// Run one cluster node until SIGTERM (exit 0 clean, 1 failed, 3 usage).
    Node(synod::node::server::NodeArgs),
    /// Run the seeded simulator: one seed replays a whole faulty cluster run.
    Sim(synod::sim::cli::SimArgs),
}

fn main() -> ExitCode {
    // Usage errors exit 3: clap's own 2 would read as the verdict "unknown".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 3 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Check(args) => ExitCode::from(synod::checker::cli::run(&args)),
        Command::GenHistory(args) => synod::history::generate::run(&args),
        Command::Client(args) => ExitCode::from(synod::node::client::cli::run(&args)),
        Command::Bench(args) => synod::node::bench::run(&args),
        Command::Node(args) => ExitCode::from(synod::node::server::run(&args)),
        Command::Sim(args) => ExitCode::from(synod::sim::cli::run(&args)),
    }
}
