//! A small state machine for simulations, tests and benches of the core
//! without the KV store: it appends written values to a log, so agreement on
//! the applied sequence and exactly-once application are easy to check.

use serde::{Deserialize, Serialize};

use crate::paxos::{RestoreError, StateMachine};

/// A command of [`AppendLog`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AppendCommand {
    /// Appends a value.
    Append(u64),
    /// Reads the number of values and the last one (read-only).
    Read,
    /// Reads every value appended, in order (read-only): the swarm's
    /// linearizability check sees each append, and a double apply, in it.
    ReadAll,
    /// Appends a value with a payload (benches size commands with it).
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
}

/// A response of [`AppendLog`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AppendResponse {
    /// The log's length after an append.
    Appended(u64),
    /// The log's length and last value.
    Read {
        /// Values appended so far.
        len: u64,
        /// The last one.
        last: Option<u64>,
    },
    /// Every value appended, in order.
    Values(Vec<u64>),
}

/// The state: every appended value, in order, and the log time of the last.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppendLog {
    /// Values appended, in application order.
    pub values: Vec<u64>,
    /// Number of `Put`s applied (their payload is not kept).
    pub puts: u64,
    /// The `now_ticks` of the last apply (must never decrease).
    pub last_ticks: u64,
    /// Whether some apply saw the log clock go backwards (a core bug).
    pub clock_went_back: bool,
}

impl StateMachine for AppendLog {
    type Command = AppendCommand;
    type Response = AppendResponse;

    fn apply(&mut self, now_ticks: u64, command: &AppendCommand) -> AppendResponse {
        if now_ticks < self.last_ticks {
            self.clock_went_back = true;
        }
        self.last_ticks = now_ticks;
        match command {
            AppendCommand::Append(v) => self.values.push(*v),
            AppendCommand::Put { .. } => self.puts += 1,
            // A read through the log (`ReadMode::Log`) answers at its slot.
            AppendCommand::Read | AppendCommand::ReadAll => {
                return self.query(command).expect("reads have a query answer");
            }
        }
        AppendResponse::Appended(self.values.len() as u64 + self.puts)
    }

    fn query(&self, command: &AppendCommand) -> Option<AppendResponse> {
        match command {
            AppendCommand::Read => Some(AppendResponse::Read {
                len: self.values.len() as u64,
                last: self.values.last().copied(),
            }),
            AppendCommand::ReadAll => Some(AppendResponse::Values(self.values.clone())),
            _ => None,
        }
    }

    fn tick_commands(&self, _now_ticks: u64) -> Vec<AppendCommand> {
        Vec::new()
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("AppendLog serializes")
    }

    fn restore(snapshot: &[u8]) -> Result<Self, RestoreError> {
        serde_json::from_slice(snapshot).map_err(|e| RestoreError(e.to_string()))
    }
}
