//! Commands committed and applied on all 3 in-memory replicas per second: no
//! I/O, 16-byte keys, 64-byte values, batch sizes 1 and 64. The lockstep
//! driver delivers every message in order; records are dropped (in memory,
//! nothing to make durable).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use synod::paxos::{ClientRequest, ReadMode};
use synod::sim::{AppendCommand, AppendLog, Lockstep};

/// `n` clients' next request each (one outstanding per client, as sessions
/// require): client `i`'s `seq`-th command.
fn commands(n: u64, seq: u64) -> Vec<ClientRequest<AppendCommand>> {
    (0..n)
        .map(|i| ClientRequest {
            client_id: i + 1,
            seq,
            command: AppendCommand::Put {
                key: format!("key-{:012}", i).into_bytes(),
                value: vec![b'v'; 64],
            },
            read_mode: ReadMode::ReadIndex,
        })
        .collect()
}

fn bench_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_commit_apply_3_replicas");
    for batch in [1usize, 64] {
        let per_iter: u64 = if batch == 1 { 1024 } else { 16 * 1024 };
        group.throughput(Throughput::Elements(per_iter));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter_custom(|iters| {
                let mut cluster = Lockstep::new(3, AppendLog::default(), |c| {
                    c.max_batch = batch;
                    c.window = 64;
                    c.max_sessions = 1 << 20;
                    c.max_pending_requests = 1 << 20;
                })
                .expect("valid config");
                cluster.keep_disks = false;
                cluster.keep_replies = false;
                assert!(cluster.elect(1), "replica 1 is elected");
                let mut elapsed = std::time::Duration::ZERO;
                for it in 0..iters {
                    let requests = commands(per_iter, it + 1);
                    let start = std::time::Instant::now();
                    for r in requests {
                        cluster.request(1, r);
                    }
                    cluster.deliver_all(usize::MAX);
                    elapsed += start.elapsed();
                }
                for id in 1..=3 {
                    let s = cluster.replica(id).expect("up").status();
                    assert_eq!(
                        s.applied_upto,
                        cluster.replica(1).unwrap().status().applied_upto
                    );
                }
                assert_eq!(cluster.reply_count, iters * per_iter);
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_commit);
criterion_main!(benches);
