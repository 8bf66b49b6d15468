//! A brute-force checker: tries every order of the operations that
//! respects real time (and every subset of the pending ones). Exponential,
//! and obviously right: the fast checker is compared with it.

use crate::checker::{Model, Operation, Report, Status};

/// Whether `ops` has a linearization under `model` (one partition).
pub fn linearizable<M: Model>(model: &M, ops: &[Operation]) -> bool {
    let prepared: Vec<(Option<M::Op>, &Operation)> = ops
        .iter()
        .map(|o| (model.prepare(o).expect("op fits the model"), o))
        .collect();
    let mut placed = vec![false; ops.len()];
    dfs(model, &prepared, &mut placed, &model.init())
}

fn dfs<M: Model>(
    model: &M,
    ops: &[(Option<M::Op>, &Operation)],
    placed: &mut [bool],
    state: &M::State,
) -> bool {
    let ok_left = ops
        .iter()
        .zip(placed.iter())
        .any(|((_, o), &p)| !p && o.status == Status::Ok);
    if !ok_left {
        return true;
    }
    for i in 0..ops.len() {
        if placed[i] {
            continue;
        }
        let (prepared, o) = &ops[i];
        // o may go next only if no unplaced ok operation returned before o
        // was called.
        let minimal = ops
            .iter()
            .zip(placed.iter())
            .all(|((_, q), &p)| p || q.status != Status::Ok || q.ret.is_none_or(|r| r > o.call));
        if !minimal {
            continue;
        }
        placed[i] = true;
        let found = match prepared {
            // A left-out operation (pending read) changes nothing.
            None => dfs(model, ops, placed, state),
            Some(op) => match model.step(state, op) {
                Some(next) => dfs(model, ops, placed, &next),
                None => false,
            },
        };
        placed[i] = false;
        if found {
            return true;
        }
    }
    false
}

/// Whether a valid report's linearization is a witness: every ok operation
/// once, each at most once, legal in the model, in an order that respects
/// real time.
pub fn witness_holds<M: Model>(model: &M, ops: &[Operation], report: &Report) -> bool {
    let by_id = |id: u64| ops.iter().find(|o| o.id == id);
    for p in &report.partitions {
        let Some(lin) = p.linearization.as_ref() else {
            return false;
        };
        let mut state = model.init();
        for (k, &id) in lin.iter().enumerate() {
            let Some(o) = by_id(id) else {
                return false;
            };
            match model.prepare(o) {
                Ok(Some(op)) => match model.step(&state, &op) {
                    Some(s) => state = s,
                    None => return false,
                },
                Ok(None) => {}
                Err(_) => return false,
            }
            // No operation placed later may have returned before o began.
            if lin[k + 1..]
                .iter()
                .any(|&later| by_id(later).is_some_and(|l| l.ret.is_some_and(|r| r < o.call)))
            {
                return false;
            }
        }
        let oks = ops.iter().filter(|o| o.status == Status::Ok).count();
        let placed_oks = lin
            .iter()
            .filter(|&&id| by_id(id).is_some_and(|o| o.status == Status::Ok))
            .count();
        let mut sorted = lin.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if oks != placed_oks || sorted.len() != lin.len() {
            return false;
        }
    }
    true
}
