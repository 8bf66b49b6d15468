//! Each model rejects a known-bad history (and accepts its repaired twin),
//! with the evidence naming the operation that cannot be linearized.

use serde_json::{json, Value};
use synod::checker::models::{Kv, Lock, MultiRegister, Mutex, Register};
use synod::checker::{check, operations, CheckOptions, Model, NilRead, Report, Verdict};
use synod::history::History;

use super::build::Builder;

fn run<M: Model>(model: &M, h: &History) -> Report {
    check(
        model,
        &operations(h.clone()).unwrap(),
        &CheckOptions::default(),
    )
    .unwrap()
}

/// A read of a value no write wrote, after a completed write.
fn stale_read(read: Value) -> History {
    Builder::new()
        .invoke(0, "write", json!(1))
        .ok(0, "write", json!(1))
        .invoke(1, "read", Value::Null)
        .ok(1, "read", read)
        .build()
}

#[test]
fn register_rejects_a_read_of_an_overwritten_value() {
    let model = Register::new(json!(0), NilRead::Absent, false);
    let bad = run(&model, &stale_read(json!(0)));
    assert_eq!(bad.verdict, Verdict::Invalid);
    let f = bad.partitions[0].failure.as_ref().unwrap();
    // Op 2 (the read, invoked at event 2) fails after the write (op 0).
    assert_eq!(
        (f.op, f.prefix.clone(), f.states.clone()),
        (2, vec![0], vec![json!(1)])
    );
    assert_eq!(run(&model, &stale_read(json!(1))).verdict, Verdict::Valid);
}

#[test]
fn nil_read_matches_any_state_only_under_nil_read_any() {
    let h = stale_read(Value::Null);
    assert_eq!(
        run(&Register::new(json!(0), NilRead::Any, false), &h).verdict,
        Verdict::Valid
    );
    assert_eq!(
        run(&Register::new(json!(0), NilRead::Absent, false), &h).verdict,
        Verdict::Invalid
    );
}

#[test]
fn cas_register_rejects_a_cas_from_a_value_never_held() {
    let h = |old: i64| {
        Builder::new()
            .invoke(0, "cas", json!([old, 5]))
            .ok(0, "cas", json!([old, 5]))
            .invoke(1, "read", Value::Null)
            .ok(1, "read", json!(5))
            .build()
    };
    let model = Register::new(json!(0), NilRead::Any, true);
    assert_eq!(run(&model, &h(3)).verdict, Verdict::Invalid);
    assert_eq!(run(&model, &h(0)).verdict, Verdict::Valid);
}

#[test]
fn pending_write_may_explain_a_read_but_a_failed_one_may_not() {
    let h = |completion: &str| {
        let mut b = Builder::new();
        b.invoke(0, "write", json!(7));
        match completion {
            "info" => b.info(0, "write", json!(7)),
            _ => b.fail(0, "write", json!(7)),
        };
        b.invoke(1, "read", Value::Null)
            .ok(1, "read", json!(7))
            .build()
    };
    let model = Register::new(json!(0), NilRead::Absent, false);
    assert_eq!(run(&model, &h("info")).verdict, Verdict::Valid);
    assert_eq!(run(&model, &h("fail")).verdict, Verdict::Invalid);
}

#[test]
fn kv_rejects_a_stale_get_on_one_key_and_reports_every_key() {
    let h = |stale: &str| {
        Builder::new()
            .invoke_key(0, "put", json!("a"), json!("x"))
            .ok_key(0, "put", json!("a"), json!("x"))
            .invoke_key(1, "append", json!("b"), json!("y"))
            .ok_key(1, "append", json!("b"), json!("y"))
            .invoke_key(1, "append", json!("b"), json!("z"))
            .ok_key(1, "append", json!("b"), json!("z"))
            .invoke_key(2, "get", json!("b"), Value::Null)
            .ok_key(2, "get", json!("b"), json!(stale))
            .build()
    };
    let model = Kv::new(json!(""), NilRead::Absent);
    let bad = run(&model, &h("y"));
    assert_eq!(bad.verdict, Verdict::Invalid);
    assert_eq!(bad.partitions.len(), 2);
    assert_eq!(bad.partitions[0].verdict, Verdict::Valid);
    assert_eq!(
        bad.partitions[1].failure.as_ref().unwrap().states,
        vec![json!("yz")]
    );
    assert_eq!(run(&model, &h("yz")).verdict, Verdict::Valid);
}

#[test]
fn kv_tells_zero_from_the_string_zero_and_from_absent() {
    let h = |read: Value| {
        Builder::new()
            .invoke_key(0, "get", json!("k"), Value::Null)
            .ok_key(0, "get", json!("k"), read)
            .build()
    };
    let model = Kv::new(json!(0), NilRead::Absent);
    assert_eq!(run(&model, &h(json!(0))).verdict, Verdict::Valid);
    assert_eq!(run(&model, &h(json!("0"))).verdict, Verdict::Invalid);
    assert_eq!(run(&model, &h(Value::Null)).verdict, Verdict::Invalid);
}

#[test]
fn multi_register_rejects_a_torn_transaction() {
    // One txn writes x=1 and y=1; a later read sees x=1 but y=0.
    let h = |y: i64| {
        Builder::new()
            .invoke(0, "txn", json!([["w", "x", 1], ["w", "y", 1]]))
            .ok(0, "txn", json!([["w", "x", 1], ["w", "y", 1]]))
            .invoke(1, "txn", json!([["read", "x", null], ["read", "y", null]]))
            .ok(1, "txn", json!([["read", "x", 1], ["read", "y", y]]))
            .build()
    };
    let model = MultiRegister::new(&json!({"x": 0, "y": 0}), NilRead::Any).unwrap();
    assert_eq!(run(&model, &h(0)).verdict, Verdict::Invalid);
    assert_eq!(run(&model, &h(1)).verdict, Verdict::Valid);
}

#[test]
fn mutex_rejects_two_holders() {
    let h = |release_between: bool| {
        let mut b = Builder::new();
        b.invoke(0, "acquire", Value::Null)
            .ok(0, "acquire", Value::Null);
        if release_between {
            b.invoke(0, "release", Value::Null)
                .ok(0, "release", Value::Null);
        }
        b.invoke(1, "acquire", Value::Null)
            .ok(1, "acquire", Value::Null)
            .build()
    };
    assert_eq!(run(&Mutex, &h(false)).verdict, Verdict::Invalid);
    assert_eq!(run(&Mutex, &h(true)).verdict, Verdict::Valid);
}

fn grant(b: &mut Builder, p: i64, owner: &str, token: i64) {
    b.invoke(p, "acquire", json!({"owner": owner})).ok(
        p,
        "acquire",
        json!({"owner": owner, "token": token}),
    );
}

#[test]
fn lock_rejects_a_grant_whose_token_does_not_grow() {
    // After an expiry, b may acquire over a; but only with a larger token.
    let h = |second: i64| {
        let mut b = Builder::new();
        grant(&mut b, 0, "a", 5);
        grant(&mut b, 1, "b", second);
        b.build()
    };
    assert_eq!(run(&Lock, &h(5)).verdict, Verdict::Invalid);
    assert_eq!(run(&Lock, &h(6)).verdict, Verdict::Valid);
}

#[test]
fn lock_rejects_a_renew_with_a_stale_token() {
    let h = |renewer: &str, token: i64| {
        let mut b = Builder::new();
        grant(&mut b, 0, "a", 1);
        grant(&mut b, 1, "b", 2);
        let v = json!({"owner": renewer, "token": token});
        b.invoke(0, "renew", v.clone()).ok(0, "renew", v);
        b.build()
    };
    assert_eq!(run(&Lock, &h("a", 1)).verdict, Verdict::Invalid);
    assert_eq!(run(&Lock, &h("b", 2)).verdict, Verdict::Valid);
}
