//! The models' CI set and teeth (one test binary).
//!
//! CI set: each configuration runs to exhaustion (BFS), every safety property
//! holds, the reachability properties it should reach are reached, and the
//! unique state count is pinned (a changed count is a changed protocol or
//! driver: look at why before updating it).
//!
//! Teeth: each planted bug of the core's `faults` feature must produce a
//! counterexample; the search stops at the first one.

use std::time::Duration;

use stateright::{Checker, HasDiscoveries, Model};
use synod::paxos::Faults;
use synod_models::{model, ModelCfg, NetworkKind, Restarts, SynodModel, SAFETY};

/// Runs `cfg` to exhaustion and checks every safety property.
fn exhaust(cfg: &ModelCfg) -> impl Checker<SynodModel> {
    let checker = model(cfg)
        .expect("valid configuration")
        .checker()
        .spawn_bfs()
        .join();
    assert!(
        checker.is_done(),
        "search incomplete for {}",
        cfg.describe()
    );
    for name in SAFETY {
        checker.assert_no_discovery(name);
    }
    checker.assert_any_discovery("value chosen");
    checker
}

/// Searches `cfg` until the first counterexample (or `limit_secs`, a bound
/// on a search that must stop, not a timing assertion); returns the names
/// of the violated safety properties.
fn hunt(cfg: &ModelCfg, search: Search, limit_secs: u64) -> Vec<&'static str> {
    let builder = model(cfg)
        .expect("valid configuration")
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .timeout(Duration::from_secs(limit_secs));
    let discoveries: Vec<&'static str> = match search {
        Search::Bfs => builder
            .spawn_bfs()
            .join()
            .discoveries()
            .into_keys()
            .collect(),
        Search::Dfs => builder
            .spawn_dfs()
            .join()
            .discoveries()
            .into_keys()
            .collect(),
        Search::Simulation(seed) => builder
            .spawn_simulation(seed, stateright::UniformChooser)
            .join()
            .discoveries()
            .into_keys()
            .collect(),
    };
    SAFETY
        .into_iter()
        .filter(|n| discoveries.contains(n))
        .collect()
}

#[derive(Clone, Copy)]
enum Search {
    Bfs,
    Dfs,
    Simulation(u64),
}

fn cfg(servers: usize, clients: usize, network: NetworkKind) -> ModelCfg {
    ModelCfg::new(servers, clients, network)
}

// ---- CI set -------------------------------------------------------------

#[test]
fn three_servers_one_client_nonduplicating_is_safe() {
    let c = exhaust(&cfg(3, 1, NetworkKind::UnorderedNonDuplicating));
    assert_eq!(c.unique_state_count(), 5946);
}

#[test]
fn three_servers_one_client_two_ops_nonduplicating_is_safe() {
    let mut m = cfg(3, 1, NetworkKind::UnorderedNonDuplicating);
    m.ops_per_client = 2;
    let c = exhaust(&m);
    assert_eq!(c.unique_state_count(), 91962);
}

#[test]
fn three_servers_two_clients_ordered_is_safe() {
    let c = exhaust(&cfg(3, 2, NetworkKind::Ordered));
    assert_eq!(c.unique_state_count(), 13221);
}

#[test]
fn lost_state_restart_is_safe_and_the_server_relearns() {
    let mut m = cfg(3, 1, NetworkKind::UnorderedNonDuplicating);
    m.max_crashes = 1;
    m.first_crashable = 2;
    m.max_restarts = 1;
    m.restarts = Restarts::Wiped;
    let c = exhaust(&m);
    c.assert_any_discovery("restarted server learns");
    assert_eq!(c.unique_state_count(), 52338);
}

// ---- Teeth --------------------------------------------------------------

fn faulty(mut m: ModelCfg, f: impl FnOnce(&mut Faults)) -> ModelCfg {
    f(&mut m.faults);
    m
}

#[test]
fn local_reads_break_linearizability() {
    let mut m = cfg(3, 1, NetworkKind::UnorderedNonDuplicating);
    m.ops_per_client = 2;
    let m = faulty(m, |f| f.local_reads = true);
    assert_eq!(hunt(&m, Search::Bfs, 600), vec!["linearizable"]);
}

#[test]
fn ignoring_the_amnesia_rule_lets_a_wiped_server_vote() {
    let mut m = cfg(3, 1, NetworkKind::UnorderedNonDuplicating);
    m.timers = 2;
    m.max_crashes = 1;
    m.max_restarts = 1;
    m.restarts = Restarts::Wiped;
    let m = faulty(m, |f| f.ignore_amnesia_rule = true);
    assert!(hunt(&m, Search::Bfs, 600).contains(&"amnesiac votes no forgotten ballot"));
}

#[test]
fn quorum_one_short_breaks_agreement() {
    let mut m = cfg(3, 2, NetworkKind::UnorderedNonDuplicating);
    m.timers = 2;
    let m = faulty(m, |f| f.quorum_one_short = true);
    assert!(hunt(&m, Search::Dfs, 600).contains(&"agreement"));
}

#[test]
fn skipping_adoption_of_the_highest_accepted_breaks_agreement() {
    let mut m = cfg(3, 2, NetworkKind::UnorderedNonDuplicating);
    m.timers = 2;
    let m = faulty(m, |f| f.skip_adopt_highest_accepted = true);
    assert!(hunt(&m, Search::Simulation(1), 600).contains(&"agreement"));
}
