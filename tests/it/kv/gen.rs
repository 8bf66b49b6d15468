//! Random command sequences over a few keys, locks and owners, with limits
//! small enough that every limit is reached often.

use proptest::prelude::*;
use synod::kv::{Command, MicroOp};

pub use synod::fuzzing::kv_model::{small_limits, Step};

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("d"), Just("toolong")].prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![Just(""), Just("x"), Just("yyy"), Just("seven77")].prop_map(str::to_owned)
}

fn lock() -> impl Strategy<Value = String> {
    prop_oneof![Just("L"), Just("M"), Just("N"), Just("toolong")].prop_map(str::to_owned)
}

fn owner() -> impl Strategy<Value = String> {
    prop_oneof![Just("p"), Just("q"), Just("toolong")].prop_map(str::to_owned)
}

fn micro_op() -> impl Strategy<Value = MicroOp> {
    prop_oneof![
        key().prop_map(|key| MicroOp::Read { key }),
        (key(), value()).prop_map(|(key, value)| MicroOp::Write { key, value }),
    ]
}

/// Any command, including bad ones (over a limit, wrong owner or token, a
/// forged expiry).
pub fn command() -> impl Strategy<Value = Command> {
    // Tokens and deadlines from a small range, so that guesses are often right.
    let token = 0u64..8;
    prop_oneof![
        key().prop_map(|key| Command::Get { key }),
        (key(), value()).prop_map(|(key, value)| Command::Put { key, value }),
        (key(), proptest::option::of(value()), value())
            .prop_map(|(key, expected, new)| Command::Cas { key, expected, new }),
        (key(), value()).prop_map(|(key, value)| Command::Append { key, value }),
        key().prop_map(|key| Command::Delete { key }),
        proptest::collection::vec(micro_op(), 0..5).prop_map(Command::Txn),
        (lock(), owner(), 0u64..7).prop_map(|(lock, owner, ttl_ticks)| Command::Acquire {
            lock,
            owner,
            ttl_ticks
        }),
        (lock(), owner(), token.clone()).prop_map(|(lock, owner, token)| Command::Renew {
            lock,
            owner,
            token
        }),
        (lock(), owner(), token.clone()).prop_map(|(lock, owner, token)| Command::Release {
            lock,
            owner,
            token
        }),
        (lock(), token, 0u64..20).prop_map(|(lock, token, deadline_ticks)| Command::Expire {
            lock,
            token,
            deadline_ticks
        }),
    ]
}

/// A run's steps.
pub fn steps(max_len: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => command().prop_map(Step::Apply),
        1 => (1u64..4).prop_map(Step::Advance),
        1 => Just(Step::Tick),
    ];
    proptest::collection::vec(step, 0..max_len)
}
