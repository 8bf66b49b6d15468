//! Commands committed and applied on all 3 in-memory replicas per second: no
//! I/O, `KvStore` puts of 16-byte keys and 64-byte values, batch sizes 1 and
//! 64. A closed loop of 1024 clients, one request outstanding each (as
//! sessions require): each round every client submits its next put, and the
//! lockstep driver delivers every message in order until the round is
//! applied everywhere. Records are dropped (in memory, nothing to make
//! durable); snapshots are taken every 8192 slots. Time is the thread's
//! CPU time (see `thread_cpu_time`):
//! `cargo bench --bench core -- --measurement-time 5`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use synod::kv::{Command, KvStore};
use synod::paxos::{ClientRequest, ReadMode, StateMachine};
use synod::sim::{AppendCommand, AppendLog, Lockstep};

/// Clients in the closed loop.
const CLIENTS: u64 = 1024;

/// Every client's `seq`-th request: a put of a 16-byte key (one of 100,000)
/// and a 64-byte value.
fn round(seq: u64) -> Vec<ClientRequest<Command>> {
    (0..CLIENTS)
        .map(|i| ClientRequest {
            client_id: i + 1,
            seq,
            command: Command::Put {
                key: format!("{:016x}", key_of((i * 7919 + seq * 104_729) % 100_000)),
                value: format!("{:064}", seq),
            },
            read_mode: ReadMode::ReadIndex,
        })
        .collect()
}

/// Spreads key numbers over the 64-bit space (splitmix64's finalizer), so
/// keys differ early, as hashed keys do (YCSB-style), not in a long shared
/// prefix.
fn key_of(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// CPU time of this thread. The machine is shared (other builds run while
/// this measures), so wall time would measure the neighbours; the driver and
/// all three replicas run on this one thread, so its CPU time is the cost.
fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The same loop over `AppendLog` (which keeps no values): the core's own
/// cost, without the KV store's.
fn append_round(seq: u64) -> Vec<ClientRequest<AppendCommand>> {
    (0..CLIENTS)
        .map(|i| ClientRequest {
            client_id: i + 1,
            seq,
            command: AppendCommand::Put {
                key: format!("{:016x}", key_of((i * 7919 + seq * 104_729) % 100_000)).into_bytes(),
                value: format!("{:064}", seq).into_bytes(),
            },
            read_mode: ReadMode::ReadIndex,
        })
        .collect()
}

fn bench_commit(c: &mut Criterion) {
    run::<KvStore>(
        c,
        "core_commit_apply_3_replicas_kv",
        || KvStore::new(Default::default()),
        round,
    );
    run::<AppendLog>(
        c,
        "core_commit_apply_3_replicas_core_only",
        AppendLog::default,
        append_round,
    );
}

fn run<S: StateMachine>(
    c: &mut Criterion,
    name: &str,
    initial: impl Fn() -> S,
    make_round: fn(u64) -> Vec<ClientRequest<S::Command>>,
) {
    let mut group = c.benchmark_group(name);
    for batch in [1usize, 64] {
        let rounds: u64 = if batch == 1 { 1 } else { 16 };
        group.throughput(Throughput::Elements(rounds * CLIENTS));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter_custom(|iters| {
                let mut cluster = Lockstep::new(3, initial(), |c| {
                    c.max_batch = batch;
                    // A snapshot serializes the whole store (100,000 keys
                    // here): taken every 8192 slots, as a node batching 64
                    // commands a slot would, its cost is part of the figure.
                    c.snapshot_interval = 8192;
                })
                .expect("valid config");
                cluster.keep_disks = false;
                cluster.keep_replies = false;
                assert!(cluster.elect(1), "replica 1 is elected");
                let mut elapsed = std::time::Duration::ZERO;
                for seq in 1..=iters * rounds {
                    let requests = make_round(seq);
                    let start = thread_cpu_time();
                    for r in requests {
                        cluster.request(1, r);
                    }
                    cluster.deliver_all(usize::MAX);
                    elapsed += thread_cpu_time().saturating_sub(start);
                }
                let applied = cluster.replica(1).expect("up").status().applied_upto;
                for id in 2..=3 {
                    let s = cluster.replica(id).expect("up").status();
                    assert_eq!(s.applied_upto, applied, "every replica applied all");
                }
                assert_eq!(cluster.reply_count, iters * rounds * CLIENTS);
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_commit);
criterion_main!(benches);
