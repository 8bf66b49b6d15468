//! An exact, near-linear linearizability check for the swarm's append log,
//! in the manner of Elle's list-append inference (Kingsbury and Alvaro,
//! VLDB 2020): every `ReadAll` returns the whole log, so the reads alone fix
//! the order of every append they saw, and what is left is to test real
//! time against that order.
//!
//! The argument, for one log with appends (`Ok`, or `Info`: maybe applied)
//! and whole-log reads (`Ok`; a read given up has no effect and is left out):
//! 1. every read returns a prefix of one sequence `S`, the longest read, in
//!    which no value repeats and every value was appended;
//! 2. a linearization then puts `S[i]` at key `2i + 1` and a read of length
//!    `L` at key `2L` (after `S[L-1]`, before `S[L]`); an `Ok` append no read
//!    saw comes after every read (key ∞); an `Info` append no read saw never
//!    took effect and is left out;
//! 3. that order respects real time if and only if no operation `x` that
//!    completed before `y` was invoked has a greater key than `y`. Equal keys
//!    (reads of one length, or unseen appends) are ordered by real time
//!    among themselves, which is always possible: real time between
//!    intervals is a partial order.
//!
//! Any linearization must order `S` so and place each read so, so the
//! history is linearizable exactly when 1 and 3 hold. The check sorts once
//! and sweeps: `O(n log n)`, where the general search
//! ([`check_appends`](super::check_appends)) can take exponential time on a
//! history with many requests given up. A test compares the two verdicts.

use std::collections::HashMap;

use super::history::{ClientEvent, ClientEventKind};
use super::machine::{AppendCommand, AppendResponse};

/// One operation: its invoke and completion (event indexes: the history's
/// real-time order), and what it did.
#[derive(Clone, Debug)]
struct Op {
    invoke: usize,
    /// `None`: given up (indeterminate).
    complete: Option<usize>,
    what: What,
}

#[derive(Clone, Debug)]
enum What {
    Append(u64),
    Read(Vec<u64>),
}

/// The operations of `events` that the check covers: appends (completed or
/// given up) and completed whole-log reads; an error for an answer of the
/// wrong kind (an append answered with values, a read with a length).
fn operations(events: &[ClientEvent<AppendCommand, AppendResponse>]) -> Result<Vec<Op>, String> {
    let mut open: HashMap<u64, (usize, &AppendCommand)> = HashMap::new();
    let mut ops = Vec::new();
    for (t, e) in events.iter().enumerate() {
        match &e.kind {
            ClientEventKind::Invoke(command) => {
                open.insert(e.process, (t, command));
            }
            ClientEventKind::Ok(response) => {
                let Some((invoke, command)) = open.remove(&e.process) else {
                    continue;
                };
                let what = match (command, response) {
                    (AppendCommand::Append(v), AppendResponse::Appended(_)) => What::Append(*v),
                    (AppendCommand::ReadAll, AppendResponse::Values(vs)) => What::Read(vs.clone()),
                    (AppendCommand::Append(_) | AppendCommand::ReadAll, _) => {
                        return Err(format!(
                            "the {command:?} invoked at event {invoke} was answered {response:?} at event {t}"
                        ))
                    }
                    _ => continue,
                };
                ops.push(Op {
                    invoke,
                    complete: Some(t),
                    what,
                });
            }
            ClientEventKind::Info => {
                if let Some((invoke, AppendCommand::Append(v))) = open.remove(&e.process) {
                    ops.push(Op {
                        invoke,
                        complete: None,
                        what: What::Append(*v),
                    });
                }
            }
        }
    }
    // Still open at the end: appends may have taken effect.
    for (invoke, command) in open.into_values() {
        if let AppendCommand::Append(v) = command {
            ops.push(Op {
                invoke,
                complete: None,
                what: What::Append(*v),
            });
        }
    }
    Ok(ops)
}

/// The longest read's values, after checking that every read is a prefix
/// of it, that none repeats a value, and that every value was appended.
fn read_order(ops: &[Op]) -> Result<&[u64], String> {
    let reads = || {
        ops.iter().filter_map(|o| match &o.what {
            What::Read(vs) => Some((o, vs.as_slice())),
            What::Append(_) => None,
        })
    };
    let Some((longest_op, longest)) = reads().max_by_key(|(_, vs)| vs.len()) else {
        return Ok(&[]);
    };
    if let Some((op, vs)) = reads().find(|(_, vs)| !longest.starts_with(vs)) {
        return Err(format!(
            "the read invoked at event {} returned {vs:?}, not a prefix of the read invoked at event {} ({} values)",
            op.invoke, longest_op.invoke, longest.len()
        ));
    }
    let appended: std::collections::HashSet<u64> = ops
        .iter()
        .filter_map(|o| match o.what {
            What::Append(v) => Some(v),
            What::Read(_) => None,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for v in longest {
        if !seen.insert(*v) {
            return Err(format!(
                "value {v} appears twice in the log (applied twice)"
            ));
        }
        if !appended.contains(v) {
            return Err(format!("value {v} was read but never appended"));
        }
    }
    Ok(longest)
}

/// The check's precondition: no two appends of one value (the simulator's
/// clients append unique values). With a repeated value a read cannot tell
/// which append it saw, and keys by value would be wrong both ways (an
/// adversarial review's two histories, `tests/it/sim/review.rs`).
fn unique_appends(ops: &[Op]) -> Result<(), String> {
    let mut first: HashMap<u64, usize> = HashMap::new();
    for o in ops {
        if let What::Append(v) = o.what {
            if let Some(other) = first.insert(v, o.invoke) {
                return Err(format!(
                    "value {v} is appended by the operations invoked at events {other} and {}: \
                     the exact check needs unique values",
                    o.invoke
                ));
            }
        }
    }
    Ok(())
}

/// Each covered operation's key in the linearization (module doc, step 2);
/// `None` for appends left out.
fn keys(ops: &[Op], order: &[u64]) -> Vec<Option<u64>> {
    let position: HashMap<u64, u64> = order
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u64))
        .collect();
    ops.iter()
        .map(|o| match &o.what {
            What::Read(vs) => Some(2 * vs.len() as u64),
            What::Append(v) => match (position.get(v), o.complete) {
                (Some(i), _) => Some(2 * i + 1),
                (None, Some(_)) => Some(u64::MAX),
                (None, None) => None,
            },
        })
        .collect()
}

fn describe(op: &Op) -> String {
    let when = match op.complete {
        Some(c) => format!("events {}..{}", op.invoke, c),
        None => format!("invoked at event {}, never answered", op.invoke),
    };
    match &op.what {
        What::Append(v) => format!("append {v} ({when})"),
        What::Read(vs) => format!("read of {} values ({when})", vs.len()),
    }
}

/// Checks the append history of `events` exactly: `Ok` if it is
/// linearizable, else `Err` with the two operations (or the reads) that no
/// linearization can order. Append values must be unique: a repeated one
/// is an `Err` that says so, not a verdict.
pub fn check_append_order(
    events: &[ClientEvent<AppendCommand, AppendResponse>],
) -> Result<(), String> {
    let ops = operations(events)?;
    unique_appends(&ops)?;
    let order = read_order(&ops)?;
    let keys = keys(&ops, order);
    let mut by_invoke: Vec<usize> = (0..ops.len()).filter(|i| keys[*i].is_some()).collect();
    by_invoke.sort_by_key(|i| ops[*i].invoke);
    let mut by_complete: Vec<(usize, usize)> = by_invoke
        .iter()
        .filter_map(|i| ops[*i].complete.map(|c| (c, *i)))
        .collect();
    by_complete.sort_unstable();
    // Sweep invocations in time order, keeping the greatest key among the
    // operations completed before the current invocation.
    let mut done = 0;
    let mut greatest: Option<(u64, usize)> = None;
    for &y in &by_invoke {
        while done < by_complete.len() && by_complete[done].0 < ops[y].invoke {
            let x = by_complete[done].1;
            let key = keys[x].expect("covered");
            if greatest.is_none_or(|(k, _)| key > k) {
                greatest = Some((key, x));
            }
            done += 1;
        }
        if let Some((key, x)) = greatest {
            if key > keys[y].expect("covered") {
                return Err(format!(
                    "not linearizable: {} completed before {} was invoked, but the reads order it after",
                    describe(&ops[x]),
                    describe(&ops[y])
                ));
            }
        }
    }
    Ok(())
}
