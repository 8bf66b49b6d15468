//! Swarm searches through `synod::sim`: every seed draws its own faults and
//! limits (`Swarm::new`), runs a fault phase, a liveness phase after healing,
//! and checks agreement, exactly-once application and the clients' history
//! (linearizability, with the kv model).
//!
//! Measured (release, 2 shared cores): without plants, seeds `0..150` of
//! 3,000 fault steps pass in about 18 s (`BUDGET`, `SEEDS`). With 15,000
//! fault steps (`LONG`) seed 8 (3 replicas) stalled without any plant: a real
//! core liveness defect, now fixed (`swarm_seed_8_heals_after_a_snapshot_lagging_leader`).
//!
//! Teeth, not yet (`plants`): with 15,000 fault steps, searches of `0..150`
//! once found `reuse_amnesiac_ballot` (seed 12), `commit_teaches_unchosen`
//! (seed 42) and `raw_ticks_log_time` (seed 61) as liveness stalls, but seeds
//! 42 and 61 stalled without their plants too: a core defect (an amnesiac's
//! recovery slot compacted by a peer), now fixed (`swarm_seeds_42_and_61_...`).
//! Since the fix none of plants 1-4 is found in `0..150` (about 40 s each):
//! each search asserts that its seed also passes without the plant, and they
//! are ignored until the swarm finds them.

use std::time::{Duration, Instant};

use synod::paxos::Config;
use synod::sim::{run_swarm, search_swarm, SwarmBudget, SwarmViolation};

/// Seeds searched per plant (and without plants).
const SEEDS: u64 = 150;

/// The plant searches' budget: longer fault phases.
const LONG: SwarmBudget = SwarmBudget {
    fault_steps: 15_000,
    ..BUDGET
};

/// Steps of each run's fault phase, ticks its liveness phase may take, and
/// time its history check may take.
const BUDGET: SwarmBudget = SwarmBudget {
    fault_steps: 3_000,
    liveness_ticks: 3_000,
    check_time: Duration::from_millis(200),
};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Searches `0..SEEDS` with `plant`, printing the seed found and the time.
fn search(name: &str, budget: SwarmBudget, plant: fn(&mut Config)) -> Option<SwarmViolation> {
    let start = Instant::now();
    let found = search_swarm(0..SEEDS, budget, plant);
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
    if let Some(v) = search("no plant", BUDGET, |_| {}) {
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
        // Named before it runs: a seed that takes the machine down is known.
        eprintln!("seed {seed}");
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

    /// Searches with `plant` and asserts that it finds a seed, and that the
    /// same seed passes without the plant: the plant, not the core, failed.
    fn found_only_with(name: &str, plant: fn(&mut Config)) {
        let v = search(name, LONG, plant).unwrap_or_else(|| panic!("{name}: not found"));
        if let Err(without) = run_swarm(v.seed, LONG, |_| {}) {
            panic!(
                "{name}: seed {} fails without the plant too: {without}",
                v.seed
            );
        }
    }

    #[test]
    #[ignore = "not found within budget yet (module docs)"]
    fn swarm_search_finds_commit_teaching_unchosen() {
        found_only_with("commit_teaches_unchosen", |c| {
            c.faults.commit_teaches_unchosen = true
        });
    }

    #[test]
    #[ignore = "not found within budget yet (module docs)"]
    fn swarm_search_finds_reused_amnesiac_ballot() {
        found_only_with("reuse_amnesiac_ballot", |c| {
            c.faults.reuse_amnesiac_ballot = true
        });
    }

    #[test]
    #[ignore = "not found within budget yet (module docs)"]
    fn swarm_search_finds_raw_ticks_log_time() {
        found_only_with("raw_ticks_log_time", |c| c.faults.raw_ticks_log_time = true);
    }

    #[test]
    #[ignore = "not found within budget yet (module docs)"]
    fn swarm_search_finds_leader_never_fetching() {
        found_only_with("leader_never_fetches", |c| {
            c.faults.leader_never_fetches = true
        });
    }
}

/// A core liveness defect the swarm found without plants, now fixed: seed 8
/// (3 replicas) with 15,000 fault steps. After healing, replica 2 led while
/// still amnesiac (not voting); it retransmitted an Accept for slot 132,
/// below its followers' snapshots, which dropped it unanswered, its commits
/// kept the followers from standing, and no client was answered within
/// 3,000 ticks. Acceptors now answer such an Accept with `Compacted`, and the
/// leader steps down to catch up.
#[test]
fn swarm_seed_8_heals_after_a_snapshot_lagging_leader() {
    if let Err(v) = run_swarm(8, LONG, |_| {}) {
        panic!("{v}");
    }
}

/// Seeds 42 and 61 (3 replicas, 15,000 fault steps) stalled without plants:
/// an amnesiac leader's recovery slots, compacted by one peer, never gathered
/// their quorum (`tests/it/paxos/review2.rs` has the hand-made schedule).
#[test]
fn swarm_seeds_42_and_61_heal_after_compacted_recovery_slots() {
    for seed in [42, 61] {
        if let Err(v) = run_swarm(seed, LONG, |_| {}) {
            panic!("{v}");
        }
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
    let fault = sim.run(env_u64("SYNOD_STEPS", LONG.fault_steps));
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
