//! Swarm searches through `synod::sim`: every seed draws its own faults and
//! limits (`Swarm::new`: loss, duplication, reordering, crashes, wipes,
//! partitions that often single out the leader, messages held back for up to
//! 2,000 steps, lost replies), runs its fault steps in one to ten periods,
//! each followed by a liveness phase after healing, and checks agreement and
//! the ghost's invariants after every step (one leader and one value per
//! ballot, announced bounds only over chosen values), exactly-once
//! application and the clients' history (linearizability, with the kv model).
//!
//! Measured (release, 2 shared cores): without plants, seeds `0..150` of
//! 15,000 fault steps (`LONG`) pass in about 52 s, and seeds `150..450` of
//! 3,000 in about 25 s. The same search finds
//! plants 2, 3 and 4 of issue 10 (`plants`): the first seed that finds
//! each, and that seed passes without it. Plant 1 is not found in `0..1150`
//! (docs/swarm.md). Bugs found with no plant (now fixed): seed 8, and seeds
//! 42 and 61, of the draws before partitions (`Swarm::legacy`).

use std::time::{Duration, Instant};

use synod::paxos::Config;
use synod::sim::{run_drawn, run_swarm, search_swarm, Swarm, SwarmBudget, SwarmViolation};

/// Seeds searched per plant (and without plants).
const SEEDS: u64 = 150;

/// Storm seeds searched without plants in CI.
const STORM_SEEDS: u64 = 60;

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
fn search(
    name: &str,
    budget: SwarmBudget,
    plant: impl Fn(&mut Config) + Copy,
) -> Option<SwarmViolation> {
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

/// The plant searches' range and budget, without plants.
#[test]
fn swarm_search_without_plants_finds_nothing() {
    if let Some(v) = search("no plant", LONG, |_| {}) {
        panic!("{v}");
    }
}

/// More seeds, shorter runs: `SEEDS..3 * SEEDS` of 3,000 fault steps
/// (`BUDGET`) without plants.
#[test]
fn swarm_short_search_without_plants_finds_nothing() {
    let start = Instant::now();
    let found = search_swarm(SEEDS..3 * SEEDS, BUDGET, |_| {});
    eprintln!("short search: {:.1}s", start.elapsed().as_secs_f64());
    if let Some(v) = found {
        panic!("{v}");
    }
}

/// Storm seeds (`Swarm::storm`: ten periods of frequent partitions and
/// held messages) without plants, `0..STORM_SEEDS` of 15,000 fault steps.
#[test]
fn swarm_storm_search_without_plants_finds_nothing() {
    let start = Instant::now();
    let found =
        (0..STORM_SEEDS).find_map(|seed| run_drawn(&Swarm::storm(seed), LONG, |_| {}).err());
    eprintln!("storm search: {:.1}s", start.elapsed().as_secs_f64());
    if let Some(v) = found {
        panic!("{v}");
    }
}

/// The measuring aids' draw of `seed`: `Swarm::storm` when `SYNOD_STORM`
/// is set (`STORM=1 scripts/soak`), else `Swarm::new`.
fn drawn(seed: u64) -> Swarm {
    if std::env::var_os("SYNOD_STORM").is_some() {
        Swarm::storm(seed)
    } else {
        Swarm::new(seed)
    }
}

/// Long search without plants (`scripts/soak`): `SYNOD_SOAK_SEEDS` seeds
/// from `SYNOD_SOAK_FROM` of `SYNOD_SOAK_STEPS` steps each, each history
/// checked for up to `SYNOD_SOAK_CHECK_MS` (undecided passes); every
/// violation is printed, and the test fails if there was one.
#[test]
#[ignore = "long; run by scripts/soak"]
fn swarm_soak() {
    let from = env_u64("SYNOD_SOAK_FROM", 0);
    let seeds = env_u64("SYNOD_SOAK_SEEDS", 1_000);
    let budget = SwarmBudget {
        fault_steps: env_u64("SYNOD_SOAK_STEPS", 20_000),
        liveness_ticks: BUDGET.liveness_ticks,
        check_time: Duration::from_millis(env_u64("SYNOD_SOAK_CHECK_MS", 60_000)),
    };
    let start = Instant::now();
    let mut failures = 0;
    let mut undecided = 0;
    for seed in from..from + seeds {
        // Named before it runs: a seed that takes the machine down is known.
        eprintln!("seed {seed}");
        match run_drawn(&drawn(seed), budget, |_| {}) {
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

    /// The plants named in `names` (`Faults::NAMES`, separated by `+`),
    /// or panics; `none` plants nothing.
    fn plant_named(names: &str) -> impl Fn(&mut Config) + Copy + '_ {
        move |c: &mut Config| {
            for name in names.split('+').filter(|n| *n != "none") {
                c.faults.plant(name).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }

    /// Every seed of `SYNOD_SOAK_FROM..+SYNOD_SOAK_SEEDS` that finds plant
    /// `SYNOD_PLANT` (`SYNOD_SOAK_STEPS` steps), and whether it fails
    /// without the plant too: how many seeds find a plant, not just the first.
    #[test]
    #[ignore = "a measuring aid"]
    fn swarm_plant_hunt() {
        let name = std::env::var("SYNOD_PLANT").unwrap_or_else(|_| "none".into());
        let plant = plant_named(&name);
        let from = env_u64("SYNOD_SOAK_FROM", 0);
        let seeds = env_u64("SYNOD_SOAK_SEEDS", SEEDS);
        let budget = SwarmBudget {
            fault_steps: env_u64("SYNOD_SOAK_STEPS", LONG.fault_steps),
            ..LONG
        };
        let start = Instant::now();
        let mut found = 0;
        for seed in from..from + seeds {
            if let Err(v) = run_drawn(&drawn(seed), budget, plant) {
                let alone = run_drawn(&drawn(seed), budget, |_| {}).err();
                found += u64::from(alone.is_none());
                println!("FOUND {v} | without the plant: {alone:?}");
            }
        }
        println!(
            "{name}: {found} of {seeds} seeds from {from} ({:.0}s)",
            start.elapsed().as_secs_f64()
        );
    }

    /// Searches with `plant` and asserts that it finds a seed, and that the
    /// same seed passes without the plant: the plant, not the core, failed.
    fn found_only_with(name: &str, plant: impl Fn(&mut Config) + Copy) {
        let v = search(name, LONG, plant).unwrap_or_else(|| panic!("{name}: not found"));
        if let Err(without) = run_swarm(v.seed, LONG, |_| {}) {
            panic!(
                "{name}: seed {} fails without the plant too: {without}",
                v.seed
            );
        }
    }

    /// Found by the ghost (a ballot led by two incarnations), as an
    /// agreement violation or during a liveness phase.
    #[test]
    fn swarm_search_finds_reused_amnesiac_ballot() {
        found_only_with(
            "reuse_amnesiac_ballot",
            plant_named("reuse_amnesiac_ballot"),
        );
    }

    /// Defect 3 as found: raw-tick log time and a sessionless request
    /// applied. Found as a value applied twice (a lost reply, the session
    /// gone, the retry applied again).
    #[test]
    fn swarm_search_finds_a_double_apply() {
        let name = "raw_ticks_log_time+sessionless_apply";
        found_only_with(name, plant_named(name));
    }

    /// Found as a liveness stall: a leader whose one fetch was lost.
    #[test]
    fn swarm_search_finds_leader_never_fetching() {
        found_only_with("leader_never_fetches", plant_named("leader_never_fetches"));
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
    if let Err(v) = run_drawn(&Swarm::legacy(8), LONG, |_| {}) {
        panic!("{v}");
    }
}

/// Seeds 42 and 61 (3 replicas, 15,000 fault steps) stalled without plants:
/// an amnesiac leader's recovery slots, compacted by one peer, never gathered
/// their quorum (`tests/it/paxos/review2.rs` has the hand-made schedule).
#[test]
fn swarm_seeds_42_and_61_heal_after_compacted_recovery_slots() {
    for seed in [42, 61] {
        if let Err(v) = run_drawn(&Swarm::legacy(seed), LONG, |_| {}) {
            panic!("{v}");
        }
    }
}

/// Seeds 625 and 916 (the plant search for `commit_teaches_unchosen` ran
/// them without the plant too) applied a value twice with no plant: a first
/// request proposed by two leaders at two slots, and its session evicted
/// from a full table between them. A full table now refuses new sessions.
#[test]
fn swarm_seeds_625_and_916_apply_a_retried_first_request_once() {
    for seed in [625, 916] {
        if let Err(v) = run_swarm(seed, LONG, |_| {}) {
            panic!("{v}");
        }
    }
}

/// Seed 30 under ten periods of frequent partitions and held messages left
/// three clients unanswered for good: a lagging leader chose their first
/// requests above a gap, a peer's snapshot filled the gap past them, and
/// nothing answered what the snapshot had applied, so every retry found its
/// request still waiting and was dropped. A snapshot install now answers
/// them.
#[test]
fn swarm_seed_30_answers_requests_a_snapshot_applied() {
    if let Err(v) = run_drawn(&Swarm::storm(30), LONG, |_| {}) {
        panic!("{v}");
    }
}

/// Seed 400 of `synod sim` (its wide draw: 5 replicas, snapshots every 5
/// slots, 431-byte chunks, 20,000 fault steps in ten periods) left two
/// clients unanswered 3,000 ticks after healing: an amnesiac replica stood
/// every election timeout (33 times in the last liveness phase) while it
/// lagged, its recovery prepare outbid the leader at every promiser, and
/// it then gave the round up to fetch, a whole snapshot each time, which
/// the leader's next snapshot outdated. An amnesiac now waits until it
/// has caught up with a leader it hears before it stands.
#[test]
fn sim_seed_400_amnesiac_does_not_depose_a_leader_it_lags() {
    use synod::sim::cli::{run_seed, Overrides, Verdict};
    let budget = SwarmBudget {
        fault_steps: 20_000,
        liveness_ticks: 3_000,
        check_time: Duration::ZERO,
    };
    let run = run_seed(&Overrides::default().draw(400), budget, 0, |_| {});
    if let Verdict::Failed(v) = run.verdict {
        panic!("{v}");
    }
}
