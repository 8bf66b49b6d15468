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
    // The run may stop between a commit and its last follower's apply: let
    // the replicas converge before comparing their states.
    let mut extra = 0;
    while !sim.converged() && extra < 10_000 {
        sim.step().unwrap();
        extra += 1;
    }
    assert!(sim.converged(), "not converged: {:?}", sim.stats());
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

/// At least 10,000 steps of one seeded run with every fault on: loss,
/// duplication, reordering, crashes, restarts, and disks wiped (amnesiac
/// restarts, kept safe by the amnesia rule). The agreement check runs after
/// every step.
#[test]
fn seeded_run_of_ten_thousand_steps_with_faults_keeps_agreement() {
    for (seed, replicas) in [(42, 3), (43, 5)] {
        let mut config = SimConfig::faulty(seed, replicas);
        config.wipe_per_mille = 300;
        let mut sim = Sim::new(config, AppendLog::default(), small, append).unwrap();
        let stats = sim
            .run(12_000)
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        assert!(stats.steps >= 10_000);
        assert!(
            stats.wipes > 0 && stats.crashes > 0 && stats.lost > 0,
            "{stats:?}"
        );
        sim.heal().unwrap();
        sim.run(50_000)
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        sim.check_all().unwrap();
    }
}

/// The check can fail: with the planted bug `forget_promises_on_restart` (a
/// restarted acceptor forgets its promises and accepted values) the driver
/// finds two replicas that learned different values for one slot. Seeds are
/// searched in order, bounded.
#[cfg(feature = "faults")]
#[test]
fn agreement_check_catches_forgotten_promises() {
    let found = (0..2_000u64).find_map(|seed| {
        let mut config = SimConfig::faulty(seed, 3);
        config.crash_per_mille = 30;
        config.restart_per_mille = 100;
        let mut sim = Sim::new(
            config,
            AppendLog::default(),
            |c| {
                small(c);
                c.faults.forget_promises_on_restart = true;
            },
            append,
        )
        .unwrap();
        sim.run(5_000).err().map(|v| (seed, v))
    });
    let (seed, violation) = found.expect("no disagreement found with promises forgotten");
    eprintln!("forgotten promises: seed {seed}: {violation}");
    assert_ne!(violation.first_value, violation.second_value);
}

/// The same search without the bug finds nothing: the catch above is the
/// bug's, not the checker's.
#[test]
fn same_search_without_the_bug_keeps_agreement() {
    for seed in 0..50u64 {
        let mut config = SimConfig::faulty(seed, 3);
        config.crash_per_mille = 30;
        config.restart_per_mille = 100;
        let mut sim = Sim::new(config, AppendLog::default(), small, append).unwrap();
        sim.run(5_000)
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
    }
}

fn wiping_n(seed: u64, replicas: usize) -> SimConfig {
    let mut config = SimConfig::faulty(seed, replicas);
    config.crash_per_mille = 30;
    config.restart_per_mille = 100;
    config.wipe_per_mille = 1000;
    config
}

/// Paxos Made Live's rule keeps a replica whose disk was wiped from voting
/// until that is safe: restarts that all lose their disks keep agreement.
#[test]
fn wiped_disks_keep_agreement_under_the_amnesia_rule() {
    for (seed, replicas) in (0..100u64).map(|s| (s, 3)).chain((0..20).map(|s| (s, 5))) {
        let mut sim = Sim::new(
            wiping_n(seed, replicas),
            AppendLog::default(),
            small,
            append,
        )
        .unwrap();
        sim.run(5_000)
            .unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        assert!(sim.stats().wipes > 0, "seed {seed}: {:?}", sim.stats());
        // After healing, amnesiac replicas vote again and everyone catches up.
        sim.heal().unwrap();
        let all_vote = |sim: &Sim<AppendLog>| {
            sim.nodes()
                .iter()
                .all(|n| n.replica.as_ref().is_some_and(|r| r.status().voting))
        };
        let mut steps = 0;
        while steps < 100_000 && !(sim.converged() && all_vote(&sim)) {
            sim.step().unwrap_or_else(|v| panic!("seed {seed}: {v}"));
            steps += 1;
        }
        assert!(
            sim.converged() && all_vote(&sim),
            "seed {seed}: stuck after healing"
        );
        assert_same_state_exactly_once(&sim);
    }
}

/// The amnesia rule's teeth: an amnesiac replica that votes at once (planted
/// `ignore_amnesia_rule`) lets the driver find a disagreement.
#[cfg(feature = "faults")]
#[test]
fn agreement_check_catches_ignored_amnesia_rule() {
    let found = (0..2_000u64).find_map(|seed| {
        let mut sim = Sim::new(
            wiping_n(seed, 3),
            AppendLog::default(),
            |c| {
                small(c);
                c.faults.ignore_amnesia_rule = true;
            },
            append,
        )
        .unwrap();
        sim.run(5_000).err().map(|v| (seed, v))
    });
    let (seed, violation) = found.expect("no disagreement found with the amnesia rule off");
    eprintln!("amnesia rule ignored: seed {seed}: {violation}");
}

/// The planted `quorum_one_short` bug (every quorum one replica smaller) lets
/// two leaders choose different values for one slot; the driver finds it.
#[cfg(feature = "faults")]
#[test]
fn agreement_check_catches_quorums_one_short() {
    let found = (0..2_000u64).find_map(|seed| {
        let mut sim = Sim::new(
            SimConfig::faulty(seed, 3),
            AppendLog::default(),
            |c| {
                small(c);
                c.faults.quorum_one_short = true;
            },
            append,
        )
        .unwrap();
        sim.run(5_000).err().map(|v| (seed, v))
    });
    let (seed, violation) = found.expect("no disagreement found with quorums one short");
    eprintln!("quorums one short: seed {seed}: {violation}");
}

/// The planted `skip_adopt_highest_accepted` bug (a new leader ignores the
/// values in promises, breaking P2c) is caught by the agreement check.
#[cfg(feature = "faults")]
#[test]
fn agreement_check_catches_skipped_adoption() {
    let found = (0..2_000u64).find_map(|seed| {
        let mut sim = Sim::new(
            SimConfig::faulty(seed, 3),
            AppendLog::default(),
            |c| {
                small(c);
                c.faults.skip_adopt_highest_accepted = true;
            },
            append,
        )
        .unwrap();
        sim.run(5_000).err().map(|v| (seed, v))
    });
    let (seed, violation) = found.expect("no disagreement found with adoption skipped");
    eprintln!("adoption skipped: seed {seed}: {violation}");
}
