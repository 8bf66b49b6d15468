//! Swarm searches through `synod::sim`: every seed draws its own faults and
//! limits (`Swarm::new`), runs a fault phase, a liveness phase after healing,
//! and checks agreement, exactly-once application and the clients' history
//! (linearizability, with the kv model).
//!
//! Teeth: with each of the planted core defects on, a bounded search over
//! seeds `0..SEEDS` finds a violation; without plants the same search finds
//! nothing. Budget: see `BUDGET` and `SEEDS`.

use std::time::{Duration, Instant};

use synod::paxos::Config;
use synod::sim::{run_swarm, search_swarm, SwarmBudget, SwarmViolation};

/// Seeds searched per plant (and without plants).
const SEEDS: u64 = 200;

/// Steps of each run's fault phase, ticks its liveness phase may take, and
/// time its history check may take.
const BUDGET: SwarmBudget = SwarmBudget {
    fault_steps: 3_000,
    liveness_ticks: 3_000,
    check_time: Duration::from_secs(5),
};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Searches `0..SEEDS` with `plant`, printing the seed found and the time.
fn search(name: &str, plant: fn(&mut Config)) -> Option<SwarmViolation> {
    let start = Instant::now();
    let found = search_swarm(0..SEEDS, BUDGET, plant);
    eprintln!(
        "{name}: {} in {:.1}s",
        found
            .as_ref()
            .map_or("nothing found".to_string(), |v| v.to_string()),
        start.elapsed().as_secs_f64()
    );
    found
}

#[test]
fn swarm_search_without_plants_finds_nothing() {
    if let Some(v) = search("no plant", |_| {}) {
        panic!("{v}");
    }
}

/// Long search without plants (`scripts/soak`): `SYNOD_SOAK_SEEDS` seeds
/// from `SYNOD_SOAK_FROM` of `SYNOD_SOAK_STEPS` steps each; every violation
/// is printed, and the test fails if there was one.
#[test]
#[ignore = "long; run by scripts/soak"]
fn swarm_soak() {
    let from = env_u64("SYNOD_SOAK_FROM", 0);
    let seeds = env_u64("SYNOD_SOAK_SEEDS", 1_000);
    let budget = SwarmBudget {
        fault_steps: env_u64("SYNOD_SOAK_STEPS", 20_000),
        liveness_ticks: BUDGET.liveness_ticks,
        check_time: Duration::from_secs(60),
    };
    let start = Instant::now();
    let mut failures = 0;
    let mut undecided = 0;
    for seed in from..from + seeds {
        match run_swarm(seed, budget, |_| {}) {
            Ok(run) => undecided += u64::from(!run.checked),
            Err(v) => {
                failures += 1;
                println!("VIOLATION {v}");
            }
        }
    }
    println!(
        "soak: {seeds} seeds from {from} x {} steps: {failures} violations, {undecided} histories undecided, {:.0}s",
        budget.fault_steps,
        start.elapsed().as_secs_f64()
    );
    assert_eq!(failures, 0);
}

#[cfg(feature = "faults")]
mod plants {
    use super::*;

    #[test]
    fn swarm_search_finds_commit_teaching_unchosen() {
        assert!(search("commit_teaches_unchosen", |c| c
            .faults
            .commit_teaches_unchosen =
            true)
        .is_some());
    }

    #[test]
    fn swarm_search_finds_reused_amnesiac_ballot() {
        assert!(search("reuse_amnesiac_ballot", |c| c
            .faults
            .reuse_amnesiac_ballot =
            true)
        .is_some());
    }

    #[test]
    fn swarm_search_finds_raw_ticks_log_time() {
        assert!(search("raw_ticks_log_time", |c| c.faults.raw_ticks_log_time = true).is_some());
    }

    #[test]
    fn swarm_search_finds_leader_never_fetching() {
        assert!(
            search("leader_never_fetches", |c| c.faults.leader_never_fetches =
                true)
            .is_some()
        );
    }
}

/// Replays one seed (`SYNOD_SEED`) with a trace and prints the draw, the
/// counters and the end of the trace.
#[test]
#[ignore = "a debugging aid"]
fn swarm_replay() {
    let seed = env_u64("SYNOD_SEED", 0);
    let swarm = synod::sim::Swarm::new(seed);
    eprintln!("{swarm:?}");
    let mut sim = synod::sim::swarm_sim(&swarm, |_| {});
    sim.enable_trace();
    let fault = sim.run(BUDGET.fault_steps);
    eprintln!("fault phase: {fault:?}");
    let live = sim.await_answers(BUDGET.liveness_ticks);
    eprintln!("liveness: {live:?} {:?}", sim.stats());
    for c in sim.clients() {
        eprintln!("client {c:?}");
    }
    for n in sim.nodes() {
        eprintln!("node {} {:?}", n.id, n.replica.as_ref().map(|r| r.status()));
    }
    let trace = sim.trace();
    for line in &trace[trace
        .len()
        .saturating_sub(env_u64("SYNOD_TAIL", 60) as usize)..]
    {
        eprintln!("{line}");
    }
}
