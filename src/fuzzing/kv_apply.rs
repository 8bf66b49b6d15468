//! `kv_apply`: arbitrary command sequences on the real `KvStore` against the
//! reference model ([`super::kv_model`]); a snapshot taken part way restores
//! to the same store (and the same bytes) and answers the rest of the run as
//! the original does; arbitrary bytes given to `restore` never panic, and
//! what restores snapshots and restores to itself.

use super::input::Input;
use super::kv_model::{compare_with_model, small_limits, Step};
use crate::kv::{Command, KvStore, MicroOp, Response};
use crate::paxos::StateMachine;

const KEYS: &[&str] = &["a", "b", "c", "d", "toolong"];
const VALUES: &[&str] = &["", "x", "yyy", "seven77"];
const LOCKS: &[&str] = &["L", "M", "N", "toolong"];
const OWNERS: &[&str] = &["p", "q", "toolong"];

fn s(input: &mut Input, from: &[&str]) -> String {
    input.pick(from).to_string()
}

/// Decodes one command from the input (names and values from small sets so
/// that collisions and limits are frequent, as in the proptest generator).
pub fn command(input: &mut Input) -> Command {
    match input.below(10) {
        0 => Command::Get {
            key: s(input, KEYS),
        },
        1 => Command::Put {
            key: s(input, KEYS),
            value: s(input, VALUES),
        },
        2 => Command::Cas {
            key: s(input, KEYS),
            expected: input.bool().then(|| s(input, VALUES)),
            new: s(input, VALUES),
        },
        3 => Command::Append {
            key: s(input, KEYS),
            value: s(input, VALUES),
        },
        4 => Command::Delete {
            key: s(input, KEYS),
        },
        5 => {
            let n = input.below(5);
            Command::Txn(
                (0..n)
                    .map(|_| {
                        if input.bool() {
                            MicroOp::Read {
                                key: s(input, KEYS),
                            }
                        } else {
                            MicroOp::Write {
                                key: s(input, KEYS),
                                value: s(input, VALUES),
                            }
                        }
                    })
                    .collect(),
            )
        }
        6 => Command::Acquire {
            lock: s(input, LOCKS),
            owner: s(input, OWNERS),
            ttl_ticks: input.below(7) as u64,
        },
        7 => Command::Renew {
            lock: s(input, LOCKS),
            owner: s(input, OWNERS),
            token: input.below(8) as u64,
        },
        8 => Command::Release {
            lock: s(input, LOCKS),
            owner: s(input, OWNERS),
            token: input.below(8) as u64,
        },
        _ => Command::Expire {
            lock: s(input, LOCKS),
            token: input.below(8) as u64,
            deadline_ticks: input.below(20) as u64,
        },
    }
}

/// Decodes one step: mostly commands, some time passing, some leader ticks.
pub fn step(input: &mut Input) -> Step {
    match input.below(8) {
        0 => Step::Advance(1 + input.below(3) as u64),
        1 => Step::Tick,
        _ => Step::Apply(command(input)),
    }
}

/// Decodes a run of at most `max` steps.
pub fn steps(input: &mut Input, max: usize) -> Vec<Step> {
    let mut out = Vec::new();
    while !input.is_empty() && out.len() < max {
        out.push(step(input));
    }
    out
}

#[cfg(feature = "fuzzing")]
impl<'a> arbitrary::Arbitrary<'a> for Step {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let bytes: &[u8] = u.bytes(u.len().min(16))?;
        Ok(step(&mut Input::new(bytes)))
    }
}

/// Runs `steps` on `store` from log time `now` (advanced by `Advance`
/// steps), returning every answer, the leader's tick commands' included.
pub fn run_steps(store: &mut KvStore, steps: &[Step], now: &mut u64) -> Vec<Response> {
    let mut answers = Vec::new();
    for step in steps {
        match step {
            Step::Apply(command) => answers.push(store.apply(*now, command)),
            Step::Advance(ticks) => *now += ticks,
            Step::Tick => {
                for command in store.tick_commands(*now) {
                    answers.push(store.apply(*now, &command));
                }
            }
        }
    }
    answers
}

/// The body. Input: a mode byte; then either bytes for `restore` (mode 0)
/// or a run of steps, split at a byte-chosen point for the snapshot.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    if input.u8() % 8 == 0 {
        // Arbitrary bytes as a snapshot: an error or a store that round-trips.
        if let Ok(store) = KvStore::restore(input.rest()) {
            let bytes = store.snapshot();
            let again = KvStore::restore(&bytes).expect("a store's own snapshot restores");
            assert_eq!(again, store, "restore(snapshot(s)) != s");
            assert_eq!(again.snapshot(), bytes, "snapshot bytes not stable");
        }
        return;
    }
    let split = input.u8() as usize;
    let all = steps(&mut input, 200);
    let mut store = KvStore::new(small_limits());
    if let Err(difference) = compare_with_model(&mut store, &all) {
        panic!("KvStore differs from the reference model: {difference}");
    }
    let (before, after) = all.split_at(split.min(all.len()));
    let mut store = KvStore::new(small_limits());
    let mut now = 0;
    run_steps(&mut store, before, &mut now);
    let bytes = store.snapshot();
    let mut restored = KvStore::restore(&bytes).expect("a snapshot restores");
    assert_eq!(restored, store, "restore(snapshot) differs");
    assert_eq!(
        restored.snapshot(),
        bytes,
        "snapshot of the restored store differs"
    );
    let mut now_restored = now;
    let answers = run_steps(&mut store, after, &mut now);
    assert_eq!(
        run_steps(&mut restored, after, &mut now_restored),
        answers,
        "restored store answers differently"
    );
    assert_eq!(restored, store, "restored store ends differently");
}
