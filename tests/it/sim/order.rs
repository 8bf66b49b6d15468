//! `check_append_order`, the exact check of the simulator's histories:
//! known-bad histories it must reject, and a differential test against the
//! general search (`check_appends`) on simulated and mutated histories.

use std::time::Duration;

use synod::sim::{
    check_append_order, check_appends, AppendCommand as C, AppendResponse as R, ClientEvent,
    ClientEventKind as K,
};

type Ev = ClientEvent<C, R>;

fn inv(process: u64, c: C) -> Ev {
    ClientEvent {
        process,
        step: 0,
        kind: K::Invoke(c),
    }
}

fn ok(process: u64, r: R) -> Ev {
    ClientEvent {
        process,
        step: 0,
        kind: K::Ok(r),
    }
}

fn info(process: u64) -> Ev {
    ClientEvent {
        process,
        step: 0,
        kind: K::Info,
    }
}

fn append(p: u64, v: u64) -> [Ev; 2] {
    [inv(p, C::Append(v)), ok(p, R::Appended(v))]
}

fn read(p: u64, vs: &[u64]) -> [Ev; 2] {
    [inv(p, C::ReadAll), ok(p, R::Values(vs.to_vec()))]
}

fn cat(parts: &[&[Ev]]) -> Vec<Ev> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn both(events: &[Ev]) -> (bool, Option<bool>) {
    let exact = check_append_order(events).is_ok();
    (exact, search_verdict(events))
}

/// The general search's verdict: `None` when it did not decide.
pub(super) fn search_verdict(events: &[Ev]) -> Option<bool> {
    match check_appends(events, Duration::from_secs(5)) {
        Ok(valid) => valid.then_some(true),
        Err(e) if e.starts_with("not linearizable") => Some(false),
        Err(e) => panic!("the search could not read the history: {e}"),
    }
}

#[test]
fn sequential_appends_and_reads_pass() {
    let h = cat(&[
        &append(0, 1),
        &read(1, &[1]),
        &append(0, 2),
        &read(1, &[1, 2]),
    ]);
    assert_eq!(both(&h), (true, Some(true)));
}

#[test]
fn stale_read_after_a_completed_append_fails() {
    let h = cat(&[&append(0, 1), &read(1, &[])]);
    let err = check_append_order(&h).unwrap_err();
    assert!(err.contains("not linearizable"), "{err}");
    assert_eq!(both(&h), (false, Some(false)));
}

#[test]
fn value_applied_twice_fails() {
    let h = cat(&[&append(0, 1), &read(1, &[1, 1])]);
    assert!(check_append_order(&h).unwrap_err().contains("twice"));
    assert_eq!(both(&h).1, Some(false));
}

#[test]
fn phantom_value_fails() {
    let h = cat(&[&append(0, 1), &read(1, &[1, 9])]);
    assert!(check_append_order(&h)
        .unwrap_err()
        .contains("never appended"));
}

#[test]
fn reads_that_disagree_on_order_fail() {
    let h = cat(&[
        &append(0, 1),
        &append(1, 2),
        &read(2, &[1, 2]),
        &read(3, &[2, 1]),
    ]);
    assert!(check_append_order(&h).unwrap_err().contains("not a prefix"));
    assert_eq!(both(&h).1, Some(false));
}

#[test]
fn reads_ordering_against_real_time_fail() {
    // 1 completes before 2 is invoked, but the read puts 2 first.
    let h = cat(&[&append(0, 1), &append(0, 2), &read(1, &[2, 1])]);
    assert_eq!(both(&h), (false, Some(false)));
}

#[test]
fn a_read_that_goes_back_fails() {
    let h = cat(&[&append(0, 1), &read(1, &[1]), &read(2, &[])]);
    assert_eq!(both(&h), (false, Some(false)));
}

#[test]
fn an_append_given_up_may_appear_or_not() {
    let gave_up = [inv(0, C::Append(1)), info(0)];
    let seen = cat(&[&gave_up, &read(1, &[1])]);
    let unseen = cat(&[&gave_up, &read(1, &[])]);
    assert_eq!(both(&seen), (true, Some(true)));
    assert_eq!(both(&unseen), (true, Some(true)));
}

#[test]
fn an_answer_of_the_wrong_kind_is_an_error() {
    let h = [inv(0, C::ReadAll), ok(0, R::Appended(3))];
    let err = check_append_order(&h).unwrap_err();
    assert!(err.contains("was answered"), "{err}");
}

/// A tiny deterministic generator for the differential tests.
pub(super) struct Lcg(pub(super) u64);

impl Lcg {
    /// A number below `n`.
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Random small concurrent histories over a log that really is appended
/// in some order, then perhaps mutated (a read dropped of its last value,
/// two values swapped, a value repeated): the exact check and the general
/// search must agree on every one they both decide.
#[test]
fn exact_check_agrees_with_the_search_on_random_histories() {
    let (mut agreed, mut invalid) = (0, 0);
    for seed in 0..3_000u64 {
        let h = random_history(&mut Lcg(seed * 7919 + 1));
        let (exact, search) = both(&h);
        if let Some(search) = search {
            assert_eq!(exact, search, "seed {seed}: {h:?}");
            agreed += 1;
            invalid += u64::from(!exact);
        }
    }
    assert!(agreed > 2_900, "only {agreed} decided by the search");
    assert!(
        invalid > 200 && invalid < agreed - 200,
        "{invalid} invalid of {agreed}"
    );
}

fn random_history(rng: &mut Lcg) -> Vec<Ev> {
    let mut log: Vec<u64> = Vec::new();
    let mut events = Vec::new();
    let mut open: Vec<(u64, C)> = Vec::new();
    let mut next = 1;
    for _ in 0..rng.below(10) + 2 {
        let p = rng.below(3);
        match open.iter().position(|(q, _)| *q == p) {
            Some(i) => {
                let (_, c) = open.remove(i);
                events.push(match c {
                    C::Append(v) if rng.below(5) == 0 => {
                        if rng.below(2) == 0 {
                            log.push(v);
                        }
                        info(p)
                    }
                    C::Append(v) => {
                        log.push(v);
                        ok(p, R::Appended(v))
                    }
                    _ => ok(p, R::Values(mutate(rng, log.clone()))),
                });
            }
            None => {
                let c = if rng.below(2) == 0 {
                    next += 1;
                    C::Append(next - 1)
                } else {
                    C::ReadAll
                };
                events.push(inv(p, c.clone()));
                open.push((p, c));
            }
        }
    }
    events
}

fn mutate(rng: &mut Lcg, mut vs: Vec<u64>) -> Vec<u64> {
    match rng.below(12) {
        0 => {
            vs.pop();
        }
        1 if vs.len() >= 2 => vs.swap(0, 1),
        2 if !vs.is_empty() => vs.push(vs[0]),
        3 => vs.clear(),
        _ => {}
    }
    vs
}
