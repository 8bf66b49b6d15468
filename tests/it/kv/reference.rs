//! `KvStore` against the reference model over random command sequences, with
//! log time advancing and the leader's expiries applied; and proof that the
//! comparison catches a store that breaks transaction atomicity.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};
use synod::kv::{Command, KvStore, MicroOp, Response};
use synod::paxos::StateMachine;

use synod::fuzzing::kv_model::{compare_with_model, small_limits, Observed, Subject};

use super::gen::{steps, Step};

proptest! {
    #![proptest_config(Config { cases: 512, ..Config::default() })]

    #[test]
    fn store_answers_every_command_as_the_reference_model(steps in steps(60)) {
        let mut store = KvStore::new(small_limits());
        if let Err(difference) = compare_with_model(&mut store, &steps) {
            prop_assert!(false, "{}", difference);
        }
    }

    #[test]
    fn query_answers_read_only_commands_as_apply_and_changes_nothing(steps in steps(40)) {
        let mut store = KvStore::new(small_limits());
        let mut now = 0;
        for step in &steps {
            match step {
                Step::Apply(command) => {
                    let before = store.clone();
                    let queried = store.query(command);
                    prop_assert_eq!(&store, &before);
                    let applied = store.apply(now, command);
                    if command.is_read_only() {
                        prop_assert_eq!(queried, Some(applied));
                        prop_assert_eq!(&store, &before);
                    } else {
                        prop_assert_eq!(queried, None);
                    }
                }
                Step::Advance(ticks) => now += ticks,
                Step::Tick => {
                    for command in store.tick_commands(now) {
                        store.apply(now, &command);
                    }
                }
            }
        }
    }
}

/// A planted bug: a store that runs a transaction as separate puts and gets,
/// so that the writes before a rejected micro-op stay.
struct NonAtomicTxn(KvStore);

impl Subject for NonAtomicTxn {
    fn apply_at(&mut self, now: u64, command: &Command) -> Response {
        let Command::Txn(ops) = command else {
            return self.0.apply(now, command);
        };
        let mut results = Vec::new();
        for op in ops {
            let single = match op {
                MicroOp::Read { key } => Command::Get { key: key.clone() },
                MicroOp::Write { key, value } => Command::Put {
                    key: key.clone(),
                    value: value.clone(),
                },
            };
            match (op, self.0.apply(now, &single)) {
                (_, Response::Value(v)) => results.push(Some(v)),
                (_, Response::NotFound) => results.push(None),
                (MicroOp::Write { value, .. }, Response::Ok) => results.push(Some(value.clone())),
                (_, other) => return other,
            }
        }
        Response::Txn(results)
    }
    fn expiries_at(&self, now: u64) -> Vec<Command> {
        self.0.tick_commands(now)
    }
    fn observe(&self) -> Observed {
        Subject::observe(&self.0)
    }
}

#[test]
fn comparison_catches_a_transaction_that_is_not_atomic() {
    let put = |key: &str, value: &str| Command::Put {
        key: key.into(),
        value: value.into(),
    };
    let write = |key: &str, value: &str| MicroOp::Write {
        key: key.into(),
        value: value.into(),
    };
    let known_bad = [
        Step::Apply(put("a", "x")),
        // The second write is over the value limit: the first must not stay.
        Step::Apply(Command::Txn(vec![write("a", "yyy"), write("b", "seven77")])),
    ];
    let mut buggy = NonAtomicTxn(KvStore::new(small_limits()));
    assert!(compare_with_model(&mut buggy, &known_bad).is_err());
    let mut store = KvStore::new(small_limits());
    assert_eq!(compare_with_model(&mut store, &known_bad), Ok(()));
}

#[test]
fn random_search_finds_the_non_atomic_transaction() {
    // The generator must reach the bug by itself, or the proptest above
    // would be blind to this class of error.
    let config = Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&steps(60), |steps| {
        let mut buggy = NonAtomicTxn(KvStore::new(small_limits()));
        compare_with_model(&mut buggy, &steps).map_err(TestCaseError::fail)
    });
    assert!(result.is_err(), "512 random runs missed the planted bug");
}
