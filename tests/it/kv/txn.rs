//! Transactions: all or nothing, reads see earlier writes, and every rejection
//! says which micro-op crossed which limit.

use proptest::prelude::*;
use synod::kv::{Command, KvStore, MicroOp, Rejection, Response};
use synod::paxos::StateMachine;

use super::gen::{command, small_limits};

fn read(key: &str) -> MicroOp {
    MicroOp::Read { key: key.into() }
}

fn write(key: &str, value: &str) -> MicroOp {
    MicroOp::Write {
        key: key.into(),
        value: value.into(),
    }
}

proptest! {
    #[test]
    fn a_txn_with_a_write_over_a_limit_changes_nothing(
        setup in proptest::collection::vec(command(), 0..20),
        valid_prefix in proptest::collection::vec(
            prop_oneof![
                "[a-c]".prop_map(|k| MicroOp::Read { key: k }),
                ("[a-c]", "[xy]{0,3}").prop_map(|(key, value)| MicroOp::Write { key, value }),
            ],
            0..2,
        ),
        bad in prop_oneof![
            Just(write("a", "seven77")),
            Just(write("toolong", "x")),
            Just(read("toolong")),
        ],
    ) {
        let mut store = KvStore::new(small_limits());
        for c in &setup {
            store.apply(0, c);
        }
        let before = store.clone();
        // The prefix may itself cross the key-count limit; the rejection is
        // then at or before the bad micro-op.
        let last = valid_prefix.len();
        let mut ops = valid_prefix;
        ops.push(bad);
        let answer = store.apply(0, &Command::Txn(ops));
        prop_assert!(
            matches!(&answer, Response::Rejected(Rejection::InTxn { index, .. }) if *index <= last),
            "answer {:?}", answer
        );
        prop_assert_eq!(store, before);
    }
}

#[test]
fn reads_in_a_txn_see_its_earlier_writes() {
    let mut store = KvStore::new(small_limits());
    store.apply(
        0,
        &Command::Put {
            key: "a".into(),
            value: "old".into(),
        },
    );
    let answer = store.apply(
        0,
        &Command::Txn(vec![read("a"), write("a", "new"), read("a")]),
    );
    assert_eq!(
        answer,
        Response::Txn(vec![
            Some("old".into()),
            Some("new".into()),
            Some("new".into())
        ])
    );
    assert_eq!(store.get("a"), Some("new"));
}

#[test]
fn a_txn_creating_keys_past_the_limit_is_rejected_whole() {
    // max_keys is 3: the txn's third new key (micro-op 2, a fourth key in all
    // with "a" present) must be refused, and "b" and "c" not created.
    let mut store = KvStore::new(small_limits());
    store.apply(
        0,
        &Command::Put {
            key: "a".into(),
            value: "x".into(),
        },
    );
    let before = store.clone();
    let answer = store.apply(
        0,
        &Command::Txn(vec![write("b", "1"), write("c", "2"), write("d", "3")]),
    );
    assert_eq!(
        answer,
        Response::Rejected(Rejection::InTxn {
            index: 2,
            cause: Box::new(Rejection::TooManyKeys { max: 3 })
        })
    );
    assert_eq!(store, before);
    // Writing one key twice creates it once.
    let answer = store.apply(0, &Command::Txn(vec![write("b", "1"), write("b", "2")]));
    assert_eq!(
        answer,
        Response::Txn(vec![Some("1".into()), Some("2".into())])
    );
}

#[test]
fn a_txn_longer_than_the_limit_is_rejected() {
    let mut store = KvStore::new(small_limits());
    let ops = vec![read("a"); 4];
    assert_eq!(
        store.apply(0, &Command::Txn(ops.clone())),
        Response::Rejected(Rejection::TxnTooLong { len: 4, max: 3 })
    );
    // The read-only path refuses it the same way.
    assert_eq!(
        store.query(&Command::Txn(ops)),
        Some(Response::Rejected(Rejection::TxnTooLong { len: 4, max: 3 }))
    );
}
