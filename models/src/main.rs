//! The models' CLI: `check` runs one configuration (BFS, DFS or a seeded
//! simulation) and prints unique states, depth, states per second, the
//! verdict and any counterexample path; `explore` serves stateright's
//! Explorer on 127.0.0.1.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use stateright::{Checker, Expectation, Model, Path};
use synod::paxos::Faults;
use synod_models::actor::State;
use synod_models::spec::Workload;
use synod_models::{model, ModelCfg, NetworkKind, Restarts, SynodModel};

/// Exhaustive stateright models of synod's Paxos core.
#[derive(Parser, Debug)]
#[command(name = "synod-models", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Model-check one configuration.
    Check {
        #[command(flatten)]
        cfg: CfgArgs,
        /// Breadth-first search (the default).
        #[arg(long, conflicts_with_all = ["dfs", "simulation"])]
        bfs: bool,
        /// Depth-first search (less memory).
        #[arg(long, conflicts_with = "simulation")]
        dfs: bool,
        /// With --dfs on the duplicating network: do not expand a state
        /// covered by a visited one (same actors, fewer messages; see
        /// models/README.md, "Reductions").
        #[arg(long, requires = "dfs")]
        cover: bool,
        /// Random walks from this seed instead of exhaustive search.
        #[arg(long, value_name = "SEED")]
        simulation: Option<u64>,
        /// Stop after this many seconds (reported as incomplete).
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
        /// Explore no path longer than this many steps (reported as
        /// incomplete).
        #[arg(long, value_name = "STEPS")]
        max_depth: Option<usize>,
        /// Stop at the first counterexample (for hunting planted bugs).
        #[arg(long)]
        first_failure: bool,
        /// Checker threads.
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Serve stateright's Explorer (a web UI) for one configuration.
    Explore {
        #[command(flatten)]
        cfg: CfgArgs,
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 3000)]
        port: u16,
    },
}

#[derive(Args, Debug)]
struct CfgArgs {
    /// Number of servers.
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// Number of clients.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Operations per client.
    #[arg(long, default_value_t = 1)]
    ops: usize,
    /// The clients' operations: the classic schedule, or the revealing one
    /// (appends and order-dependent cas; models/README.md).
    #[arg(long)]
    revealing: bool,
    /// unordered-nonduplicating, unordered-duplicating or ordered.
    #[arg(long, default_value = "unordered-nonduplicating")]
    network: NetworkKind,
    /// The network may drop messages.
    #[arg(long)]
    lossy: bool,
    /// Most servers crashed at once (each may restart `--restarts` times).
    #[arg(long, default_value_t = 0)]
    crashes: usize,
    /// Only servers numbered above this may crash (0: any).
    #[arg(long, default_value_t = 0)]
    crash_above: usize,
    /// Most restarts per server (default: 1 if --crashes > 0).
    #[arg(long)]
    restarts: Option<u8>,
    /// Per-server restart limits, comma separated (server 1 first); when
    /// given, a server whose limit is 0 never crashes.
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    restarts_of: Vec<u8>,
    /// Restarted servers find their disk wiped (they come back amnesiac).
    #[arg(long)]
    wipe: bool,
    /// How many servers have election timers.
    #[arg(long, default_value_t = 1)]
    timers: usize,
    /// Ticks per server incarnation beyond its first election timeout.
    #[arg(long, default_value_t = 0)]
    extra_ticks: u8,
    /// Highest ballot round explored.
    #[arg(long, default_value_t = 2)]
    rounds: u64,
    /// Most read-index rounds a leader starts in one ballot.
    #[arg(long, default_value_t = 2)]
    read_rounds: u64,
    /// Resends of a refused request per operation.
    #[arg(long, default_value_t = 1)]
    retries: u8,
    /// Planted bug to switch on (repeatable): forget-promises, skip-adopt,
    /// quorum-one-short, local-reads, ignore-amnesia, commit-teaches-unchosen,
    /// reuse-amnesiac-ballot, raw-ticks-log-time, leader-never-fetches,
    /// unbounded-promise, reapply-repeated-seq, cas-ignores-expected (the
    /// store's).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
}

impl CfgArgs {
    fn to_cfg(&self) -> Result<ModelCfg, String> {
        let mut c = ModelCfg::new(self.servers, self.clients, self.network);
        c.ops_per_client = self.ops;
        if self.revealing {
            c.workload = Workload::Revealing;
        }
        c.lossy = self.lossy;
        c.max_crashes = self.crashes;
        c.first_crashable = self.crash_above;
        c.max_restarts = self
            .restarts
            .unwrap_or(if self.crashes > 0 { 1 } else { 0 });
        c.restarts_of = self.restarts_of.clone();
        c.restarts = if self.wipe {
            Restarts::Wiped
        } else {
            Restarts::Intact
        };
        c.timers = self.timers;
        c.extra_ticks = self.extra_ticks;
        c.max_round = self.rounds;
        c.max_client_retries = self.retries;
        c.max_read_rounds = self.read_rounds;
        let mut f = Faults::default();
        for name in &self.faults {
            if name == "cas-ignores-expected" {
                c.cas_ignores_expected = true;
                continue;
            }
            let (_, plant) = FAULTS.iter().find(|(n, _)| n == name).ok_or_else(|| {
                let mut known: Vec<&str> = FAULTS.iter().map(|(n, _)| *n).collect();
                known.push("cas-ignores-expected");
                format!(
                    "--fault {name:?}: unknown planted bug; expected one of {}",
                    known.join(", ")
                )
            })?;
            plant(&mut f);
        }
        c.faults = f;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// Turns one planted bug on.
type Plant = fn(&mut Faults);

/// Each planted bug's CLI name and the switch it turns on.
const FAULTS: [(&str, Plant); 11] = [
    ("forget-promises", |f| f.forget_promises_on_restart = true),
    ("skip-adopt", |f| f.skip_adopt_highest_accepted = true),
    ("quorum-one-short", |f| f.quorum_one_short = true),
    ("local-reads", |f| f.local_reads = true),
    ("ignore-amnesia", |f| f.ignore_amnesia_rule = true),
    ("commit-teaches-unchosen", |f| {
        f.commit_teaches_unchosen = true
    }),
    ("reuse-amnesiac-ballot", |f| f.reuse_amnesiac_ballot = true),
    ("raw-ticks-log-time", |f| f.raw_ticks_log_time = true),
    ("leader-never-fetches", |f| f.leader_never_fetches = true),
    ("unbounded-promise", |f| f.unbounded_promise = true),
    ("reapply-repeated-seq", |f| f.reapply_repeated_seq = true),
];

/// Prints a path one step per line: the action, then what it changed.
fn print_path(
    m: &SynodModel,
    path: &Path<<SynodModel as Model>::State, <SynodModel as Model>::Action>,
) {
    for (i, (_, action)) in path.clone().into_vec().into_iter().enumerate() {
        if let Some(a) = action {
            println!("  {:>3}. {}", i + 1, m.format_action(&a));
        }
    }
    let last = path.last_state();
    println!("  last state:");
    for (i, a) in last.actor_states.iter().enumerate() {
        let crashed = if last.crashed[i] { " (crashed)" } else { "" };
        match &**a {
            State::Server(s) => {
                let st = s.replica.status();
                let learned: Vec<String> = s
                    .replica
                    .learned()
                    .map(|(slot, e)| format!("{slot}: {:?}", e.proposals))
                    .collect();
                println!(
                    "    server {}{crashed}: leader {} ballot {} chosen_upto {} amnesiac {} restarts {} learned [{}]",
                    i + 1,
                    st.is_leader,
                    st.ballot,
                    st.chosen_upto,
                    st.amnesiac,
                    s.disk.restarts,
                    learned.join(", ")
                );
            }
            State::Failed(why) => println!("    server {}: failed to start: {why}", i + 1),
            State::Down => println!("    server {}{crashed}: down", i + 1),
            State::Client(c) => println!(
                "    client {i}: done {} pending {:?} stopped {}",
                c.done,
                c.pending.as_ref().map(|p| (&p.op, p.seq)),
                c.stopped
            ),
        }
    }
    println!("  history: {:?}", last.history.tester);
}

fn check(
    cfg: ModelCfg,
    mode: &str,
    seed: Option<u64>,
    timeout: Option<u64>,
    max_depth: Option<usize>,
    threads: usize,
    first_failure: bool,
) -> ExitCode {
    println!("config: {}", cfg.describe());
    if cfg.network == NetworkKind::UnorderedDuplicating {
        println!("reductions: echo saturation, covered drops (models/README.md, \"Reductions\")");
    }
    let m = match model(&cfg) {
        Ok(m) if seed.is_some() => m.for_simulation(),
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(3);
        }
    };
    let properties: Vec<(Expectation, &'static str)> = m
        .properties()
        .iter()
        .map(|p| (p.expectation.clone(), p.name))
        .collect();
    let mut builder = m.clone().checker().threads(threads.max(1));
    if first_failure {
        builder = builder.finish_when(stateright::HasDiscoveries::AnyFailures);
    }
    if let Some(t) = timeout {
        builder = builder.timeout(Duration::from_secs(t));
    }
    if let Some(d) = max_depth {
        builder = builder.target_max_depth(d);
    }
    let start = Instant::now();
    let checker: Box<dyn Checker<SynodModel>> = match (mode, seed) {
        (_, Some(seed)) => Box::new(builder.spawn_simulation(seed, stateright::UniformChooser)),
        ("dfs", _) => Box::new(builder.spawn_dfs()),
        ("dfs+cover", _) => Box::new(
            builder
                .symmetry_fn(synod_models::cover::representative)
                .spawn_dfs(),
        ),
        _ => Box::new(builder.spawn_bfs()),
    };
    let mut last = Instant::now();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() >= Duration::from_secs(10) {
            last = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "... {:.0}s: {} unique states, depth {}, {:.0} states/s",
                secs,
                checker.unique_state_count(),
                checker.max_depth(),
                checker.state_count() as f64 / secs
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "search: {}; unique states: {}; states: {}; max depth: {}; time: {:.2}s; {:.0} states/s",
        seed.map_or(mode.to_string(), |s| format!("simulation seed {s}")),
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        secs,
        checker.state_count() as f64 / secs.max(1e-9)
    );
    // stateright rebuilds a simulation's paths by replaying action indices;
    // `SynodModel::for_simulation` keeps that replay exact, but should it
    // ever fail, the verdict is kept even when the path cannot be shown.
    let discoveries =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| checker.discoveries())) {
            Ok(d) => d,
            Err(_) => {
                println!("error: stateright could not rebuild the discovered paths");
                return ExitCode::from(2);
            }
        };
    let mut failed = false;
    for (expectation, name) in &properties {
        let found = discoveries.get(name);
        let verdict = match (expectation, found) {
            (Expectation::Always | Expectation::Eventually, None) => "holds",
            (Expectation::Always | Expectation::Eventually, Some(_)) => {
                failed = true;
                "VIOLATED"
            }
            (Expectation::Sometimes, Some(_)) => "reached",
            (Expectation::Sometimes, None) => "NOT reached",
        };
        println!("  {:?} {name}: {verdict}", expectation);
        if let (Expectation::Always | Expectation::Eventually, Some(path)) = (expectation, found) {
            println!("  counterexample for {name:?}:");
            print_path(checker.model(), path);
        }
    }
    let complete = seed.is_none()
        && !first_failure
        && max_depth.is_none()
        && timeout.is_none_or(|t| secs < t as f64);
    let verdict = if failed {
        "invalid"
    } else if complete {
        "valid"
    } else {
        "unknown (search incomplete)"
    };
    println!("verdict: {verdict}");
    if failed {
        ExitCode::from(1)
    } else if complete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Cmd::Check {
            cfg,
            bfs: _,
            dfs,
            cover,
            simulation,
            timeout,
            max_depth,
            first_failure,
            threads,
        } => match cfg.to_cfg() {
            Ok(c) => check(
                c,
                match (dfs, cover) {
                    (true, true) => "dfs+cover",
                    (true, false) => "dfs",
                    _ => "bfs",
                },
                simulation,
                timeout,
                max_depth,
                threads,
                first_failure,
            ),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(3)
            }
        },
        Cmd::Explore { cfg, port } => match cfg
            .to_cfg()
            .and_then(|c| model(&c).map_err(|e| e.to_string()))
        {
            Ok(m) => {
                let address = format!("127.0.0.1:{port}");
                println!("serving the Explorer on http://{address}");
                m.checker().serve(address);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(3)
            }
        },
    }
}
