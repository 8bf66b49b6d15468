//! `checker_oracle`: small histories (at most 8 operations by 3 processes,
//! some `info`, some `fail`, some never completed) for the register, the
//! cas-register, kv (get/put/append) and the mutex: `synod::checker`'s
//! verdict equals the brute-force checker's ([`super::brute`]), and a valid
//! verdict's linearization is a witness.

use serde_json::{json, Value};

use super::brute;
use super::input::Input;
use crate::checker::models::{Kv, Mutex, Register};
use crate::checker::{check, operations, CheckOptions, Model, NilRead, Verdict};
use crate::history::{Event, EventKind, History, Process};

/// The model a history is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// read/write on values 0..3.
    Register,
    /// read/write/cas on values 0..3.
    CasRegister,
    /// get/put/append of short strings on one key.
    Kv,
    /// acquire/release.
    Mutex,
}

/// At most this many operations per history: brute force is exponential.
pub const MAX_OPS: usize = 8;

fn push(h: &mut History, p: i64, kind: EventKind, f: &str, value: Value) {
    let line = h.events.len() + 1;
    h.events.push(Event {
        process: Process::Client(p),
        kind,
        f: f.to_string(),
        key: Some(json!("k")),
        value,
        time: None,
        index: None,
        line,
    });
}

/// Decodes a history of at most [`MAX_OPS`] operations for `mode`.
pub fn history(input: &mut Input, mode: Mode) -> History {
    let mut h = History::default();
    let mut busy: [Option<(&'static str, Value)>; 3] = [None, None, None];
    let mut started = 0;
    while !input.is_empty() {
        let p = input.below(3);
        match busy[p].take() {
            None if started < MAX_OPS => {
                started += 1;
                let (f, v) = match mode {
                    Mode::Kv => match input.below(3) {
                        0 => ("get", Value::Null),
                        1 => ("put", json!(input.pick(&["", "a", "b", "cb"]))),
                        _ => ("append", json!(input.pick(&["a", "b", "c"]))),
                    },
                    Mode::Mutex => (input.pick(&["acquire", "release"]), Value::Null),
                    Mode::Register | Mode::CasRegister => {
                        let n = if mode == Mode::CasRegister { 3 } else { 2 };
                        match input.below(n) {
                            0 => ("read", Value::Null),
                            1 => ("write", json!(input.below(3))),
                            _ => ("cas", json!([input.below(3), input.below(3)])),
                        }
                    }
                };
                push(&mut h, p as i64, EventKind::Invoke, f, v.clone());
                busy[p] = Some((f, v));
            }
            None => {}
            Some((f, v)) => match input.below(10) {
                0..=6 => {
                    let out = match f {
                        "read" => match input.below(5) {
                            4 => Value::Null,
                            n => json!(n % 3),
                        },
                        "get" => json!(input.pick(&["", "a", "b", "ab", "ba", "aa", "bab", "abb"])),
                        _ => v,
                    };
                    push(&mut h, p as i64, EventKind::Ok, f, out);
                }
                7 => push(&mut h, p as i64, EventKind::Info, f, v),
                _ => push(&mut h, p as i64, EventKind::Fail, f, v),
            },
        }
    }
    h
}

/// Checks `h` under `model` with the fast checker and with brute force;
/// panics if they disagree or the witness does not hold.
pub fn agree<M: Model>(model: &M, h: &History) -> Verdict {
    let ops = operations(h.clone()).expect("generated histories pair");
    let report = check(model, &ops, &CheckOptions::default()).expect("fits the model");
    let expected = brute::linearizable(model, &ops);
    let want = if expected {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    assert_eq!(
        report.verdict, want,
        "checker disagrees with brute force on {h:#?}"
    );
    if expected {
        assert!(
            brute::witness_holds(model, &ops, &report),
            "bad witness for {h:#?}"
        );
    }
    report.verdict
}

/// The body: a mode byte, then the history.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.pick(&[Mode::Register, Mode::CasRegister, Mode::Kv, Mode::Mutex]);
    let nil = if input.bool() {
        NilRead::Any
    } else {
        NilRead::Absent
    };
    let h = history(&mut input, mode);
    match mode {
        Mode::Register => {
            agree(&Register::new(json!(0), nil, false), &h);
        }
        Mode::CasRegister => {
            agree(&Register::new(json!(0), nil, true), &h);
        }
        Mode::Kv => {
            agree(&Kv::new(json!(""), NilRead::Absent), &h);
        }
        Mode::Mutex => {
            agree(&Mutex, &h);
        }
    }
}
