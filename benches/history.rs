//! Reader and generator throughput (`cargo bench --bench history`).
//!
//! The histories are generated in memory in the shape of
//! `gen_kv.py OPS 1000 32 7` (one EDN map per line, a `:key` field, string
//! values), so the bench needs no file; `read_str` parses exactly what
//! `read_file` does, minus the reads from the page cache.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synod::history::generate::{generate_kv, GenOptions};
use synod::history::{read_str, write_edn, write_jsonl, Format, History, ReadOptions};

fn kv_history(ops: usize) -> History {
    generate_kv(&GenOptions {
        ops,
        keys: 1000,
        clients: 32,
        seed: 7,
        info_share: 0.0,
        invalid: false,
    })
    .expect("valid generator options")
}

fn text(history: &History, format: Format) -> String {
    let mut out = Vec::new();
    match format {
        Format::Jsonl => write_jsonl(&mut out, history),
        _ => write_edn(&mut out, history),
    }
    .expect("writing to memory");
    String::from_utf8(out).expect("writers write UTF-8")
}

fn readers(c: &mut Criterion) {
    for (ops, samples) in [(100_000usize, 20usize), (1_000_000, 10)] {
        let history = kv_history(ops);
        let mut group = c.benchmark_group(format!("read_{ops}_ops"));
        group.sample_size(samples);
        for format in [Format::Edn, Format::Jsonl] {
            let input = text(&history, format);
            let opts = ReadOptions {
                format,
                ..ReadOptions::default()
            };
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_function(format!("{format:?}").to_lowercase(), |b| {
                b.iter_with_large_drop(|| {
                    let h = read_str(black_box(&input), &opts).expect("a valid history");
                    assert_eq!(h.events.len(), 2 * ops);
                    h
                })
            });
        }
        group.finish();
    }
}

fn generator(c: &mut Criterion) {
    let mut group = c.benchmark_group("generate");
    group.sample_size(10);
    group.bench_function("kv_100000_ops", |b| {
        b.iter(|| kv_history(black_box(100_000)))
    });
    group.finish();
}

criterion_group!(benches, readers, generator);
criterion_main!(benches);
