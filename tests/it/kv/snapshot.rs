//! Snapshots: a round trip gives the same store and the same bytes, and a
//! corrupt or forged snapshot is refused with a `RestoreError`.

use proptest::prelude::*;
use synod::kv::{Command, KvLimits, KvStore, Rejection, Response};
use synod::paxos::StateMachine;

use synod::fuzzing::kv_apply::run_steps as run;

use super::gen::{small_limits, steps};

proptest! {
    #[test]
    fn restore_of_a_snapshot_is_the_same_store_and_behaves_the_same(
        before in steps(40),
        after in steps(40),
    ) {
        let mut store = KvStore::new(small_limits());
        let mut now = 0;
        run(&mut store, &before, &mut now);
        let bytes = store.snapshot();
        let mut restored = KvStore::restore(&bytes).expect("a snapshot restores");
        prop_assert_eq!(&restored, &store);
        prop_assert_eq!(restored.snapshot(), bytes);
        let mut now_restored = now;
        let answers = run(&mut store, &after, &mut now);
        prop_assert_eq!(run(&mut restored, &after, &mut now_restored), answers);
        prop_assert_eq!(restored, store);
    }

    #[test]
    fn restore_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        // Ok or Err; the property is that it returns.
        let _ = KvStore::restore(&bytes);
    }

    #[test]
    fn restore_of_a_truncated_snapshot_errors(steps in steps(30), cut in any::<prop::sample::Index>()) {
        let mut store = KvStore::new(small_limits());
        run(&mut store, &steps, &mut 0);
        let bytes = store.snapshot();
        let len = cut.index(bytes.len());
        prop_assert!(KvStore::restore(&bytes[..len]).is_err());
    }
}

/// A snapshot of a store with a key and a held lock, as a JSON value to forge.
fn forgeable() -> serde_json::Value {
    let mut store = KvStore::new(small_limits());
    store.apply(
        0,
        &Command::Put {
            key: "a".into(),
            value: "x".into(),
        },
    );
    store.apply(
        0,
        &Command::Acquire {
            lock: "L".into(),
            owner: "p".into(),
            ttl_ticks: 3,
        },
    );
    serde_json::from_slice(&store.snapshot()).expect("a snapshot is JSON")
}

fn restore_json(value: &serde_json::Value) -> Result<KvStore, String> {
    KvStore::restore(&serde_json::to_vec(value).expect("serializes")).map_err(|e| e.to_string())
}

#[test]
fn the_unforged_snapshot_restores() {
    assert!(restore_json(&forgeable()).is_ok());
}

/// A change to a snapshot's JSON.
type Forgery = fn(&mut serde_json::Value);

#[test]
fn restore_refuses_forged_snapshots() {
    let cases: [(&str, Forgery); 7] = [
        ("version", |s| s["version"] = 2.into()),
        ("not yet issued", |s| s["leases"]["L"]["token"] = 7.into()),
        ("below the first token", |s| s["next_token"] = 0.into()),
        ("longer than the limit", |s| {
            s["data"]["toolong"] = "x".into()
        }),
        ("already held", |s| {
            s["leases"]["M"] = s["leases"]["L"].clone();
            s["next_token"] = 9.into();
        }),
        ("outside 1..=", |s| s["leases"]["L"]["ttl_ticks"] = 0.into()),
        ("unknown field", |s| s["extra"] = 1.into()),
    ];
    for (expected, forge) in cases {
        let mut snapshot = forgeable();
        forge(&mut snapshot);
        match restore_json(&snapshot) {
            Ok(_) => panic!("forged snapshot ({expected}) was restored"),
            Err(message) => assert!(
                message.contains(expected),
                "forged snapshot ({expected}) refused with: {message}"
            ),
        }
    }
}

#[test]
fn restore_of_empty_or_non_json_bytes_errors() {
    for bytes in [
        &b""[..],
        b"null",
        b"[]",
        b"{",
        b"\xff\xfe",
        b"{\"version\":1}",
    ] {
        assert!(KvStore::restore(bytes).is_err(), "{bytes:?} restored");
    }
}

#[test]
fn equal_stores_give_equal_snapshot_bytes() {
    // Insertion order differs; the bytes must not.
    let mut one = KvStore::new(KvLimits::default());
    let mut two = KvStore::new(KvLimits::default());
    for key in ["a", "b", "c"] {
        one.apply(
            0,
            &Command::Put {
                key: key.into(),
                value: key.into(),
            },
        );
    }
    for key in ["c", "a", "b"] {
        two.apply(
            0,
            &Command::Put {
                key: key.into(),
                value: key.into(),
            },
        );
    }
    assert_eq!(one.snapshot(), two.snapshot());
}

#[test]
fn an_exhausted_token_counter_refuses_acquire() {
    let mut snapshot: serde_json::Value =
        serde_json::from_slice(&KvStore::default().snapshot()).expect("JSON");
    snapshot["next_token"] = u64::MAX.into();
    let mut store = restore_json(&snapshot).expect("a full counter is a valid state");
    let acquire = Command::Acquire {
        lock: "L".into(),
        owner: "p".into(),
        ttl_ticks: 1,
    };
    assert_eq!(
        store.apply(0, &acquire),
        Response::Rejected(Rejection::TokensExhausted)
    );
}
