//! Seeds of `synod sim`'s draw (`Swarm::wide`) without plants: they pass,
//! they replay bit for bit, and their histories get one verdict from the
//! exact check and from the general search.

use std::time::{Duration, Instant};

use synod::sim::cli::{run_seed, Overrides, Verdict};
use synod::sim::{check_append_order, swarm_sim, SwarmBudget};

const BUDGET: SwarmBudget = SwarmBudget {
    fault_steps: 5_000,
    liveness_ticks: 3_000,
    check_time: Duration::ZERO,
};

/// Seeds `0..300` of 5,000 fault steps, with `synod sim`'s own draw:
/// every one passes (about a minute in release on 2 cores).
#[test]
fn wide_draw_seeds_pass() {
    let start = Instant::now();
    let failed: Vec<String> = (0..300)
        .filter_map(|seed| {
            let run = run_seed(&Overrides::default().draw(seed), BUDGET, 0, |_| {});
            match run.verdict {
                Verdict::Passed => None,
                Verdict::Failed(v) => Some(v.to_string()),
            }
        })
        .collect();
    eprintln!("300 wide seeds: {:.1}s", start.elapsed().as_secs_f64());
    assert!(failed.is_empty(), "{failed:#?}");
}

/// One seed, run twice: the same counters, trace and history.
#[test]
fn a_seed_replays_bit_for_bit() {
    let swarm = Overrides::default().draw(17);
    let a = run_seed(&swarm, BUDGET, 200, |_| {});
    let b = run_seed(&swarm, BUDGET, 200, |_| {});
    assert_eq!(a.stats, b.stats);
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.history, b.history);
    assert!(a.stats.steps > 0 && !a.trace.is_empty());
}

/// The exact check and the general search agree on real simulated
/// histories (short runs, so the search decides them).
#[test]
fn exact_check_agrees_with_the_search_on_simulated_histories() {
    let mut decided = 0;
    for seed in 0..40 {
        let swarm = Overrides::default().draw(seed);
        let mut sim = swarm_sim(&swarm, |_| {});
        let _ = sim.run(600);
        let _ = sim.await_answers(1_000);
        let events = sim.events();
        if let Some(search) = super::order::search_verdict(events) {
            assert_eq!(check_append_order(events).is_ok(), search, "seed {seed}");
            decided += 1;
        }
    }
    assert!(decided >= 30, "the search decided only {decided} of 40");
}
