//! Loom checks of `node::queue`, the bounded queue under every node thread
//! hand-off: nothing pushed is lost or duplicated, and close wakes every
//! waiter. (Its planted-bug companions are in `loom_pipeline.rs`, which
//! runs this queue inside the pipeline.)
//!
//! Run: `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom
//! LOOM_MAX_PREEMPTIONS=2 cargo test --release --test 'loom_*'`.
#![cfg(loom)]

use std::num::NonZeroUsize;

use synod::node::queue::{self, PushError};
use synod::sync::thread;

fn capacity(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap()
}

#[test]
fn every_pushed_item_is_popped_exactly_once_in_each_producers_order() {
    loom::model(|| {
        let (tx, rx) = queue::channel(capacity(1));
        let producers: Vec<_> = [10u32, 20]
            .into_iter()
            .map(|base| {
                let tx = tx.clone();
                thread::spawn(move || {
                    tx.push(base).unwrap();
                    tx.push(base + 1).unwrap();
                })
            })
            .collect();
        drop(tx);
        let mut got = Vec::new();
        while rx.pop_batch(2, &mut got) > 0 {}
        for producer in producers {
            producer.join().unwrap();
        }
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![10, 11, 20, 21]);
        for base in [10, 20] {
            let first = got.iter().position(|&x| x == base).unwrap();
            let second = got.iter().position(|&x| x == base + 1).unwrap();
            assert!(first < second, "producer {base}'s items reordered: {got:?}");
        }
    });
}

#[test]
fn close_wakes_a_blocked_pusher_and_every_accepted_item_is_drained() {
    loom::model(|| {
        let (tx, rx) = queue::channel(capacity(1));
        let producer = thread::spawn(move || {
            [1u32, 2]
                .into_iter()
                .map(|item| tx.push(item))
                .collect::<Vec<_>>()
        });
        rx.close();
        let mut drained = Vec::new();
        while let Some(item) = rx.pop() {
            drained.push(item);
        }
        let results = producer.join().unwrap();
        let accepted: Vec<u32> = [1, 2]
            .into_iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(item, _)| item)
            .collect();
        assert_eq!(drained, accepted, "results {results:?}");
        for (item, result) in [1u32, 2].into_iter().zip(results) {
            if let Err(e) = result {
                assert_eq!(e, PushError::Closed(item));
            }
        }
    });
}
