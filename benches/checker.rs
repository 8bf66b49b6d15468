//! Benchmarks of the linearizability checker.
//!
//! - `knossos-corpus`: the 122 Knossos reference histories, checked in all
//!   (read once, outside the timing).
//! - `gen_kv`: the shared `gen_kv.py` histories of 50 clients over 10 keys
//!   (needs python3 and `../shared/tools/gen_kv.py`).
//! - `clients50-info`: histories of this file's generator: 50 clients, 10
//!   keys, get/put/append, 10% of operations completed `info` (half of them
//!   took effect).
//!
//! Before criterion runs, an ablation table is printed: each search
//! optimization turned off in turn on the 50-client histories, with a time
//! limit (an `unknown` there means the search without it did not finish).
//!
//! Run: `cargo bench --bench checker`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use serde_json::{json, Value};
use synod::checker::models::Kv;
use synod::checker::{
    check, check_history, operations, CheckOptions, ModelKind, NilRead, Operation, Tuning,
};
use synod::history::{read_file, Event, EventKind, History, Process, ReadOptions};

/// A small deterministic random number generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A linearizable kv history: each operation takes effect at a random
/// instant between its invoke and its completion; `info_percent` of the
/// operations complete `info` (half of those took effect, half did not).
fn generate(ops: usize, keys: usize, clients: usize, info_percent: u64, seed: u64) -> History {
    #[derive(Clone)]
    struct InFlight {
        key: usize,
        f: &'static str,
        value: Value,
        applied: Option<Value>,
        info: bool,
    }
    let mut rng = Rng(seed);
    let mut state: Vec<String> = vec![String::new(); keys];
    let mut flight: Vec<Option<InFlight>> = vec![None; clients];
    let mut process: Vec<i64> = (0..clients as i64).collect();
    let mut events = Vec::new();
    let mut started = 0;
    let mut counter = 0u64;
    let push = |events: &mut Vec<Event>, p: i64, kind, f: &str, key: usize, value: Value| {
        let line = events.len() + 1;
        events.push(Event {
            process: Process::Client(p),
            kind,
            f: f.to_string(),
            key: Some(json!(key.to_string())),
            value,
            time: None,
            index: None,
            line,
        });
    };
    while started < ops || flight.iter().any(Option::is_some) {
        let c = rng.below(clients as u64) as usize;
        match flight[c].take() {
            None if started < ops => {
                started += 1;
                counter += 1;
                let key = rng.below(keys as u64) as usize;
                let (f, value) = match rng.below(4) {
                    0 | 1 => ("get", Value::Null),
                    2 => ("put", json!(format!("p{c}.{counter} "))),
                    _ => ("append", json!(format!("a{c}.{counter} "))),
                };
                push(
                    &mut events,
                    process[c],
                    EventKind::Invoke,
                    f,
                    key,
                    value.clone(),
                );
                let info = rng.below(100) < info_percent;
                flight[c] = Some(InFlight {
                    key,
                    f,
                    value,
                    applied: None,
                    info,
                });
            }
            None => {}
            Some(mut op) => {
                if op.applied.is_none() {
                    // Take effect now (an info one only half the time).
                    let takes_effect = !op.info || rng.below(2) == 0;
                    let s = &mut state[op.key];
                    if takes_effect {
                        match op.f {
                            "put" => *s = op.value.as_str().unwrap_or("").to_string(),
                            "append" => s.push_str(op.value.as_str().unwrap_or("")),
                            _ => {}
                        }
                    }
                    op.applied = Some(json!(s.clone()));
                    flight[c] = Some(op);
                } else {
                    let out = if op.f == "get" {
                        op.applied.clone().unwrap_or(Value::Null)
                    } else {
                        op.value.clone()
                    };
                    if op.info {
                        push(
                            &mut events,
                            process[c],
                            EventKind::Info,
                            op.f,
                            op.key,
                            op.value.clone(),
                        );
                        // Jepsen retires a process after an info.
                        process[c] += clients as i64;
                    } else {
                        push(&mut events, process[c], EventKind::Ok, op.f, op.key, out);
                    }
                }
            }
        }
    }
    History { events }
}

fn knossos_corpus() -> Vec<(History, ModelKind, Option<Value>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("histories/reference/knossos");
    let mut out = Vec::new();
    for (sub, kind, init) in [
        ("cas-register/good", ModelKind::CasRegister, Some(json!(0))),
        ("cas-register/bad", ModelKind::CasRegister, Some(json!(0))),
        (
            "multi-register/good",
            ModelKind::MultiRegister,
            Some(json!({"x": 0, "y": 0})),
        ),
        ("mutex/bad", ModelKind::Mutex, None),
    ] {
        let Ok(dir) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if let Ok(h) = read_file(&f, &ReadOptions::default()) {
                out.push((h, kind, init.clone()));
            }
        }
    }
    out
}

fn gen_kv(args: &[&str]) -> Option<Vec<Operation>> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_kv.py");
    let script = [beside, PathBuf::from("/work/shared/tools/gen_kv.py")]
        .into_iter()
        .find(|p| p.exists())?;
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .ok()?;
    let dir = std::env::temp_dir().join(format!("synod-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{}.edn", args.join("_")));
    std::fs::write(&path, out.stdout).ok()?;
    let h = read_file(&path, &ReadOptions::default()).ok()?;
    let _ = std::fs::remove_file(&path);
    operations(h).ok()
}

fn ablation() {
    let histories: Vec<(String, Vec<Operation>)> = (1..=3)
        .map(|seed| {
            (
                format!("clients50-info seed {seed}"),
                operations(generate(3000, 10, 50, 10, seed)).unwrap(),
            )
        })
        .chain(gen_kv(&["2000", "10", "50", "3"]).map(|o| ("gen_kv 2000 10 50 3".to_string(), o)))
        .chain(gen_kv(&["3000", "10", "50", "6"]).map(|o| ("gen_kv 3000 10 50 6".to_string(), o)))
        .collect();
    let all = Tuning::default();
    let variants = [
        ("all optimizations", all),
        (
            "without grouping identical pending",
            Tuning {
                group_identical_pending: false,
                ..all
            },
        ),
        (
            "without pruning needless pending",
            Tuning {
                prune_needless_pending: false,
                ..all
            },
        ),
        (
            "without greedy reads",
            Tuning {
                greedy_reads: false,
                ..all
            },
        ),
        (
            "without hopeless-read pruning",
            Tuning {
                prune_hopeless_reads: false,
                ..all
            },
        ),
        (
            "without due-first order",
            Tuning {
                due_first: false,
                ..all
            },
        ),
    ];
    println!("ablation (time limit 10 s per check):");
    for (name, ops) in &histories {
        for (vname, tuning) in variants {
            let opts = CheckOptions {
                time_limit: Some(Duration::from_secs(10)),
                tuning,
                ..CheckOptions::default()
            };
            let start = Instant::now();
            let r = check(&Kv::new(json!(""), NilRead::Any), ops, &opts).unwrap();
            let steps: u64 = r.partitions.iter().map(|p| p.stats.steps).sum();
            println!(
                "  {name:28} {vname:38} {:8} {:9.3} s {steps:>12} steps",
                r.verdict.to_string(),
                start.elapsed().as_secs_f64()
            );
        }
    }
}

fn benches(c: &mut Criterion) {
    let corpus = knossos_corpus();
    c.bench_function("knossos-corpus", |b| {
        b.iter(|| {
            for (h, kind, init) in &corpus {
                let _ = check_history(
                    h.clone(),
                    Some(*kind),
                    init.as_ref(),
                    NilRead::Any,
                    &CheckOptions::default(),
                );
            }
        })
    });
    let model = Kv::new(json!(""), NilRead::Any);
    let mut group = c.benchmark_group("kv");
    group.sample_size(10);
    for seed in 1..=2 {
        let ops = operations(generate(3000, 10, 50, 10, seed)).unwrap();
        group.bench_function(format!("clients50-info-3000-seed{seed}"), |b| {
            b.iter(|| check(&model, &ops, &CheckOptions::default()).unwrap())
        });
    }
    for args in [["2000", "10", "50", "3"], ["3000", "10", "50", "6"]] {
        if let Some(ops) = gen_kv(&args) {
            group.bench_function(format!("gen_kv-{}", args.join("-")), |b| {
                b.iter(|| check(&model, &ops, &CheckOptions::default()).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(checker, benches);

fn main() {
    if std::env::args().all(|a| a != "--list") {
        ablation();
    }
    checker();
    Criterion::default().configure_from_args().final_summary();
}
