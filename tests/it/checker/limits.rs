//! Limits: a limit reached yields unknown, never valid, and partitions that
//! finished are still reported.

use std::time::Duration;

use serde_json::{json, Value};
use synod::checker::models::Kv;
use synod::checker::{check, operations, CheckOptions, Exhausted, NilRead, Tuning, Verdict};
use synod::history::History;

use super::build::Builder;

/// Key "hard": 20 concurrent pending puts of distinct values and a get of a
/// value none wrote: refuting it explores 2^20 subsets, unless the puts are
/// pruned as needless (nothing reads their values). Key "easy": one put.
fn hard_and_easy() -> History {
    let mut b = Builder::new();
    b.invoke_key(100, "put", json!("easy"), json!(1))
        .ok_key(100, "put", json!("easy"), json!(1));
    for p in 0..20 {
        b.invoke_key(p, "put", json!("hard"), json!(p));
    }
    b.invoke_key(50, "get", json!("hard"), Value::Null)
        .ok_key(50, "get", json!("hard"), json!(-1));
    b.build()
}

const NO_PRUNING: Tuning = Tuning {
    group_identical_pending: true,
    prune_needless_pending: false,
    greedy_reads: true,
    prune_hopeless_reads: false,
    due_first: true,
};

#[test]
fn time_limit_reached_is_unknown_and_finished_partitions_are_kept() {
    let ops = operations(hard_and_easy()).unwrap();
    let opts = CheckOptions {
        time_limit: Some(Duration::ZERO),
        tuning: NO_PRUNING,
        ..CheckOptions::default()
    };
    let r = check(&Kv::new(Value::Null, NilRead::Absent), &ops, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.partitions[0].verdict, Verdict::Valid);
    assert_eq!(r.partitions[1].verdict, Verdict::Unknown);
    assert_eq!(r.partitions[1].reason, Some(Exhausted::TimeLimit));
}

#[test]
fn memory_limit_reached_is_unknown() {
    let ops = operations(hard_and_easy()).unwrap();
    let opts = CheckOptions {
        memory_limit_bytes: Some(1024),
        tuning: NO_PRUNING,
        ..CheckOptions::default()
    };
    let r = check(&Kv::new(Value::Null, NilRead::Absent), &ops, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.partitions[1].reason, Some(Exhausted::MemoryLimit));
}

#[test]
fn pruning_needless_pending_puts_decides_the_hard_partition() {
    let ops = operations(hard_and_easy()).unwrap();
    let r = check(
        &Kv::new(Value::Null, NilRead::Absent),
        &ops,
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    let f = r.partitions[1].failure.as_ref().unwrap();
    assert_eq!(f.op, 22, "the get, invoked at event 22");
}

/// The memory limit counts the heap a state owns: each configuration of 12
/// concurrent pending appends of 4 KiB holds a string of up to 48 KiB. Once
/// only the entries were counted (about 60 bytes each), a 1 MiB limit let
/// some 17,000 such states (hundreds of MiB) in before it stopped the search.
#[test]
fn memory_limit_counts_the_states_heap() {
    let mut b = Builder::new();
    for p in 0..12 {
        b.invoke_key(
            p,
            "append",
            json!("k"),
            json!(format!("{p:x}").repeat(4096)),
        );
    }
    b.invoke_key(50, "get", json!("k"), Value::Null).ok_key(
        50,
        "get",
        json!("k"),
        json!("never written"),
    );
    let ops = operations(b.build()).unwrap();
    let limit = 1 << 20;
    let opts = CheckOptions {
        memory_limit_bytes: Some(limit),
        tuning: NO_PRUNING,
        ..CheckOptions::default()
    };
    let r = check(&Kv::new(Value::Null, NilRead::Absent), &ops, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.partitions[0].reason, Some(Exhausted::MemoryLimit));
    let held = r.partitions[0].stats.configurations as usize * 4096;
    assert!(
        held <= 2 * limit,
        "{held} bytes of states under a {limit} limit"
    );
}
