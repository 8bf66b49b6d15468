//! Adversarial review of `check_append_order` (and its agreement with the
//! general search). The findings' test says how they were fixed; the rest
//! pin tricky cases that held.

use synod::sim::{
    check_append_order, AppendCommand as C, AppendResponse as R, ClientEvent, ClientEventKind as K,
};

use super::order::{search_verdict as search, Lcg};

type Ev = ClientEvent<C, R>;

fn ev(process: u64, kind: K<C, R>) -> Ev {
    ClientEvent {
        process,
        step: 0,
        kind,
    }
}
fn inv_a(p: u64, v: u64) -> Ev {
    ev(p, K::Invoke(C::Append(v)))
}
fn inv_r(p: u64) -> Ev {
    ev(p, K::Invoke(C::ReadAll))
}
fn ok_a(p: u64, n: u64) -> Ev {
    ev(p, K::Ok(R::Appended(n)))
}
fn ok_r(p: u64, vs: &[u64]) -> Ev {
    ev(p, K::Ok(R::Values(vs.to_vec())))
}
fn info(p: u64) -> Ev {
    ev(p, K::Info)
}

fn exact(h: &[Ev]) -> bool {
    check_append_order(h).is_ok()
}

/// FINDINGS 1 and 2 of the review (fixed by refusing repeated values):
/// p0: Append(1) ok; p1: Append(1) ok; then p2: ReadAll. Read `[1]` is not
/// linearizable (both appends completed first: the log is `[1, 1]`), yet
/// keys by value accepted it; read `[1, 1]` is, yet it was called a double
/// apply. Append values must be unique, and a repeated one is now an error
/// naming both appends, never a verdict.
#[test]
fn repeated_append_values_are_refused_not_judged() {
    for (read, linearizable) in [(&[1][..], false), (&[1, 1][..], true)] {
        let h = [
            inv_a(0, 1),
            ok_a(0, 1),
            inv_a(1, 1),
            ok_a(1, 2),
            inv_r(2),
            ok_r(2, read),
        ];
        assert_eq!(search(&h), Some(linearizable));
        let err = check_append_order(&h).unwrap_err();
        assert!(err.contains("needs unique values"), "{err}");
    }
}

// ---- Cases that held (unique values). ----

/// An Ok append no read saw, completed before a read was invoked: must fail.
#[test]
fn unseen_ok_append_before_a_read_fails() {
    let h = [inv_a(0, 1), ok_a(0, 1), inv_r(1), ok_r(1, &[])];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
    // ... even when another read saw something else.
    let h = [
        inv_a(3, 2),
        ok_a(3, 1),
        inv_a(0, 1),
        ok_a(0, 2),
        inv_r(1),
        ok_r(1, &[2]),
    ];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
}

/// An unseen Ok append completed before a *seen* Info append was invoked:
/// the read that saw the Info append must also have seen it.
#[test]
fn unseen_ok_append_before_a_seen_info_append_fails() {
    let h = [
        inv_a(0, 1),
        ok_a(0, 1),
        inv_a(1, 2),
        info(1),
        inv_r(2),
        ok_r(2, &[2]),
    ];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
}

/// An Info append seen by a read that completed before the append was
/// invoked: fails. Seen by a read concurrent with or after it: passes.
#[test]
fn info_append_seen_before_its_invoke_fails() {
    let bad = [inv_r(1), ok_r(1, &[1]), inv_a(0, 1), info(0)];
    assert!(!exact(&bad));
    assert_eq!(search(&bad), Some(false));
    let good = [inv_r(1), inv_a(0, 1), ok_r(1, &[1]), info(0)];
    assert!(exact(&good));
    assert_eq!(search(&good), Some(true));
}

/// A read returning a value whose Ok append was invoked after the read
/// completed: fails.
#[test]
fn read_from_the_future_fails() {
    let h = [inv_r(1), ok_r(1, &[1]), inv_a(0, 1), ok_a(0, 1)];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
}

/// An append never answered (open at the end) may appear, and may appear
/// after reads that did not see it; and one no read saw is left out.
#[test]
fn open_append_may_or_may_not_apply() {
    let h = [inv_a(0, 1), inv_r(1), ok_r(1, &[]), inv_r(2), ok_r(2, &[1])];
    assert!(exact(&h));
    assert_eq!(search(&h), Some(true));
    let h = [inv_a(0, 1), inv_r(1), ok_r(1, &[])];
    assert!(exact(&h));
    assert_eq!(search(&h), Some(true));
    // But seen then unseen: the read going back fails.
    let h = [inv_a(0, 1), inv_r(1), ok_r(1, &[1]), inv_r(2), ok_r(2, &[])];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
}

/// Equal keys: reads of one length, concurrent appends no read saw, all
/// ordered by real time among themselves.
#[test]
fn equal_keys_order_by_real_time() {
    // Two reads of length 1, sequential; two unseen Ok appends sequential
    // after both reads were invoked.
    let h = [
        inv_a(0, 1),
        ok_a(0, 1),
        inv_r(1),
        ok_r(1, &[1]),
        inv_r(2),
        inv_a(3, 2),
        ok_r(2, &[1]),
        ok_a(3, 2),
        inv_a(3, 3),
        ok_a(3, 3),
    ];
    assert!(exact(&h));
    assert_eq!(search(&h), Some(true));
}

/// An Ok append that a later read (invoked after it completed) does not
/// contain, while the read saw a later value: fails.
#[test]
fn ok_append_missing_from_a_later_read_fails() {
    let h = [
        inv_a(0, 1),
        ok_a(0, 1),
        inv_a(0, 2),
        ok_a(0, 2),
        inv_r(1),
        ok_r(1, &[2]),
    ];
    assert!(!exact(&h));
    assert_eq!(search(&h), Some(false));
}

/// A process id reused after an Info (the simulator retires it, but the
/// check must not mix the two operations up): the given-up append may
/// still land after the reuse's read.
#[test]
fn process_reused_after_info() {
    let h = [
        inv_a(0, 1),
        info(0),
        inv_r(0),
        ok_r(0, &[]),
        inv_r(1),
        ok_r(1, &[1]),
    ];
    assert!(exact(&h));
    let s = search(&h);
    assert!(s != Some(false), "the search rejected: {s:?}");
}

/// A read given up is ignored whatever it would have said; an answer for a
/// process with nothing open is ignored.
#[test]
fn given_up_reads_and_stray_answers_are_ignored() {
    let h = [
        inv_a(0, 1),
        ok_a(0, 1),
        inv_r(1),
        info(1),
        ok_r(2, &[7]),
        inv_r(3),
        ok_r(3, &[1]),
    ];
    assert!(exact(&h));
    assert_eq!(search(&h), Some(true));
}

/// Note (not a finding against the claim, which says `Appended(_)`): the
/// length an append is answered with is not checked. Two sequential appends
/// both answered `Appended(1)` pass, though `AppendLog` would answer the
/// second `Appended(2)`.
#[test]
fn appended_lengths_are_not_checked() {
    let h = [
        inv_a(0, 1),
        ok_a(0, 1),
        inv_a(0, 2),
        ok_a(0, 1),
        inv_r(1),
        ok_r(1, &[1, 2]),
    ];
    assert!(exact(&h));
    assert_eq!(search(&h), Some(true));
}

/// A wider differential than `order.rs`'s: four processes, reads given up,
/// operations left open at the end, a process reused after giving up,
/// reads answered with a stale prefix or a value from the future. Unique
/// append values throughout.
#[test]
fn wider_differential_with_open_ops_and_reuse() {
    let mut decided = 0;
    for seed in 0..1_500u64 {
        let rng = &mut Lcg(seed * 104_729 + 3);
        let mut log: Vec<u64> = Vec::new();
        let mut h = Vec::new();
        let mut open: Vec<(u64, C)> = Vec::new();
        let mut next = 1;
        for _ in 0..rng.below(12) + 2 {
            let p = rng.below(4);
            if let Some(i) = open.iter().position(|(q, _)| *q == p) {
                let (_, c) = open.remove(i);
                h.push(match c {
                    C::Append(v) if rng.below(4) == 0 => {
                        if rng.below(2) == 0 {
                            log.push(v);
                        }
                        info(p)
                    }
                    C::Append(v) => {
                        log.push(v);
                        ok_a(p, log.len() as u64)
                    }
                    _ if rng.below(6) == 0 => info(p),
                    _ => {
                        let mut vs = log.clone();
                        match rng.below(10) {
                            0 if !vs.is_empty() => {
                                vs.truncate(rng.below(vs.len() as u64) as usize);
                            }
                            1 => vs.push(next + 1),
                            _ => {}
                        }
                        ok_r(p, &vs)
                    }
                });
            } else {
                let c = if rng.below(2) == 0 {
                    next += 1;
                    C::Append(next - 1)
                } else {
                    C::ReadAll
                };
                h.push(ev(p, K::Invoke(c.clone())));
                open.push((p, c));
            }
        }
        if let Some(s) = search(&h) {
            decided += 1;
            assert_eq!(exact(&h), s, "seed {seed}: {h:?}");
        }
    }
    assert!(decided > 1_400, "{decided}");
}
