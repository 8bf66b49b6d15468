//! `synod bench`: starts a local cluster of real `synod node` processes on a
//! real disk (fsync on, as in production), drives it with concurrent clients
//! for a bounded time, stops it, and reports throughput, latency percentiles
//! and the disk's `fdatasync` latency, the floor under every acknowledged
//! write. Errors and indeterminate outcomes are counted and reported: a run
//! that only looks fast because failures were dropped would be worthless.

pub mod histogram;
pub mod local;
pub mod mix;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use crate::kv::Response;
use crate::node::client::{ClientError, ClientOptions};
use crate::node::config::{Tuning, MAX_NODES};
use crate::node::proto::{parse_read_mode, ReadMode};
use crate::node::storage::probe_fdatasync;
use crate::sync::thread;
use histogram::Histogram;
use local::{LocalCluster, Stop};
use mix::{command, parse_mix, Mix};

/// The most client threads (each holds a connection to the leader).
pub const MAX_CLIENTS: usize = 1024;
/// The longest run, in seconds.
pub const MAX_DURATION_S: u64 = 3600;
/// Keys the clients spread over.
pub const KEYS: u64 = 1000;
/// `fdatasync` samples of the disk probe.
pub const PROBE_SAMPLES: u32 = 200;
/// How long the cluster may take to elect its first leader.
pub const LEADER_WAIT: Duration = Duration::from_secs(30);
/// Overall deadline of one client call: a call still open at the end of the
/// run delays the report by at most this.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Error messages kept as examples for the report.
const ERROR_EXAMPLES: usize = 5;

/// Arguments of `synod bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Nodes in the local cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Concurrent client threads.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Seconds the clients run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Operation mix, `kind:weight,...` (kinds: get, put, append, cas, delete).
    #[arg(long, default_value = "put:50,get:50", value_parser = parse_mix)]
    pub mix: Mix,
    /// Read mode of gets: linearizable (default), log, or local (UNSAFE).
    #[arg(long, default_value = "linearizable", value_parser = parse_read_mode)]
    pub read_mode: ReadMode,
    /// Print only `{"throughput_ops_s":..,"p50_ms":..,"p99_ms":..,"p999_ms":..,"fdatasync_ms":..}`
    /// on stdout (the counts of errors still go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where the nodes keep their data (must be a real disk, not tmpfs);
    /// default `./target/bench-data`. A run directory is made inside it and
    /// removed after a clean run.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// What one client thread measured.
#[derive(Debug, Default)]
struct ThreadResult {
    latencies: Histogram,
    /// Calls answered by the state machine with a failure (a cas mismatch):
    /// a full round through the log, counted apart.
    kv_failures: u64,
    indeterminate: u64,
    failed: u64,
    examples: Vec<String>,
}

/// The outcome of a run.
#[derive(Debug)]
pub struct BenchReport {
    /// Calls that got an answer from the state machine.
    pub completed: u64,
    /// Of those, answers that are failures (cas mismatch).
    pub kv_failures: u64,
    /// Calls that timed out after being sent: may or may not have happened.
    pub indeterminate: u64,
    /// Calls that definitely failed (never sent, refused).
    pub failed: u64,
    /// Some error messages, for the operator.
    pub error_examples: Vec<String>,
    /// The measured time of the client phase.
    pub elapsed: Duration,
    /// Latencies of completed calls.
    pub latencies: Histogram,
    /// Median `fdatasync` latency of the data directory's disk.
    pub fdatasync: Duration,
    /// 99th percentile `fdatasync` latency.
    pub fdatasync_p99: Duration,
    /// Nodes that did not exit cleanly on SIGTERM, with what happened.
    pub unclean_nodes: Vec<String>,
}

impl BenchReport {
    /// Completed calls per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.completed as f64 / secs
        } else {
            0.0
        }
    }

    /// The one-line JSON of `--json`, keys in the documented order.
    pub fn json(&self) -> String {
        // serde_json renders each number (a non-finite one as null, so the
        // line is always valid JSON); the object is written by hand because
        // serde_json's map would sort the keys.
        let num = |x: f64| serde_json::to_string(&x).unwrap_or_else(|_| "null".into());
        let ms = |d: Duration| num(d.as_secs_f64() * 1000.0);
        format!(
            "{{\"throughput_ops_s\":{},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"fdatasync_ms\":{}}}",
            num(self.throughput()),
            ms(self.latencies.quantile(0.5)),
            ms(self.latencies.quantile(0.99)),
            ms(self.latencies.quantile(0.999)),
            ms(self.fdatasync),
        )
    }

    /// The counts of errors and unclean exits, one line.
    pub fn error_summary(&self) -> String {
        format!(
            "errors: {} indeterminate (may have happened), {} failed (definitely not applied), \
             {} answered with a failure (cas mismatch); unclean node exits: {}",
            self.indeterminate,
            self.failed,
            self.kv_failures,
            if self.unclean_nodes.is_empty() {
                "none".to_string()
            } else {
                self.unclean_nodes.join("; ")
            }
        )
    }
}

/// Whether `dir` is on a memory file system, where `fdatasync` costs nothing
/// and a benchmark of durable writes would be a lie.
#[cfg(target_os = "linux")]
pub fn is_memory_fs(dir: &Path) -> Result<bool, String> {
    use std::os::unix::ffi::OsStrExt;
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("{}: path contains a NUL byte", dir.display()))?;
    // SAFETY: statfs writes only into the zeroed struct we own; the path is
    // a valid NUL-terminated string.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut buf) } != 0 {
        return Err(format!(
            "{}: statfs: {}",
            dir.display(),
            std::io::Error::last_os_error()
        ));
    }
    #[allow(clippy::unnecessary_cast)]
    let kind = buf.f_type as i64;
    Ok(kind == TMPFS_MAGIC || kind == RAMFS_MAGIC)
}

/// Whether `dir` is on a memory file system (only detected on Linux).
#[cfg(not(target_os = "linux"))]
pub fn is_memory_fs(_dir: &Path) -> Result<bool, String> {
    Ok(false)
}

fn check_args(args: &BenchArgs) -> Result<(), String> {
    if args.nodes == 0 || args.nodes > MAX_NODES {
        return Err(format!(
            "--nodes must be 1 to {MAX_NODES}, not {}",
            args.nodes
        ));
    }
    if args.clients == 0 || args.clients > MAX_CLIENTS {
        return Err(format!(
            "--clients must be 1 to {MAX_CLIENTS}, not {}",
            args.clients
        ));
    }
    if args.duration == 0 || args.duration > MAX_DURATION_S {
        return Err(format!(
            "--duration must be 1 to {MAX_DURATION_S} seconds, not {}",
            args.duration
        ));
    }
    Ok(())
}

/// One client thread: issues calls until `end`, timing each.
fn drive(
    cluster: &crate::node::config::ClusterConfig,
    mix: &Mix,
    read_mode: ReadMode,
    seed: u64,
    end: Instant,
) -> ThreadResult {
    let mut result = ThreadResult::default();
    let options = ClientOptions {
        timeout: CALL_TIMEOUT,
        read_mode,
        ..ClientOptions::default()
    };
    let mut client =
        match crate::node::client::Client::<crate::kv::Command, Response>::new(cluster, options) {
            Ok(c) => c,
            Err(e) => {
                result.failed += 1;
                result.examples.push(format!("cannot make a client: {e}"));
                return result;
            }
        };
    let mut rng = crate::sim::SimRng::new(seed);
    let mut n = 0u64;
    while Instant::now() < end {
        let kind = mix.pick(rng.next_u64());
        let key = format!("k{}", rng.below(KEYS));
        n += 1;
        let value = format!("v{seed:x}-{n}");
        let start = Instant::now();
        match client.call(command(kind, key, value)) {
            Ok(response) => {
                result.latencies.record(start.elapsed());
                if response.outcome() != crate::kv::Outcome::Ok {
                    result.kv_failures += 1;
                }
            }
            Err(e) => {
                if matches!(e, ClientError::Indeterminate { .. }) {
                    result.indeterminate += 1;
                } else {
                    result.failed += 1;
                }
                if result.examples.len() < ERROR_EXAMPLES {
                    result.examples.push(e.to_string());
                }
            }
        }
    }
    result
}

/// Runs the benchmark described by `args` with `binary` as the node program.
pub fn bench(args: &BenchArgs, binary: &Path) -> Result<BenchReport, String> {
    check_args(args)?;
    let base = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("target").join("bench-data"));
    std::fs::create_dir_all(&base)
        .map_err(|e| format!("{}: cannot create: {e}", base.display()))?;
    if is_memory_fs(&base)? {
        return Err(format!(
            "{} is on a memory file system (tmpfs): fdatasync costs nothing there; \
             give --data-dir on a real disk",
            base.display()
        ));
    }
    let probe = probe_fdatasync(&base, PROBE_SAMPLES).map_err(|e| e.to_string())?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let run_dir = base.join(format!("run-{}-{stamp}", std::process::id()));
    let mut cluster = LocalCluster::create(binary, &run_dir, args.nodes, Tuning::default())
        .map_err(|e| e.to_string())?;
    let result = measure(args, &mut cluster);
    let stopped = cluster.stop_all(Stop::Term, Duration::from_secs(10));
    let mut unclean = Vec::new();
    for (id, status) in stopped {
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => unclean.push(format!("node {id} exited with {s}")),
            Err(e) => unclean.push(format!("node {id}: {e}")),
        }
    }
    let mut report = match result {
        Ok(report) => report,
        Err(e) => {
            return Err(format!(
                "{e} (node logs kept in {}; {})",
                run_dir.display(),
                if unclean.is_empty() {
                    "every node stopped cleanly".to_string()
                } else {
                    unclean.join("; ")
                }
            ))
        }
    };
    report.fdatasync = probe.median();
    report.fdatasync_p99 = probe.quantile(0.99);
    if unclean.is_empty() {
        drop(cluster);
        std::fs::remove_dir_all(&run_dir).map_err(|e| {
            format!(
                "{}: cannot remove the run directory: {e}",
                run_dir.display()
            )
        })?;
    } else {
        report
            .unclean_nodes
            .push(format!("node logs kept in {}", run_dir.display()));
        report.unclean_nodes.extend(unclean);
    }
    Ok(report)
}

/// Starts the cluster, waits for a leader, runs the client threads.
fn measure(args: &BenchArgs, cluster: &mut LocalCluster) -> Result<BenchReport, String> {
    cluster.start_all(true).map_err(|e| e.to_string())?;
    cluster
        .wait_leader(LEADER_WAIT)
        .map_err(|e| e.to_string())?;
    // One write through the log before the clock starts: the leader has
    // finished its first phase and the clients measure the steady state.
    let mut warm = cluster
        .client(ClientOptions {
            timeout: LEADER_WAIT,
            ..ClientOptions::default()
        })
        .map_err(|e| e.to_string())?;
    warm.call(crate::kv::Command::Put {
        key: "warmup".into(),
        value: "1".into(),
    })
    .map_err(|e| format!("the warm-up write failed: {e}"))?;
    let config = cluster.config().clone();
    let start = Instant::now();
    let end = start + Duration::from_secs(args.duration);
    let handles: Vec<_> = (0..args.clients)
        .map(|i| {
            let config = config.clone();
            let mix = args.mix.clone();
            let read_mode = args.read_mode;
            thread::spawn(move || drive(&config, &mix, read_mode, i as u64 + 1, end))
        })
        .collect();
    let mut report = BenchReport {
        completed: 0,
        kv_failures: 0,
        indeterminate: 0,
        failed: 0,
        error_examples: Vec::new(),
        elapsed: Duration::ZERO,
        latencies: Histogram::default(),
        fdatasync: Duration::ZERO,
        fdatasync_p99: Duration::ZERO,
        unclean_nodes: Vec::new(),
    };
    for handle in handles {
        let r = handle
            .join()
            .map_err(|_| "a client thread panicked".to_string())?;
        report.latencies.merge(&r.latencies);
        report.kv_failures += r.kv_failures;
        report.indeterminate += r.indeterminate;
        report.failed += r.failed;
        for e in r.examples {
            if report.error_examples.len() < ERROR_EXAMPLES {
                report.error_examples.push(e);
            }
        }
    }
    // The clock stops when the last thread is done: calls still open at the
    // end count, and so does the time they took.
    report.elapsed = start.elapsed();
    report.completed = report.latencies.count();
    Ok(report)
}

/// The `--read-mode` word of `mode`.
fn read_mode_name(mode: ReadMode) -> &'static str {
    match mode {
        ReadMode::ReadIndex => "linearizable",
        ReadMode::Log => "log",
        ReadMode::Local => "local (UNSAFE)",
    }
}

/// The `synod bench` subcommand: 0 when the run completed, 1 when it could
/// not run or no call succeeded, 3 for bad arguments.
pub fn run(args: &BenchArgs) -> ExitCode {
    if let Err(e) = check_args(args) {
        eprintln!("synod bench: {e}");
        return ExitCode::from(3);
    }
    let binary = match std::env::current_exe() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("synod bench: cannot find this program to start nodes: {e}");
            return ExitCode::from(1);
        }
    };
    if !args.json {
        eprintln!(
            "synod bench: {} nodes, {} clients, {} s, read mode {}, starting...",
            args.nodes,
            args.clients,
            args.duration,
            read_mode_name(args.read_mode)
        );
    }
    let report = match bench(args, &binary) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("synod bench: {e}");
            return ExitCode::from(1);
        }
    };
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if args.json {
        println!("{}", report.json());
        eprintln!("{}", report.error_summary());
    } else {
        println!(
            "{} ops completed in {:.2} s: {:.0} ops/s",
            report.completed,
            report.elapsed.as_secs_f64(),
            report.throughput()
        );
        println!(
            "latency: p50 {:.3} ms, p99 {:.3} ms, p999 {:.3} ms, max {:.3} ms",
            ms(report.latencies.quantile(0.5)),
            ms(report.latencies.quantile(0.99)),
            ms(report.latencies.quantile(0.999)),
            ms(report.latencies.quantile(1.0)),
        );
        println!(
            "fdatasync on the data disk: p50 {:.3} ms, p99 {:.3} ms ({PROBE_SAMPLES} samples)",
            ms(report.fdatasync),
            ms(report.fdatasync_p99)
        );
        println!("{}", report.error_summary());
    }
    for e in &report.error_examples {
        eprintln!("example error: {e}");
    }
    if report.completed == 0 {
        eprintln!("synod bench: no call succeeded");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
