//! Locks: fencing tokens strictly increase per lock across acquire, release
//! and expiry; a lease ends only through the log; expiry is harmless when late
//! or repeated.

use proptest::prelude::*;
use synod::kv::{Command, KvLimits, KvStore, Response};
use synod::paxos::StateMachine;

fn acquire(lock: &str, owner: &str, ttl_ticks: u64) -> Command {
    Command::Acquire {
        lock: lock.into(),
        owner: owner.into(),
        ttl_ticks,
    }
}

fn renew(lock: &str, owner: &str, token: u64) -> Command {
    Command::Renew {
        lock: lock.into(),
        owner: owner.into(),
        token,
    }
}

fn release(lock: &str, owner: &str, token: u64) -> Command {
    Command::Release {
        lock: lock.into(),
        owner: owner.into(),
        token,
    }
}

fn token_of(response: Response) -> u64 {
    match response {
        Response::Token(token) => token,
        other => panic!("expected a token, got {other:?}"),
    }
}

/// Checks that, for every lock, the tokens granted on it strictly increase;
/// the first violation as an error.
fn tokens_strictly_increase(grants: &[(String, u64)]) -> Result<(), String> {
    let mut last = std::collections::BTreeMap::new();
    for (i, (lock, token)) in grants.iter().enumerate() {
        if let Some(previous) = last.insert(lock, *token) {
            if *token <= previous {
                return Err(format!(
                    "grant {i}: lock {lock:?} got token {token} after {previous}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn token_check_rejects_a_reused_token() {
    let grants = [
        ("L".to_owned(), 1),
        ("M".to_owned(), 2),
        ("L".to_owned(), 1),
    ];
    assert!(tokens_strictly_increase(&grants).is_err());
    let grants = [
        ("L".to_owned(), 1),
        ("M".to_owned(), 1),
        ("L".to_owned(), 2),
    ];
    assert_eq!(tokens_strictly_increase(&grants), Ok(()));
}

#[derive(Clone, Debug)]
enum LockStep {
    Acquire(usize, usize, u64),
    RenewHeld(usize),
    ReleaseHeld(usize),
    Advance(u64),
    Tick,
}

fn lock_steps() -> impl Strategy<Value = Vec<LockStep>> {
    let step = prop_oneof![
        3 => (0..2usize, 0..2usize, 1u64..5).prop_map(|(l, o, t)| LockStep::Acquire(l, o, t)),
        1 => (0..2usize).prop_map(LockStep::RenewHeld),
        2 => (0..2usize).prop_map(LockStep::ReleaseHeld),
        2 => (1u64..4).prop_map(LockStep::Advance),
        2 => Just(LockStep::Tick),
    ];
    proptest::collection::vec(step, 0..80)
}

proptest! {
    #[test]
    fn fencing_tokens_strictly_increase_per_lock_across_release_and_expiry(
        steps in lock_steps()
    ) {
        const LOCKS: [&str; 2] = ["L", "M"];
        const OWNERS: [&str; 2] = ["p", "q"];
        let mut store = KvStore::new(KvLimits::default());
        let mut now = 0u64;
        let mut grants = Vec::new();
        for step in steps {
            match step {
                LockStep::Acquire(l, o, ttl) => {
                    if let Response::Token(t) = store.apply(now, &acquire(LOCKS[l], OWNERS[o], ttl)) {
                        grants.push((LOCKS[l].to_owned(), t));
                    }
                }
                LockStep::RenewHeld(l) | LockStep::ReleaseHeld(l) => {
                    let Some(lease) = store.leases().get(LOCKS[l]).cloned() else { continue };
                    let command = if matches!(step, LockStep::RenewHeld(_)) {
                        renew(LOCKS[l], &lease.owner, lease.token)
                    } else {
                        release(LOCKS[l], &lease.owner, lease.token)
                    };
                    prop_assert_eq!(store.apply(now, &command), Response::Ok);
                }
                LockStep::Advance(ticks) => now += ticks,
                LockStep::Tick => {
                    for command in store.tick_commands(now) {
                        prop_assert_eq!(store.apply(now, &command), Response::Expired);
                    }
                }
            }
        }
        if let Err(violation) = tokens_strictly_increase(&grants) {
            prop_assert!(false, "{}", violation);
        }
    }
}

#[test]
fn a_token_is_never_reused_after_release_or_expiry() {
    let mut store = KvStore::new(KvLimits::default());
    let first = token_of(store.apply(0, &acquire("L", "p", 3)));
    assert_eq!(store.apply(1, &release("L", "p", first)), Response::Ok);
    let second = token_of(store.apply(1, &acquire("L", "p", 3)));
    assert!(second > first);
    for command in store.tick_commands(4) {
        assert_eq!(store.apply(4, &command), Response::Expired);
    }
    assert!(store.leases().is_empty());
    let third = token_of(store.apply(4, &acquire("L", "q", 3)));
    assert!(third > second);
}

#[test]
fn a_held_lock_answers_held_with_its_holder() {
    let mut store = KvStore::new(KvLimits::default());
    let token = token_of(store.apply(0, &acquire("L", "p", 3)));
    let held = Response::Held {
        owner: "p".into(),
        token,
    };
    assert_eq!(store.apply(1, &acquire("L", "q", 3)), held);
    // The same owner gets no second lease either: an acquire is not re-entrant.
    assert_eq!(store.apply(1, &acquire("L", "p", 3)), held);
}

#[test]
fn a_lease_past_its_deadline_stands_until_its_expiry_is_applied() {
    let mut store = KvStore::new(KvLimits::default());
    let token = token_of(store.apply(0, &acquire("L", "p", 2)));
    // Deadline 2 has passed at tick 10, but no expire is in the log yet.
    assert!(matches!(
        store.apply(10, &acquire("L", "q", 2)),
        Response::Held { .. }
    ));
    // So the holder's renew wins the race, and the expiry proposed for the old
    // deadline no longer applies.
    let stale_expiry = store.tick_commands(10);
    assert_eq!(
        stale_expiry,
        vec![Command::Expire {
            lock: "L".into(),
            token,
            deadline_ticks: 2
        }]
    );
    assert_eq!(store.apply(10, &renew("L", "p", token)), Response::Ok);
    assert_eq!(store.apply(11, &stale_expiry[0]), Response::NotExpired);
    assert_eq!(store.leases()["L"].deadline_ticks, 12);
}

#[test]
fn expiry_is_harmless_early_late_or_twice() {
    let mut store = KvStore::new(KvLimits::default());
    let token = token_of(store.apply(0, &acquire("L", "p", 5)));
    let expire = Command::Expire {
        lock: "L".into(),
        token,
        deadline_ticks: 5,
    };
    assert!(store.tick_commands(4).is_empty());
    // Forged or early: the deadline has not passed.
    assert_eq!(store.apply(4, &expire), Response::NotExpired);
    assert_eq!(store.apply(5, &expire), Response::Expired);
    // Chosen twice.
    assert_eq!(store.apply(6, &expire), Response::NotExpired);
    // Chosen late, after another owner took the lock.
    let next = token_of(store.apply(6, &acquire("L", "q", 1)));
    assert_eq!(store.apply(20, &expire), Response::NotExpired);
    assert_eq!(store.leases()["L"].token, next);
}

#[test]
fn renew_and_release_refuse_the_wrong_owner_or_token() {
    let mut store = KvStore::new(KvLimits::default());
    assert_eq!(store.apply(0, &release("L", "p", 1)), Response::NotHeld);
    let old = token_of(store.apply(0, &acquire("L", "p", 5)));
    assert_eq!(store.apply(1, &release("L", "p", old)), Response::Ok);
    let token = token_of(store.apply(1, &acquire("L", "p", 5)));
    assert_eq!(
        store.apply(2, &renew("L", "q", token)),
        Response::NotOwner { owner: "p".into() }
    );
    assert_eq!(
        store.apply(2, &release("L", "p", old)),
        Response::StaleToken { current: token }
    );
    assert_eq!(store.leases()["L"].token, token);
}

#[test]
fn tick_commands_are_bounded_and_earliest_deadline_first() {
    let limits = KvLimits {
        max_expiries_per_tick: 2,
        ..KvLimits::default()
    };
    let mut store = KvStore::new(limits);
    for (lock, ttl) in [("a", 3), ("b", 1), ("c", 2), ("d", 9)] {
        token_of(store.apply(0, &acquire(lock, "p", ttl)));
    }
    let due: Vec<String> = store
        .tick_commands(5)
        .into_iter()
        .map(|c| match c {
            Command::Expire { lock, .. } => lock,
            other => panic!("not an expiry: {other:?}"),
        })
        .collect();
    assert_eq!(due, ["b", "c"]);
    for command in store.tick_commands(5) {
        store.apply(5, &command);
    }
    // The one left over comes on the next tick.
    assert_eq!(store.tick_commands(5).len(), 1);
}

#[test]
fn lock_limits_are_reported() {
    let limits = KvLimits {
        max_locks: 1,
        max_ttl_ticks: 10,
        ..KvLimits::default()
    };
    let mut store = KvStore::new(limits);
    token_of(store.apply(0, &acquire("L", "p", 10)));
    assert!(matches!(
        store.apply(0, &acquire("M", "p", 1)),
        Response::Rejected(synod::kv::Rejection::TooManyLocks { max: 1 })
    ));
    for ttl in [0, 11] {
        assert!(matches!(
            store.apply(0, &acquire("L", "p", ttl)),
            Response::Rejected(synod::kv::Rejection::TtlOutOfRange { .. })
        ));
    }
}
