//! Verdicts and their evidence, as text and JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::search::{Exhausted, Stats};
use crate::history::Value;

/// The verdict on a history or a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Linearizable.
    Valid,
    /// Not linearizable.
    Invalid,
    /// Undecided: a limit was reached.
    Unknown,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Unknown => "unknown",
        })
    }
}

/// Why a partition is not linearizable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The longest linearizable prefix found: operation ids in order.
    pub prefix: Vec<u64>,
    /// The id of the operation that cannot be linearized after it.
    pub op: u64,
    /// Its input line.
    pub line: usize,
    /// The model states possible after the prefix (just before the op).
    pub states: Vec<Value>,
}

/// The result of one partition (one key, or the whole history).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionReport {
    /// The partition's key; `None` for an unpartitioned history.
    pub key: Option<Value>,
    /// Its operations (ok and pending).
    pub ops: usize,
    /// Its verdict.
    pub verdict: Verdict,
    /// For a valid partition: a linearization, operation ids in order
    /// (pending operations only where they were linearized).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linearization: Option<Vec<u64>>,
    /// For an invalid partition: the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// For an unknown partition: the limit reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Exhausted>,
    /// Search counters.
    pub stats: Stats,
    /// With [`super::CheckOptions::record_states`]: the state after each
    /// operation of the linearization, or of the failure's prefix.
    #[serde(skip)]
    pub states_after: Vec<Value>,
}

/// The result of checking one history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// The overall verdict: invalid if any partition is, else unknown if
    /// any is, else valid.
    pub verdict: Verdict,
    /// Client operations checked (ok and pending; failed ones are dropped).
    pub ops: usize,
    /// One entry per partition, in order of first appearance.
    pub partitions: Vec<PartitionReport>,
}

impl Report {
    /// The evidence as indented text lines (failures and unknown partitions;
    /// a valid partition needs none beyond `--json`'s linearization).
    pub fn evidence_text(&self) -> String {
        let mut out = String::new();
        for p in &self.partitions {
            let key = p
                .key
                .as_ref()
                .map(|k| format!("key {}", crate::history::value::display(k)))
                .unwrap_or_else(|| "history".to_string());
            if let Some(f) = &p.failure {
                let _ = writeln!(
                    out,
                    "  {key}: invalid: operation {} (line {}) cannot be linearized after {} operations",
                    f.op,
                    f.line,
                    f.prefix.len()
                );
                let shown: Vec<String> = f
                    .prefix
                    .iter()
                    .rev()
                    .take(20)
                    .rev()
                    .map(u64::to_string)
                    .collect();
                let ellipsis = if f.prefix.len() > 20 { "... " } else { "" };
                let _ = writeln!(
                    out,
                    "    longest linearizable prefix: [{ellipsis}{}]",
                    shown.join(" ")
                );
                let states: Vec<String> = f
                    .states
                    .iter()
                    .take(10)
                    .map(crate::history::value::display)
                    .collect();
                let more = if f.states.len() > 10 {
                    format!(" and {} more", f.states.len() - 10)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "    possible states just before it: {}{more}",
                    states.join(", ")
                );
            }
            if let Some(r) = p.reason {
                let _ = writeln!(out, "  {key}: unknown: {r}");
            }
        }
        out
    }
}
