//! The single-key operations: their documented answers and their limits.

use synod::kv::{Command, KvStore, Outcome, Rejection, Response};
use synod::paxos::StateMachine;

use super::gen::small_limits;

fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> Command {
    Command::Cas {
        key: key.into(),
        expected: expected.map(str::to_owned),
        new: new.into(),
    }
}

fn append(key: &str, value: &str) -> Command {
    Command::Append {
        key: key.into(),
        value: value.into(),
    }
}

#[test]
fn cas_with_expected_absent_creates_a_key_exactly_once() {
    let mut store = KvStore::new(small_limits());
    assert_eq!(store.apply(0, &cas("a", None, "x")), Response::Ok);
    assert_eq!(
        store.apply(0, &cas("a", None, "y")),
        Response::CasMismatch {
            current: Some("x".into())
        }
    );
    assert_eq!(store.apply(0, &cas("a", Some("x"), "y")), Response::Ok);
    assert_eq!(
        store.apply(0, &cas("b", Some("x"), "y")),
        Response::CasMismatch { current: None }
    );
    assert_eq!(store.get("a"), Some("y"));
    assert_eq!(store.get("b"), None);
}

#[test]
fn append_to_an_absent_key_starts_from_the_empty_string() {
    let mut store = KvStore::new(small_limits());
    assert_eq!(store.apply(0, &append("a", "xy")), Response::Ok);
    assert_eq!(store.apply(0, &append("a", "z")), Response::Ok);
    assert_eq!(store.get("a"), Some("xyz"));
}

#[test]
fn append_past_the_value_limit_is_rejected_and_changes_nothing() {
    let mut store = KvStore::new(small_limits());
    store.apply(0, &append("a", "yyy"));
    store.apply(0, &append("a", "yyy"));
    assert_eq!(
        store.apply(0, &append("a", "x")),
        Response::Rejected(Rejection::ValueTooLong { len: 7, max: 6 })
    );
    assert_eq!(store.get("a"), Some("yyyyyy"));
}

#[test]
fn get_and_delete_of_an_absent_key_answer_not_found() {
    let mut store = KvStore::new(small_limits());
    let get = Command::Get { key: "a".into() };
    let delete = Command::Delete { key: "a".into() };
    assert_eq!(store.apply(0, &get), Response::NotFound);
    assert_eq!(store.apply(0, &delete), Response::NotFound);
    store.apply(0, &put("a", "x"));
    assert_eq!(store.apply(0, &get), Response::Value("x".into()));
    assert_eq!(store.apply(0, &delete), Response::Ok);
    assert_eq!(store.apply(0, &get), Response::NotFound);
}

#[test]
fn key_value_and_key_count_limits_are_reported() {
    let mut store = KvStore::new(small_limits());
    assert_eq!(
        store.apply(0, &put("toolong", "x")),
        Response::Rejected(Rejection::KeyTooLong { len: 7, max: 4 })
    );
    assert_eq!(
        store.apply(0, &put("a", "seven77")),
        Response::Rejected(Rejection::ValueTooLong { len: 7, max: 6 })
    );
    for key in ["a", "b", "c"] {
        assert_eq!(store.apply(0, &put(key, "x")), Response::Ok);
    }
    for command in [put("d", "x"), cas("d", None, "x"), append("d", "x")] {
        assert_eq!(
            store.apply(0, &command),
            Response::Rejected(Rejection::TooManyKeys { max: 3 })
        );
    }
    // Overwriting a present key needs no room.
    assert_eq!(store.apply(0, &put("a", "y")), Response::Ok);
    assert_eq!(store.data().len(), 3);
}

#[test]
fn rejections_say_what_and_where() {
    let nested = Rejection::InTxn {
        index: 2,
        cause: Box::new(Rejection::KeyTooLong { len: 7, max: 4 }),
    };
    assert_eq!(
        nested.to_string(),
        "micro-op 2 of the transaction: key of 7 bytes is longer than the limit of 4"
    );
}

#[test]
fn every_refusal_is_a_fail_and_every_effect_an_ok() {
    let fails = [
        Response::CasMismatch { current: None },
        Response::Held {
            owner: "p".into(),
            token: 1,
        },
        Response::NotHeld,
        Response::NotOwner { owner: "p".into() },
        Response::StaleToken { current: 1 },
        Response::NotExpired,
        Response::Rejected(Rejection::TokensExhausted),
    ];
    for response in fails {
        assert_eq!(response.outcome(), Outcome::Fail, "{response:?}");
    }
    let oks = [
        Response::Value("x".into()),
        Response::NotFound,
        Response::Ok,
        Response::Txn(vec![None]),
        Response::Token(1),
        Response::Expired,
    ];
    for response in oks {
        assert_eq!(response.outcome(), Outcome::Ok, "{response:?}");
    }
}

#[test]
fn commands_round_trip_through_json() {
    let commands = [
        put("a", "x"),
        cas("a", None, "y"),
        Command::Txn(vec![synod::kv::MicroOp::Read { key: "a".into() }]),
        Command::Expire {
            lock: "L".into(),
            token: 3,
            deadline_ticks: 9,
        },
    ];
    for command in commands {
        let json = serde_json::to_string(&command).expect("serializes");
        let back: Command = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, command);
    }
}
