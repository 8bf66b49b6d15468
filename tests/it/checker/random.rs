//! Random small histories, decided by the fast checker and by brute force:
//! the verdicts must agree, and a valid verdict's linearization must be a
//! witness (it replays in the model and respects real time).

use proptest::prelude::*;
use serde_json::{json, Value};
use synod::checker::models::{Kv, Mutex, Register};
use synod::checker::{check, operations, CheckOptions, Model, NilRead, Status, Verdict};
use synod::history::History;

use super::build::Builder;
use synod::fuzzing::brute;

/// What a random history exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Register,
    Mutex,
    Kv,
}

/// Decodes random numbers into a history of at most `max_ops` operations by
/// 3 processes, some completed `info`, some `fail`, some never completed.
/// `mode` chooses acquire/release (Mutex), read/write/cas on values 0..3
/// (Register), or get/put/append of short strings on one key (Kv).
fn decode(r: &[u32], max_ops: usize, mode: Mode) -> History {
    let mutex = mode == Mode::Mutex;
    let mut it = r.iter().copied();
    let mut b = Builder::new();
    let mut busy: [Option<(String, Value)>; 3] = [None, None, None];
    let mut started = 0;
    while let Some(x) = it.next() {
        let p = (x % 3) as usize;
        let mut next = || it.next().unwrap_or(0);
        match busy[p].take() {
            None if started < max_ops => {
                started += 1;
                let (f, v) = if mode == Mode::Kv {
                    match next() % 3 {
                        0 => ("get", Value::Null),
                        1 => ("put", json!(["", "a", "b", "cb"][(next() % 4) as usize])),
                        _ => ("append", json!(["a", "b", "c"][(next() % 3) as usize])),
                    }
                } else if mutex {
                    let f = if next() % 2 == 0 {
                        "acquire"
                    } else {
                        "release"
                    };
                    (f, Value::Null)
                } else {
                    match next() % 3 {
                        0 => ("read", Value::Null),
                        1 => ("write", json!(next() % 3)),
                        _ => ("cas", json!([next() % 3, next() % 3])),
                    }
                };
                b.invoke_key(p as i64, f, json!("k"), v.clone());
                busy[p] = Some((f.to_string(), v));
            }
            None => {}
            Some((f, v)) => match next() % 10 {
                0..=6 => {
                    let out = if f == "read" {
                        match next() % 5 {
                            4 => Value::Null,
                            n => json!(n % 3),
                        }
                    } else if f == "get" {
                        json!(["", "a", "b", "ab", "ba", "aa", "bab", "abb"][(next() % 8) as usize])
                    } else {
                        v
                    };
                    b.ok_key(p as i64, &f, json!("k"), out);
                }
                7 => {
                    b.info_key(p as i64, &f, json!("k"), v);
                }
                _ => {
                    b.fail_key(p as i64, &f, json!("k"), v);
                }
            },
        }
    }
    b.build()
}

/// The fast verdict, checked against brute force (and its witness).
fn agree<M: Model>(model: &M, h: &History) -> Result<Verdict, TestCaseError> {
    let ops = operations(h.clone()).expect("generated histories pair");
    let report = check(model, &ops, &CheckOptions::default()).expect("fits the model");
    let expected = brute::linearizable(model, &ops);
    prop_assert_eq!(
        report.verdict,
        if expected {
            Verdict::Valid
        } else {
            Verdict::Invalid
        },
        "history: {:#?}",
        h.events
    );
    if expected {
        prop_assert!(
            brute::witness_holds(model, &ops, &report),
            "bad witness for {:#?}",
            h.events
        );
    }
    Ok(report.verdict)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn cas_register_verdict_matches_brute_force(r in proptest::collection::vec(any::<u32>(), 10..60)) {
        agree(&Register::new(json!(0), NilRead::Any, true), &decode(&r, 7, Mode::Register))?;
        agree(&Register::new(json!(0), NilRead::Absent, true), &decode(&r, 7, Mode::Register))?;
    }

    #[test]
    fn mutex_verdict_matches_brute_force(r in proptest::collection::vec(any::<u32>(), 10..60)) {
        agree(&Mutex, &decode(&r, 7, Mode::Mutex))?;
    }

    #[test]
    fn kv_with_appends_verdict_matches_brute_force(r in proptest::collection::vec(any::<u32>(), 10..60)) {
        agree(&Kv::new(json!(""), NilRead::Absent), &decode(&r, 7, Mode::Kv))?;
    }
}

fn splitmix(x: &mut u64) -> u32 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u32
}

/// The comparison above means something only if the generator makes both
/// verdicts, and histories with pending operations, often enough.
#[test]
fn random_histories_are_both_valid_and_invalid_and_agree() {
    let model = Register::new(json!(0), NilRead::Any, true);
    let (mut valid, mut invalid, mut with_pending) = (0, 0, 0);
    let mut seed = 7u64;
    for _ in 0..2000 {
        let r: Vec<u32> = (0..50).map(|_| splitmix(&mut seed)).collect();
        let h = decode(&r, 8, Mode::Register);
        let ops = operations(h.clone()).unwrap();
        if ops.iter().any(|o| o.status == Status::Pending) {
            with_pending += 1;
        }
        match agree(&model, &h) {
            Ok(Verdict::Valid) => valid += 1,
            Ok(_) => invalid += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(valid > 200, "valid: {valid}");
    assert!(invalid > 200, "invalid: {invalid}");
    assert!(with_pending > 200, "with pending: {with_pending}");
}

#[test]
fn random_kv_histories_are_both_valid_and_invalid_and_agree() {
    let model = Kv::new(json!(""), NilRead::Absent);
    let (mut valid, mut invalid) = (0, 0);
    let mut seed = 11u64;
    for _ in 0..2000 {
        let r: Vec<u32> = (0..50).map(|_| splitmix(&mut seed)).collect();
        match agree(&model, &decode(&r, 8, Mode::Kv)) {
            Ok(Verdict::Valid) => valid += 1,
            Ok(_) => invalid += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(valid > 100, "valid: {valid}");
    assert!(invalid > 100, "invalid: {invalid}");
}
