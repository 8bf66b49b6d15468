//! Storage benchmarks on the disk that holds the target directory (a real
//! disk here, not tmpfs):
//! - `fdatasync`: the raw latency of appending one small record and
//!   `fdatasync`ing it: the floor under every acknowledged write;
//! - `group_commit`: records/s through the persistence pipeline over
//!   `FileStorage`, with group commit (many batches per sync) and without it
//!   (one sync per batch), for comparison.
//!
//! Run: `cargo bench --bench storage`.

use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use synod::node::pipeline::{Batch, Pipeline, PipelineConfig, Sink};
use synod::node::storage::{FileStorage, StorageLimits};

/// A record the size of a small put: key, value, slot, ballot.
type Record = (u64, u64, String, String);

fn record(i: u64) -> Record {
    (i, 7, format!("key-{i}"), "v".repeat(64))
}

/// Benches write under the target directory: on this machine a real disk.
fn bench_root() -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("bench-storage");
    std::fs::create_dir_all(&root).expect("create the bench directory");
    root
}

struct Discard;

impl Sink<u64> for Discard {
    fn release(&mut self, item: u64) {
        black_box(item);
    }
    fn discard(&mut self, item: u64) {
        black_box(item);
    }
}

fn fdatasync_latency(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(bench_root()).expect("temp dir");
    let path = dir.path().join("sync-probe");
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open the probe file");
    let payload = vec![0x5Au8; 100];
    let mut group = c.benchmark_group("storage");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("fdatasync_100B_append", |b| {
        b.iter(|| {
            file.write_all(&payload).expect("append");
            file.sync_data().expect("fdatasync");
        })
    });
    group.finish();
}

fn group_commit(c: &mut Criterion) {
    let root = bench_root();
    let mut group = c.benchmark_group("storage");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    // One sync per batch is slow (a disk's fsync rate): fewer batches.
    for (name, max_batches_per_sync, batches) in
        [("group_commit", 256, 2000u64), ("sync_per_batch", 1, 200)]
    {
        group.throughput(Throughput::Elements(batches));
        let config = PipelineConfig {
            queue_batches: NonZeroUsize::new(1024).expect("non-zero"),
            max_batches_per_sync: NonZeroUsize::new(max_batches_per_sync).expect("non-zero"),
        };
        let mut syncs = 0u64;
        let mut runs = 0u64;
        group.bench_function(format!("{name}_records"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir_in(&root).expect("temp dir");
                    let (storage, _) =
                        FileStorage::<Record>::open(dir.path(), StorageLimits::default())
                            .expect("open the WAL");
                    (dir, Pipeline::spawn(storage, Discard, config))
                },
                |(dir, pipeline)| {
                    for i in 0..batches {
                        pipeline
                            .submit(Batch::new(vec![record(i)], vec![i]))
                            .expect("the pipeline is open");
                    }
                    let stopped = pipeline.shutdown().expect("the pipeline stops cleanly");
                    syncs += stopped.stats.syncs;
                    runs += 1;
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        if runs > 0 {
            eprintln!(
                "{name}: {batches} one-record batches per run, {:.1} fdatasyncs per run on average",
                syncs as f64 / runs as f64
            );
        }
    }
    group.finish();
}

criterion_group!(benches, fdatasync_latency, group_commit);
criterion_main!(benches);
