//! The clients' history and its linearizability check.
//!
//! Each client records its invocations and completions ([`ClientEvent`]) in
//! real-time order. For [`AppendLog`] they become a history of one key of
//! the checker's kv model: `Append(v)` is an append of the string `[v]`
//! (values are unique, and the brackets keep `[1]` from being found inside
//! `[11]`), `ReadAll` a get of the concatenation. A value applied twice is
//! then a state no linearization reaches: the double apply is a
//! non-linearizable history. A request given up is indeterminate (Jepsen's
//! `:info`): it may have taken effect once, at any time after its invoke.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::checker::{self, models::Kv, CheckOptions, NilRead, Verdict};
use crate::history::{Event, EventKind, History, Process, Value};

use super::machine::{AppendCommand, AppendResponse};

/// One event of a client's operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientEvent<C, R> {
    /// The client's history process (retired after an indeterminate request).
    pub process: u64,
    /// The simulation step it happened at.
    pub step: u64,
    /// What happened.
    pub kind: ClientEventKind<C, R>,
}

/// What happened to a client's operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEventKind<C, R> {
    /// The client invoked this command.
    Invoke(C),
    /// It was answered `Ok` with this response (definite).
    Ok(R),
    /// It was given up without a definite answer (indeterminate).
    Info,
}

/// The key every operation of the append history is on.
const KEY: &str = "log";

fn token(v: u64) -> String {
    format!("[{v}]")
}

/// The function and value of an invocation; `None` for commands the check
/// leaves out (`Read`, `Put`).
fn invoke_of(command: &AppendCommand) -> Option<(&'static str, Value)> {
    match command {
        AppendCommand::Append(v) => Some(("append", Value::String(token(*v)))),
        AppendCommand::ReadAll => Some(("get", Value::Null)),
        AppendCommand::Read | AppendCommand::Put { .. } => None,
    }
}

fn completion_of(f: &str, input: &Value, response: &AppendResponse) -> Value {
    match response {
        // An empty log is the kv model's absent key, not an empty string:
        // a read of it before any append is linearizable.
        AppendResponse::Values(vs) if vs.is_empty() => Value::Null,
        AppendResponse::Values(vs) => Value::String(vs.iter().map(|v| token(*v)).collect()),
        _ if f == "append" => input.clone(),
        _ => Value::Null,
    }
}

/// The kv history of an [`AppendLog`](super::AppendLog) simulation's events.
pub fn append_history(events: &[ClientEvent<AppendCommand, AppendResponse>]) -> History {
    let mut open: BTreeMap<u64, (&'static str, Value)> = BTreeMap::new();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let (kind, f, value) = match &e.kind {
            ClientEventKind::Invoke(command) => {
                let Some((f, input)) = invoke_of(command) else {
                    continue;
                };
                open.insert(e.process, (f, input.clone()));
                (EventKind::Invoke, f, input)
            }
            ClientEventKind::Ok(response) => {
                let Some((f, input)) = open.remove(&e.process) else {
                    continue;
                };
                (EventKind::Ok, f, completion_of(f, &input, response))
            }
            ClientEventKind::Info => {
                let Some((f, input)) = open.remove(&e.process) else {
                    continue;
                };
                (EventKind::Info, f, input)
            }
        };
        out.push(Event {
            process: Process::Client(e.process as i64),
            kind,
            f: f.to_string(),
            key: Some(Value::String(KEY.to_string())),
            value,
            time: Some(e.step as i64),
            index: None,
            line: out.len() + 1,
        });
    }
    History { events: out }
}

/// The search caches' memory bound for one history check (the process takes
/// up to about 2.5 times this): a soak of long seeds with a generous time
/// limit once let one hard history take the whole machine. Reaching it
/// makes the verdict unknown, counted as undecided, never as valid.
const CHECK_MEMORY_BYTES: usize = 1 << 30;

/// Checks an append history with the kv model: `Ok(true)` linearizable,
/// `Ok(false)` undecided within `time_limit`, `Err` the checker's evidence.
pub fn check_appends(
    events: &[ClientEvent<AppendCommand, AppendResponse>],
    time_limit: Duration,
) -> Result<bool, String> {
    let ops = checker::operations(append_history(events)).map_err(|e| e.to_string())?;
    let options = CheckOptions {
        time_limit: Some(time_limit),
        memory_limit_bytes: Some(CHECK_MEMORY_BYTES),
        ..CheckOptions::default()
    };
    let report = checker::check(&Kv::new(Value::Null, NilRead::Absent), &ops, &options)
        .map_err(|e| e.to_string())?;
    match report.verdict {
        Verdict::Valid => Ok(true),
        Verdict::Unknown => Ok(false),
        Verdict::Invalid => {
            let mut evidence = report.evidence_text();
            if let Some((cut, _)) = evidence.char_indices().nth(1500) {
                evidence.truncate(cut);
                evidence.push_str(" ...");
            }
            Err(format!(
                "not linearizable ({} operations):\n{evidence}",
                ops.len()
            ))
        }
    }
}
