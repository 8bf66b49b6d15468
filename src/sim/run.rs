//! One swarm run end to end, and a bounded search over seeds.

use crate::paxos::Config;

use super::cluster::Sim;
use super::history::check_appends;
use super::machine::AppendLog;
use super::order::check_append_order;
use super::swarm::{swarm_command, Failure, Swarm, SwarmBudget, SwarmRun, SwarmViolation};

/// Runs seed `seed` of the swarm ([`Swarm::new`]); `plant` adjusts every
/// replica's configuration after the swarm's limits (planted faults).
pub fn run_swarm(
    seed: u64,
    budget: SwarmBudget,
    plant: impl Fn(&mut Config),
) -> Result<SwarmRun, SwarmViolation> {
    run_drawn(&Swarm::new(seed), budget, plant)
}

/// Runs one draw: `swarm.periods` fault periods splitting
/// `budget.fault_steps`, each followed by a liveness phase (the last one's
/// ticks are returned), then the state and history checks.
pub fn run_drawn(
    swarm: &Swarm,
    budget: SwarmBudget,
    plant: impl Fn(&mut Config),
) -> Result<SwarmRun, SwarmViolation> {
    run_on(&mut swarm_sim(swarm, plant), swarm, budget)
}

/// [`run_drawn`] on a cluster already built from `swarm` ([`swarm_sim`]),
/// so that the caller can trace it and read its counters afterwards.
pub fn run_on(
    sim: &mut Sim<AppendLog>,
    swarm: &Swarm,
    budget: SwarmBudget,
) -> Result<SwarmRun, SwarmViolation> {
    // A core assertion is a finding like any other: report it with its seed.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_checked(sim, swarm, budget)
    }))
    .unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(SwarmViolation {
            seed: swarm.sim.seed,
            replicas: swarm.sim.replicas,
            failure: Failure::Panicked(message),
        })
    })
}

fn run_checked(
    sim: &mut Sim<AppendLog>,
    swarm: &Swarm,
    budget: SwarmBudget,
) -> Result<SwarmRun, SwarmViolation> {
    let fail = |failure| SwarmViolation {
        seed: swarm.sim.seed,
        replicas: swarm.sim.replicas,
        failure,
    };
    let periods = swarm.periods.max(1);
    let mut liveness_ticks = 0;
    for period in 0..periods {
        if period > 0 {
            // Faults resume where the liveness phase left the cluster.
            *sim.config_mut() = swarm.sim.clone();
        }
        sim.run(budget.fault_steps / periods)
            .map_err(|v| fail(Failure::Agreement(Box::new(v))))?;
        liveness_ticks = sim
            .await_answers(budget.liveness_ticks)
            .map_err(|l| fail(Failure::Liveness(Box::new(l))))?;
    }
    sim.check_all()
        .map_err(|v| fail(Failure::Agreement(Box::new(v))))?;
    check_states(sim).map_err(fail)?;
    check_append_order(sim.events()).map_err(|e| fail(Failure::NotLinearizable(e)))?;
    // The general search, as a cross-check of the exact check's `valid`.
    let checked = !budget.check_time.is_zero()
        && check_appends(sim.events(), budget.check_time)
            .map_err(|e| fail(Failure::CheckersDisagree(e)))?;
    Ok(SwarmRun {
        stats: sim.stats().clone(),
        liveness_ticks,
        checked,
    })
}

/// The cluster of a swarm draw, before its first step; `plant` adjusts
/// every replica's configuration after the swarm's limits.
pub fn swarm_sim(swarm: &Swarm, plant: impl Fn(&mut Config)) -> Sim<AppendLog> {
    Sim::new(
        swarm.sim.clone(),
        AppendLog::default(),
        |c| {
            swarm.tune(c);
            plant(c);
        },
        swarm_command,
    )
    .expect("the swarm draws valid configurations")
}

/// Every live replica applied each value at most once, with a monotonic
/// log clock, and the replicas' logs are prefixes of one another.
fn check_states(sim: &Sim<AppendLog>) -> Result<(), Failure> {
    let states: Vec<(u64, &AppendLog)> = sim
        .nodes()
        .iter()
        .filter_map(|n| n.replica.as_ref().map(|r| (n.id, r.state())))
        .collect();
    for (id, s) in &states {
        if s.clock_went_back {
            return Err(Failure::ClockWentBack(*id));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(v) = s.values.iter().find(|v| !seen.insert(**v)) {
            return Err(Failure::AppliedTwice {
                replica: *id,
                value: *v,
            });
        }
    }
    for (a, sa) in &states {
        for (b, sb) in &states {
            let n = sa.values.len().min(sb.values.len());
            if sa.values[..n] != sb.values[..n] {
                return Err(Failure::Diverged(*a, *b));
            }
        }
    }
    Ok(())
}

/// Runs seeds `seeds` in order and returns the first violation, if any.
pub fn search_swarm(
    seeds: std::ops::Range<u64>,
    budget: SwarmBudget,
    plant: impl Fn(&mut Config) + Copy,
) -> Option<SwarmViolation> {
    seeds
        .into_iter()
        .find_map(|seed| run_swarm(seed, budget, plant).err())
}
