//! `synod sim`: the seeded simulator as a command. One seed draws a whole
//! run ([`Swarm::wide`]: cluster size, network and crash faults, partitions,
//! a disk that takes time, the clients' read mode, the replicas' limits); the
//! options a user fixes override the draw, and the replay command printed
//! for a failing seed names them, so one line replays a run bit for bit.
//!
//! Exit codes: 0 every seed passed, 1 some seed failed, 3 bad arguments.
//! There is no "unknown": the history check ([`check_append_order`]) is
//! exact and decides every history.
//!
//! [`check_append_order`]: super::check_append_order

use std::io::{IsTerminal, Write};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::node::proto::parse_read_mode;
use crate::paxos::{Config, ReadMode};

use super::history::append_history;
use super::run::{run_on, swarm_sim};
use super::swarm::{Swarm, SwarmBudget, SwarmViolation};
use super::SimStats;

/// Simulated milliseconds per tick: a node's default `tick_ms`.
const TICK_MS: u64 = 10;

/// `synod sim` options.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Exit codes: 0 every seed passed, 1 a seed failed (safety, \
liveness or linearizability), 3 bad arguments. The history check is exact: no \
verdict is unknown.\n\nExamples:\n  synod sim --seed 42\n  synod sim --seeds 0..1000 \
--jobs 2\n  synod sim --seed 7 --read-mode local   # the unsafe read, caught by the history check"
)]
pub struct SimArgs {
    /// Run this one seed, printing its drawn options first.
    #[arg(long, conflicts_with = "seeds", required_unless_present = "seeds")]
    pub seed: Option<u64>,
    /// Run the seeds A..B (B excluded), printing only the failing ones.
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: Option<Range<u64>>,
    /// Steps of each run's fault phase (split into its drawn periods).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// Seeds run at once (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// Replicas (instead of the drawn 3 or 5).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub replicas: Option<u64>,
    /// How clients read: read-index, log, or local (unsafe: to see it caught).
    #[arg(long, value_parser = parse_read_mode)]
    pub read_mode: Option<ReadMode>,
    /// Most steps a write waits for the disk (0: durable at once).
    #[arg(long)]
    pub disk_delay: Option<u64>,
    /// Frequent partitions and held messages in ten fault periods.
    #[arg(long)]
    pub storm: bool,
    /// Also check each history with the general linearizability search, for
    /// up to this many ms, as a cross-check of the exact check (0: no).
    #[arg(long, default_value_t = 0)]
    pub cross_check_ms: u64,
    /// Ticks of the whole cluster the liveness phase may take after healing.
    #[arg(long, default_value_t = 3_000)]
    pub liveness_ticks: u64,
    /// Write the clients' history (JSONL, kv model) to this file (--seed only).
    #[arg(long, requires = "seed", conflicts_with = "seeds")]
    pub history: Option<PathBuf>,
    /// Print the whole trace of the run (--seed only).
    #[arg(long, requires = "seed", conflicts_with = "seeds")]
    pub trace: bool,
    /// Lines of the trace printed for a failing seed.
    #[arg(long, default_value_t = 40)]
    pub tail: usize,
    /// Plant this bug in every replica (a `faults` build only; repeatable):
    /// to see what finds it.
    #[cfg(feature = "faults")]
    #[arg(long, value_parser = parse_plant)]
    pub plant: Vec<String>,
}

#[cfg(feature = "faults")]
fn parse_plant(s: &str) -> Result<String, String> {
    crate::paxos::Faults::default().plant(s)?;
    Ok(s.to_string())
}

/// The configuration change that plants `plants` (none without `faults`).
pub fn planted(plants: &[String]) -> impl Fn(&mut Config) + Copy + '_ {
    move |c: &mut Config| {
        for p in plants {
            #[cfg(feature = "faults")]
            c.faults
                .plant(p)
                .expect("plant names are checked when parsed");
            #[cfg(not(feature = "faults"))]
            let _ = (p, &c);
        }
    }
}

fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected A..B, got {s:?}"))?;
    let number = |x: &str| {
        x.trim()
            .parse::<u64>()
            .map_err(|e| format!("{x:?} in {s:?}: {e}"))
    };
    let (a, b) = (number(a)?, number(b)?);
    if a >= b {
        return Err(format!("empty range {s:?}: A must be below B"));
    }
    Ok(a..b)
}

/// What the user fixed instead of drawing it from the seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Cluster size.
    pub replicas: Option<usize>,
    /// The clients' read mode.
    pub read_mode: Option<ReadMode>,
    /// [`super::SimConfig::disk_delay_steps`].
    pub disk_delay_steps: Option<u64>,
    /// [`Swarm::storm`]'s links and periods.
    pub storm: bool,
    /// Planted bugs (`--plant`, a `faults` build only; [`planted`]).
    pub plants: Vec<String>,
}

impl Overrides {
    /// The run of `seed`: [`Swarm::wide`]'s draw with these options fixed.
    pub fn draw(&self, seed: u64) -> Swarm {
        let mut swarm = Swarm::wide(seed);
        if let Some(n) = self.replicas {
            swarm.sim.replicas = n;
            swarm.sim.max_down = (n - 1) / 2;
        }
        if let Some(mode) = self.read_mode {
            swarm.sim.read_mode = mode;
        }
        if let Some(delay) = self.disk_delay_steps {
            swarm.sim.disk_delay_steps = delay;
        }
        if self.storm {
            let storm = Swarm::storm(seed);
            swarm.sim.partition_per_mille = storm.sim.partition_per_mille;
            swarm.sim.delay_per_mille = storm.sim.delay_per_mille;
            swarm.periods = storm.periods;
        }
        swarm
    }

    /// These options as `synod sim` flags (for the replay command).
    pub fn flags(&self) -> String {
        let mut out = String::new();
        if let Some(n) = self.replicas {
            out += &format!(" --replicas {n}");
        }
        if let Some(mode) = self.read_mode {
            out += &format!(" --read-mode {}", read_mode_name(mode));
        }
        if let Some(delay) = self.disk_delay_steps {
            out += &format!(" --disk-delay {delay}");
        }
        if self.storm {
            out += " --storm";
        }
        for p in &self.plants {
            out += &format!(" --plant {p}");
        }
        out
    }
}

fn read_mode_name(mode: ReadMode) -> &'static str {
    match mode {
        ReadMode::ReadIndex => "read-index",
        ReadMode::Log => "log",
        ReadMode::Local => "local",
    }
}

/// A run's drawn options on one line, after `SEED=N`.
pub fn describe(swarm: &Swarm) -> String {
    let s = &swarm.sim;
    format!(
        "SEED={} replicas={} clients={} read_mode={} loss={}‰ duplicate={}‰ reorder={}‰ \
         crash={}‰ restart={}‰ wipe={}‰ partition={}‰ hold={}‰ reply_loss={}‰ disk_delay={} \
         periods={} window={} batch={} snapshot_every={} learn_entries={} message_bytes={} \
         session_ticks={} sessions={}",
        s.seed,
        s.replicas,
        s.clients,
        read_mode_name(s.read_mode),
        s.loss_per_mille,
        s.duplicate_per_mille,
        s.reorder_per_mille,
        s.crash_per_mille,
        s.restart_per_mille,
        s.wipe_per_mille,
        s.partition_per_mille,
        s.delay_per_mille,
        s.reply_loss_per_mille,
        s.disk_delay_steps,
        swarm.periods,
        swarm.window,
        swarm.max_batch,
        swarm.snapshot_interval,
        swarm.max_learn_entries,
        swarm.max_message_bytes,
        swarm.session_timeout_ticks,
        swarm.max_sessions,
    )
}

/// How one seed's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Safe, live, and its history linearizable.
    Passed,
    /// A violation.
    Failed(Box<SwarmViolation>),
}

/// One seed's run: its draw, its verdict, its counters, and (when asked or
/// failing) its trace.
#[derive(Clone, Debug)]
pub struct SeedRun {
    /// The options drawn (and overridden).
    pub swarm: Swarm,
    /// The verdict.
    pub verdict: Verdict,
    /// Counters at the end (or at the failure).
    pub stats: SimStats,
    /// The trace's last lines (all of them with `trace_limit` `usize::MAX`).
    pub trace: Vec<String>,
    /// The clients' history.
    pub history: crate::history::History,
}

/// Runs one seed; `trace_limit` lines of its trace are kept (0: no trace).
/// `plant` adjusts every replica's configuration (planted faults, tests).
pub fn run_seed(
    swarm: &Swarm,
    budget: SwarmBudget,
    trace_limit: usize,
    plant: impl Fn(&mut Config),
) -> SeedRun {
    let mut sim = swarm_sim(swarm, plant);
    if trace_limit > 0 {
        sim.enable_trace(trace_limit);
    }
    let verdict = match run_on(&mut sim, swarm, budget) {
        Ok(_) => Verdict::Passed,
        Err(v) => Verdict::Failed(Box::new(v)),
    };
    SeedRun {
        swarm: swarm.clone(),
        verdict,
        stats: sim.stats().clone(),
        trace: sim.trace().cloned().collect(),
        history: append_history(sim.events()),
    }
}

/// Runs `seed` as `synod sim` does: without a trace, and again with the
/// last `tail` lines traced if it failed (the run is deterministic).
pub fn run_seed_reported(
    overrides: &Overrides,
    seed: u64,
    budget: SwarmBudget,
    tail: usize,
    plant: impl Fn(&mut Config) + Copy,
) -> SeedRun {
    let swarm = overrides.draw(seed);
    let run = run_seed(&swarm, budget, 0, plant);
    match run.verdict {
        Verdict::Failed(_) if tail > 0 => run_seed(&swarm, budget, tail, plant),
        _ => run,
    }
}

/// Totals over the seeds run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Seeds run.
    pub seeds: u64,
    /// Seeds failed.
    pub failed: u64,
    /// Steps simulated.
    pub steps: u64,
    /// Ticks simulated, over all replicas.
    pub ticks: u64,
    /// Simulated cluster time, in ms (each replica's ticks at `TICK_MS`).
    pub simulated_ms: u64,
}

impl Totals {
    fn add(&mut self, run: &SeedRun) {
        self.seeds += 1;
        self.failed += u64::from(matches!(run.verdict, Verdict::Failed(_)));
        self.steps += run.stats.steps;
        self.ticks += run.stats.ticks;
        self.simulated_ms += run.stats.ticks * TICK_MS / run.swarm.sim.replicas.max(1) as u64;
    }

    /// The exit code for these totals.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failed > 0)
    }

    fn summary(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        format!(
            "{} seeds: {} passed, {} failed; {} steps in {:.1} s ({:.0} steps/s); \
             {:.1} s of cluster time simulated ({:.0}x real time)",
            self.seeds,
            self.seeds - self.failed,
            self.failed,
            self.steps,
            secs,
            self.steps as f64 / secs,
            self.simulated_ms as f64 / 1000.0,
            self.simulated_ms as f64 / 1000.0 / secs,
        )
    }
}

/// The failing or undecided seed's report: its options, verdict, the end
/// of its trace and the command that replays it.
pub fn report(run: &SeedRun, overrides: &Overrides, steps: u64) -> String {
    let seed = run.swarm.sim.seed;
    let mut out = format!("{}\n", describe(&run.swarm));
    match &run.verdict {
        Verdict::Passed => out += &format!("seed {seed}: passed\n"),
        Verdict::Failed(v) => {
            out += &format!("seed {seed}: FAILED {v}\n");
            if !run.trace.is_empty() {
                out += &format!("last {} trace lines:\n", run.trace.len());
                for line in &run.trace {
                    out += &format!("  {line}\n");
                }
            }
        }
    }
    if run.verdict != Verdict::Passed {
        out += &format!(
            "replay: synod sim --seed {seed} --steps {steps}{} --trace\n",
            overrides.flags()
        );
    }
    out
}

fn overrides_of(args: &SimArgs) -> Overrides {
    Overrides {
        replicas: args.replicas.map(|n| n as usize),
        read_mode: args.read_mode,
        disk_delay_steps: args.disk_delay,
        storm: args.storm,
        #[cfg(feature = "faults")]
        plants: args.plant.clone(),
        #[cfg(not(feature = "faults"))]
        plants: Vec::new(),
    }
}

fn budget_of(args: &SimArgs) -> SwarmBudget {
    SwarmBudget {
        fault_steps: args.steps,
        liveness_ticks: args.liveness_ticks,
        check_time: Duration::from_millis(args.cross_check_ms),
    }
}

/// Runs `synod sim` and returns its exit code.
pub fn run(args: &SimArgs) -> u8 {
    match (args.seed, &args.seeds) {
        (Some(seed), _) => run_one(args, seed),
        (None, Some(seeds)) => run_range(args, seeds.clone()),
        (None, None) => {
            eprintln!("synod sim: give --seed N or --seeds A..B");
            3
        }
    }
}

fn run_one(args: &SimArgs, seed: u64) -> u8 {
    let overrides = overrides_of(args);
    let swarm = overrides.draw(seed);
    say(&describe(&swarm));
    let start = Instant::now();
    let plant = planted(&overrides.plants);
    let run = if args.trace {
        run_seed(&swarm, budget_of(args), usize::MAX, plant)
    } else {
        run_seed_reported(&overrides, seed, budget_of(args), args.tail, plant)
    };
    if args.trace {
        for line in &run.trace {
            say(line);
        }
    }
    if let Some(path) = &args.history {
        let format =
            crate::history::format_from_extension(path).unwrap_or(crate::history::Format::Jsonl);
        if let Err(e) = crate::history::write_file(path, &run.history, format) {
            eprintln!(
                "synod sim: cannot write the history to {}: {e}",
                path.display()
            );
            return 3;
        }
    }
    let mut totals = Totals::default();
    totals.add(&run);
    if run.verdict == Verdict::Passed {
        say(&format!("seed {seed}: passed"));
    } else {
        let mut shown = run.clone();
        if args.trace {
            shown.trace.clear(); // printed above
        }
        say(report(&shown, &overrides, args.steps).trim_end());
    }
    say(&totals.summary(start.elapsed()));
    totals.exit_code()
}

/// Writes `line` to standard output. A closed pipe (`synod sim ... | head`)
/// is not an error of the run: the verdict is in the exit code.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// A progress line on long runs: a bar on a terminal, else a line every 30 s.
struct Progress {
    start: Instant,
    last: Instant,
    total: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} seeds {msg}")
            {
                b.set_style(style);
            }
            b
        });
        let now = Instant::now();
        Progress {
            start: now,
            last: now,
            total,
            bar,
        }
    }

    fn update(&mut self, totals: &Totals) {
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let msg = format!(
            "{:.0} steps/s, {} failed",
            totals.steps as f64 / secs,
            totals.failed
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(totals.seeds);
                bar.set_message(msg);
            }
            None if self.last.elapsed() >= Duration::from_secs(30) => {
                self.last = Instant::now();
                eprintln!("progress: {}/{} seeds, {msg}", totals.seeds, self.total);
            }
            None => {}
        }
    }
}

fn run_range(args: &SimArgs, seeds: Range<u64>) -> u8 {
    let overrides = overrides_of(args);
    let budget = budget_of(args);
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("synod sim: cannot start {jobs} threads: {e}");
            return 3;
        }
    };
    let start = Instant::now();
    let state = Mutex::new((Totals::default(), Progress::new(seeds.end - seeds.start)));
    pool.install(|| {
        use rayon::prelude::*;
        seeds.clone().into_par_iter().for_each(|seed| {
            let run = run_seed_reported(
                &overrides,
                seed,
                budget,
                args.tail,
                planted(&overrides.plants),
            );
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            state.0.add(&run);
            if run.verdict != Verdict::Passed {
                say(report(&run, &overrides, args.steps).trim_end());
            }
            let totals = state.0.clone();
            state.1.update(&totals);
        });
    });
    let (totals, progress) = state.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(bar) = progress.bar {
        bar.finish_and_clear();
    }
    say(&format!(
        "seeds {}..{}: {}",
        seeds.start,
        seeds.end,
        totals.summary(start.elapsed())
    ));
    totals.exit_code()
}
