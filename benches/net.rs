//! The network layer's own cost, without Paxos: encoding and checking one
//! frame, and peer messages per second between two transports over loopback
//! TCP (one connection, the sender batching frames per flush).

use std::net::TcpListener;
use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use synod::node::config::{ClusterConfig, NodeConfig, Tuning};
use synod::node::transport::frame::FrameCodec;
use synod::node::transport::Transport;

/// A payload shaped like a Paxos accept: a ballot, a slot and a 128-byte value.
type Accept = (u64, u64, u64, Vec<u8>);

fn accept(i: u64) -> Accept {
    (7, 3, i, vec![b'v'; 128])
}

fn bench_frame(c: &mut Criterion) {
    let codec = FrameCodec::new("bench", 1 << 20).expect("codec");
    let mut group = c.benchmark_group("frame_128B_payload");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode", |b| {
        b.iter(|| codec.encode(1, &accept(5)).expect("encode"))
    });
    let frame = codec.encode(1, &accept(5)).expect("encode");
    group.bench_function("decode_and_check", |b| {
        b.iter(|| {
            let (f, _) = codec.decode(&frame).expect("decode");
            f.decode::<Accept>().expect("payload")
        })
    });
    group.finish();
}

fn bench_loopback(c: &mut Criterion) {
    let listeners: Vec<TcpListener> = (0..2)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let nodes = listeners
        .iter()
        .enumerate()
        .map(|(i, l)| NodeConfig {
            id: i as u64 + 1,
            peer: l.local_addr().expect("addr"),
            client: TcpListener::bind("127.0.0.1:0")
                .and_then(|c| c.local_addr())
                .expect("client addr"),
        })
        .collect();
    let config = ClusterConfig {
        cluster_id: "bench".into(),
        nodes,
        tuning: Tuning::default(),
    };
    let config = ClusterConfig::parse(&config.to_toml().expect("toml"), Path::new("bench.toml"))
        .expect("valid");
    let mut listeners = listeners.into_iter();
    let ignore = |_, _: Accept| {};
    let t1 = Transport::start(&config, 1, listeners.next().expect("l1"), ignore).expect("t1");
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let deliver = move |_, m: Accept| {
        let _ = tx.lock().expect("lock").send(m.2);
    };
    let _t2 = Transport::start(&config, 2, listeners.next().expect("l2"), deliver).expect("t2");
    // Connect before measuring.
    t1.send(2, &accept(0)).expect("send");
    rx.recv_timeout(Duration::from_secs(10))
        .expect("first delivery");

    const BATCH: u64 = 1000;
    let mut group = c.benchmark_group("peer_loopback_128B_messages");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("send_1000_and_deliver", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                t1.send(2, &accept(i)).expect("send");
            }
            for _ in 0..BATCH {
                rx.recv_timeout(Duration::from_secs(10)).expect("delivered");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_frame, bench_loopback);
criterion_main!(benches);
