//! The generator's verdicts are right: a brute-force linearizability check
//! (every order that respects real time, per key) accepts every valid
//! history and rejects every `invalid` one, `info` operations included.

use std::collections::{HashMap, HashSet};

use synod::history::generate::{generate_kv, GenOptions};
use synod::history::{EventKind, History, Value};

/// One kv operation, as the brute force sees it.
#[derive(Debug, Clone)]
struct Op {
    f: String,
    /// Written (put, append) or read (get) value.
    value: String,
    invoke: usize,
    /// The completion's position; `usize::MAX` for info (it may take effect
    /// at any time after its invoke, or never).
    complete: usize,
    /// ok: it took effect and must be linearized.
    must: bool,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The operations of each key.
fn operations(history: &History) -> HashMap<String, Vec<Op>> {
    let mut open: HashMap<_, (usize, &synod::history::Event)> = HashMap::new();
    let mut by_key: HashMap<String, Vec<Op>> = HashMap::new();
    for (i, e) in history.events.iter().enumerate() {
        if e.kind == EventKind::Invoke {
            open.insert(e.process.clone(), (i, e));
            continue;
        }
        let (invoke, inv) = open
            .remove(&e.process)
            .expect("a completion follows its invoke");
        let info = e.kind == EventKind::Info;
        if info && inv.f == "get" {
            continue; // a read of unknown result constrains nothing
        }
        let value = if inv.f == "get" {
            text(&e.value)
        } else {
            text(&inv.value)
        };
        let key = text(inv.key.as_ref().expect("kv events have keys"));
        by_key.entry(key).or_default().push(Op {
            f: inv.f.clone(),
            value,
            invoke,
            complete: if info { usize::MAX } else { i },
            must: !info,
        });
    }
    by_key
}

/// Whether some order of `ops` respecting real time explains every read
/// (keys start as "").
fn linearizable(ops: &[Op]) -> bool {
    assert!(ops.len() < 64, "brute force is for small histories");
    fn search(ops: &[Op], done: u64, state: &str, seen: &mut HashSet<(u64, String)>) -> bool {
        if ops
            .iter()
            .enumerate()
            .all(|(i, op)| !op.must || done & (1 << i) != 0)
        {
            return true;
        }
        if !seen.insert((done, state.to_string())) {
            return false;
        }
        for (i, op) in ops.iter().enumerate() {
            if done & (1 << i) != 0 {
                continue;
            }
            // An operation can go next only if no pending ok operation
            // completed before it was invoked.
            let blocked = ops
                .iter()
                .enumerate()
                .any(|(j, other)| done & (1 << j) == 0 && other.must && other.complete < op.invoke);
            if blocked {
                continue;
            }
            let next = match op.f.as_str() {
                "get" if op.value == state => state.to_string(),
                "get" => continue,
                "put" => op.value.clone(),
                _ => format!("{state}{}", op.value),
            };
            if search(ops, done | (1 << i), &next, seen) {
                return true;
            }
        }
        false
    }
    search(ops, 0, "", &mut HashSet::new())
}

fn all_keys_linearizable(history: &History) -> bool {
    operations(history).values().all(|ops| linearizable(ops))
}

fn small(seed: u64, invalid: bool) -> History {
    generate_kv(&GenOptions {
        ops: 40,
        keys: 3,
        clients: 4,
        seed,
        info_share: 0.25,
        invalid,
    })
    .unwrap()
}

#[test]
fn brute_force_rejects_a_known_stale_read() {
    // The brute force itself can fail: a get of the value before a write
    // that completed before the get began.
    let ops = vec![
        Op {
            f: "put".into(),
            value: "a".into(),
            invoke: 0,
            complete: 1,
            must: true,
        },
        Op {
            f: "put".into(),
            value: "b".into(),
            invoke: 2,
            complete: 3,
            must: true,
        },
        Op {
            f: "get".into(),
            value: "a".into(),
            invoke: 4,
            complete: 5,
            must: true,
        },
    ];
    assert!(!linearizable(&ops));
    let concurrent = vec![
        Op {
            f: "put".into(),
            value: "a".into(),
            invoke: 0,
            complete: 1,
            must: true,
        },
        Op {
            f: "put".into(),
            value: "b".into(),
            invoke: 2,
            complete: 5,
            must: true,
        },
        Op {
            f: "get".into(),
            value: "a".into(),
            invoke: 3,
            complete: 4,
            must: true,
        },
    ];
    assert!(linearizable(&concurrent));
}

#[test]
fn valid_generated_histories_are_linearizable() {
    for seed in 0..150 {
        assert!(all_keys_linearizable(&small(seed, false)), "seed {seed}");
    }
}

#[test]
fn invalid_generated_histories_are_not_linearizable() {
    let mut planted_mid_history = 0;
    for seed in 0..150 {
        let h = small(seed, true);
        assert!(!all_keys_linearizable(&h), "seed {seed}");
        if h.events.len() == 80 {
            planted_mid_history += 1;
        }
    }
    // Most stale reads are planted inside the history, not appended.
    assert!(
        planted_mid_history > 75,
        "{planted_mid_history} of 150 inside"
    );
}
