//! Pairing events into operations (DESIGN.md, "Histories").
//!
//! An operation is an invoke and the next completion of the same process.
//! `ok` took effect; `fail` did not, so the operation is dropped; `info`, or
//! no completion at all, leaves it pending: it may take effect at any point
//! after its invoke, or never. Nemesis events are not operations.

use std::collections::HashMap;

use crate::history::{Event, EventKind, History, Process, Value};

/// Whether an operation is known to have taken effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Completed with `ok`: it took effect between its invoke and completion.
    Ok,
    /// Completed with `info`, or never completed: it may have taken effect at
    /// any point after its invoke, or never.
    Pending,
}

/// One client operation of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Its id: the 0-based position of its invoke among all events, or the
    /// invoke's `index` when every event has one.
    pub id: u64,
    /// The client process.
    pub process: Process,
    /// The function (`read`, `write`, `cas`, `get`, ...).
    pub f: String,
    /// The partition key (`key` field or independent tuple), if any.
    pub key: Option<Value>,
    /// The invoke's value (what a write writes, a cas's `[old, new]`, ...).
    pub input: Value,
    /// The `ok` completion's value (what a read read); `None` when pending.
    pub output: Option<Value>,
    /// ok or pending.
    pub status: Status,
    /// 0-based position of the invoke among all events (real-time order).
    pub call: usize,
    /// Position of the `ok` completion; `None` when pending.
    pub ret: Option<usize>,
    /// 1-based input line of the invoke, for messages.
    pub line: usize,
}

/// A history that cannot be paired into operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    /// A completion whose process has no outstanding invoke.
    #[error("line {line}: {kind} by process {process} without a preceding invoke")]
    CompletionWithoutInvoke {
        /// 1-based input line.
        line: usize,
        /// The completion's type.
        kind: String,
        /// The process, rendered.
        process: String,
    },
    /// A process invoked again before its previous operation completed.
    #[error("line {line}: process {process} invokes again while its invoke on line {previous_line} has not completed")]
    DoubleInvoke {
        /// 1-based input line of the second invoke.
        line: usize,
        /// 1-based input line of the outstanding invoke.
        previous_line: usize,
        /// The process, rendered.
        process: String,
    },
    /// A completion whose function differs from its invoke's.
    #[error("line {line}: completion of {got:?} by process {process} pairs with an invoke of {expected:?} (line {invoke_line})")]
    FunctionMismatch {
        /// 1-based input line of the completion.
        line: usize,
        /// 1-based input line of the invoke.
        invoke_line: usize,
        /// The process, rendered.
        process: String,
        /// The invoke's function.
        expected: String,
        /// The completion's function.
        got: String,
    },
}

fn render(p: &Process) -> String {
    match p {
        Process::Client(n) => n.to_string(),
        Process::Nemesis => "nemesis".to_string(),
        Process::Named(s) => s.clone(),
    }
}

/// Pairs the events of `history` into operations, in invoke order. Failed
/// operations are dropped; nemesis events are skipped. The history is
/// consumed: its values move into the operations rather than being copied
/// (a million-operation history holds hundreds of megabytes of values).
pub fn operations(history: History) -> Result<Vec<Operation>, PairError> {
    let events = history.events;
    let use_index = !events.is_empty() && events.iter().all(|e| e.index.is_some());
    // Outstanding invoke per process: its slot in `ops`.
    let mut open: HashMap<Process, usize> = HashMap::new();
    let mut ops: Vec<Option<Operation>> = Vec::new();
    for (pos, e) in events.into_iter().enumerate() {
        if e.process == Process::Nemesis {
            continue;
        }
        match e.kind {
            EventKind::Invoke => {
                if let Some(&prev) = open.get(&e.process) {
                    let previous_line = ops[prev].as_ref().map_or(0, |o| o.line);
                    return Err(PairError::DoubleInvoke {
                        line: e.line,
                        previous_line,
                        process: render(&e.process),
                    });
                }
                open.insert(e.process.clone(), ops.len());
                ops.push(Some(pending(e, pos, use_index)));
            }
            kind => {
                let Some(slot) = open.remove(&e.process) else {
                    return Err(PairError::CompletionWithoutInvoke {
                        line: e.line,
                        kind: format!("{kind:?}").to_lowercase(),
                        process: render(&e.process),
                    });
                };
                let Some(op) = ops[slot].as_mut() else {
                    continue;
                };
                if op.f != e.f {
                    return Err(PairError::FunctionMismatch {
                        line: e.line,
                        invoke_line: op.line,
                        process: render(&e.process),
                        expected: op.f.clone(),
                        got: e.f,
                    });
                }
                match kind {
                    EventKind::Ok => {
                        op.status = Status::Ok;
                        op.ret = Some(pos);
                        if op.key.is_none() {
                            op.key = e.key;
                        }
                        op.output = Some(e.value);
                    }
                    EventKind::Fail => ops[slot] = None,
                    // info: stays pending, it may or may not have happened.
                    _ => {}
                }
            }
        }
    }
    Ok(ops.into_iter().flatten().collect())
}

fn pending(e: Event, pos: usize, use_index: bool) -> Operation {
    Operation {
        id: if use_index {
            e.index.unwrap_or(pos as u64)
        } else {
            pos as u64
        },
        process: e.process,
        f: e.f,
        key: e.key,
        input: e.value,
        output: None,
        status: Status::Pending,
        call: pos,
        ret: None,
        line: e.line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(p: i64, kind: EventKind, f: &str, v: Value, line: usize) -> Event {
        Event {
            process: Process::Client(p),
            kind,
            f: f.into(),
            key: None,
            value: v,
            time: None,
            index: None,
            line,
        }
    }

    #[test]
    fn fail_is_dropped_info_is_pending_and_ids_are_invoke_positions() {
        let h = History {
            events: vec![
                ev(0, EventKind::Invoke, "write", json!(1), 1),
                ev(1, EventKind::Invoke, "write", json!(2), 2),
                ev(0, EventKind::Ok, "write", json!(1), 3),
                ev(1, EventKind::Fail, "write", json!(2), 4),
                ev(2, EventKind::Invoke, "read", Value::Null, 5),
                ev(2, EventKind::Info, "read", Value::Null, 6),
                ev(3, EventKind::Invoke, "read", Value::Null, 7),
                ev(3, EventKind::Ok, "read", json!(1), 8),
            ],
        };
        let ops = operations(h).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(
            (ops[0].id, ops[0].status, ops[0].ret),
            (0, Status::Ok, Some(2))
        );
        assert_eq!(
            (ops[1].id, ops[1].status, ops[1].ret),
            (4, Status::Pending, None)
        );
        assert_eq!((ops[2].id, ops[2].output.clone()), (6, Some(json!(1))));
    }

    #[test]
    fn completion_without_invoke_names_its_line() {
        let h = History {
            events: vec![ev(0, EventKind::Ok, "write", json!(1), 7)],
        };
        let err = operations(h).unwrap_err();
        assert!(matches!(
            err,
            PairError::CompletionWithoutInvoke { line: 7, .. }
        ));
        assert!(err.to_string().contains("line 7"));
    }

    #[test]
    fn two_invokes_in_a_row_by_one_process_is_an_error() {
        let h = History {
            events: vec![
                ev(0, EventKind::Invoke, "write", json!(1), 1),
                ev(0, EventKind::Invoke, "write", json!(2), 2),
            ],
        };
        assert!(matches!(
            operations(h).unwrap_err(),
            PairError::DoubleInvoke {
                line: 2,
                previous_line: 1,
                ..
            }
        ));
    }
}
