//! Linearizability checking of any system's histories.
//!
//! A history (from [`crate::history`]) is paired into [`Operation`]s
//! ([`operations`]), split into partitions by key (P-compositionality,
//! Herlihy & Wing: a history is linearizable iff each object's
//! sub-history is), and each partition is searched on its own, in parallel,
//! by Wing & Gong's algorithm with Lowe's memoization ([`search`]).
//! The verdict comes with evidence ([`Report`]): a linearization for a
//! valid history, the longest linearizable prefix, the operation that
//! cannot follow it and the states possible before it for an invalid one.
//! A limit reached gives [`Verdict::Unknown`], never valid.
//!
//! The checker knows nothing of synod: a [`Model`] is a handful of pure
//! functions, and the built-in ones ([`models`]) are Jepsen's and Knossos's
//! register, cas-register, multi-register and mutex, a kv store, and synod's
//! fencing-token lock.

pub mod cli;
mod hash;
pub mod html;
mod kind;
mod model;
pub mod models;
mod op;
mod report;
pub mod search;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::history::{History, Value};

pub use kind::ModelKind;
pub use model::{Expect, HVal, Model, NilRead};
pub use op::{operations, Operation, PairError, Status};
pub use report::{Failure, PartitionReport, Report, Verdict};
pub use search::{Budget, Exhausted, Outcome, SearchOp, Stats, Tuning};

/// How to check.
#[derive(Default)]
pub struct CheckOptions<'a> {
    /// Give up (unknown) after this long.
    pub time_limit: Option<Duration>,
    /// Give up (unknown) when the search caches hold more than this.
    pub memory_limit_bytes: Option<usize>,
    /// The search's optimizations.
    pub tuning: Tuning,
    /// Called once per partition decided (for a progress bar), with the
    /// number of partitions.
    pub progress: Option<&'a (dyn Fn(usize) + Sync)>,
    /// Record the state after each operation of each linearization (or
    /// failing prefix) in [`PartitionReport::states_after`], for the HTML
    /// timeline.
    pub record_states: bool,
}

/// Why a history cannot be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The events do not pair into operations.
    #[error(transparent)]
    Pairing(#[from] PairError),
    /// An operation does not fit the model.
    #[error("line {line}: {message}")]
    Model {
        /// 1-based input line of the operation's invoke.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The model's parameters are wrong (`--init`).
    #[error("{0}")]
    Parameters(String),
}

/// One partition before its search.
struct Part<'a, O> {
    /// Its key.
    key: Option<&'a Value>,
    /// Its operations, left-out pending reads included.
    count: usize,
    /// For each search operation, the index of its operation in `ops`.
    map: Vec<usize>,
    /// The operations to search.
    sops: Vec<SearchOp<O>>,
}

/// Checks operations against a model.
pub fn check<M: Model>(
    model: &M,
    ops: &[Operation],
    opts: &CheckOptions,
) -> Result<Report, CheckError> {
    // Translate every operation, in parallel and in memory order (partition
    // order would jump around a million operations, missing the cache).
    let prepared: Vec<Option<M::Op>> = ops
        .par_iter()
        .map(|op| {
            model.prepare(op).map_err(|message| CheckError::Model {
                line: op.line,
                message,
            })
        })
        .collect::<Result<_, _>>()?;
    // Partitions in order of first appearance.
    let mut index_of: HashMap<Option<&Value>, usize> = HashMap::new();
    let mut parts: Vec<Part<'_, M::Op>> = Vec::new();
    for ((i, op), prep) in ops.iter().enumerate().zip(prepared) {
        let key = model.partition(op);
        let slot = *index_of.entry(key).or_insert_with(|| {
            parts.push(Part {
                key,
                count: 0,
                map: Vec::new(),
                sops: Vec::new(),
            });
            parts.len() - 1
        });
        let part = &mut parts[slot];
        part.count += 1;
        // Pending reads are left out of the search.
        if let Some(p) = prep {
            part.map.push(i);
            part.sops.push(SearchOp {
                op: p,
                call: op.call,
                ret: op.ret,
            });
        }
    }
    drop(index_of);
    let budget = Budget {
        deadline: opts.time_limit.map(|t| Instant::now() + t),
        memory_bytes: opts.memory_limit_bytes,
        ..Budget::default()
    };
    let total = parts.len();
    let partitions: Vec<PartitionReport> = parts
        .into_par_iter()
        .map(|part| -> Result<PartitionReport, CheckError> {
            let Part {
                key,
                count,
                mut map,
                mut sops,
            } = part;
            if opts.tuning.prune_needless_pending {
                let needless = model.needless_pending(&sops);
                if needless.iter().any(|&n| n) {
                    let mut k = 0;
                    map.retain(|_| {
                        k += 1;
                        !needless[k - 1]
                    });
                    let mut k = 0;
                    sops.retain(|_| {
                        k += 1;
                        !needless[k - 1]
                    });
                }
            }
            let (outcome, stats) = search::search(model, &sops, &budget, opts.tuning);
            if let Some(p) = opts.progress {
                p(total);
            }
            let id = |k: usize| ops[map[k]].id;
            let mut report = PartitionReport {
                key: key.cloned(),
                ops: count,
                verdict: Verdict::Valid,
                linearization: None,
                failure: None,
                reason: None,
                stats,
                states_after: Vec::new(),
            };
            if opts.record_states {
                let order = match &outcome {
                    Outcome::Valid(lin) => lin.as_slice(),
                    Outcome::Invalid { prefix, .. } => prefix.as_slice(),
                    Outcome::Unknown(_) => &[],
                };
                let mut state = model.init();
                for &k in order {
                    if let Some(next) = model.step(&state, &sops[k].op) {
                        state = next;
                    }
                    report.states_after.push(model.describe(&state));
                }
            }
            match outcome {
                Outcome::Valid(lin) => {
                    report.linearization = Some(lin.into_iter().map(id).collect())
                }
                Outcome::Invalid { prefix, op, states } => {
                    report.verdict = Verdict::Invalid;
                    report.failure = Some(Failure {
                        prefix: prefix.into_iter().map(id).collect(),
                        op: id(op),
                        line: ops[map[op]].line,
                        states: states.iter().map(|s| model.describe(s)).collect(),
                    });
                }
                Outcome::Unknown(r) => {
                    report.verdict = Verdict::Unknown;
                    report.reason = Some(r);
                }
            }
            Ok(report)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let verdict = if partitions.iter().any(|p| p.verdict == Verdict::Invalid) {
        Verdict::Invalid
    } else if partitions.iter().any(|p| p.verdict == Verdict::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    Ok(Report {
        model: model.name().to_string(),
        verdict,
        ops: ops.len(),
        partitions,
    })
}

/// Checks a history with a built-in model (`None`: inferred from the
/// functions present). `init` is the model's initial value (nil if `None`).
pub fn check_history(
    history: History,
    kind: Option<ModelKind>,
    init: Option<&Value>,
    nil: NilRead,
    opts: &CheckOptions,
) -> Result<(Vec<Operation>, Report), CheckError> {
    let ops = operations(history)?;
    let kind = match kind {
        Some(k) => k,
        None => ModelKind::infer(&ops).map_err(CheckError::Parameters)?,
    };
    if init.is_some_and(|v| !v.is_null()) && !kind.takes_init() {
        return Err(CheckError::Parameters(format!(
            "the {} model takes no --init",
            kind.name()
        )));
    }
    let init = init.cloned().unwrap_or(Value::Null);
    let report = match kind {
        ModelKind::Register => check(&models::Register::new(init, nil, false), &ops, opts),
        ModelKind::CasRegister => check(&models::Register::new(init, nil, true), &ops, opts),
        ModelKind::Kv => check(&models::Kv::new(init, nil), &ops, opts),
        ModelKind::MultiRegister => check(
            &models::MultiRegister::new(&init, nil).map_err(CheckError::Parameters)?,
            &ops,
            opts,
        ),
        ModelKind::Mutex => check(&models::Mutex, &ops, opts),
        ModelKind::Lock => check(&models::Lock, &ops, opts),
    }?;
    Ok((ops, report))
}
