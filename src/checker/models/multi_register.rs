//! Knossos's multi-register: a map of registers, read and written by
//! transactions of micro-ops `[f, key, value]`, `f` being `r`/`read` or
//! `w`/`write`. A transaction happens atomically; keys never written hold
//! their initial value, or nil.

use std::sync::Arc;

use crate::checker::model::{Expect, HVal, Model, NilRead};
use crate::checker::op::{Operation, Status};
use crate::history::{value, Value};

/// The multi-register model.
#[derive(Debug, Clone)]
pub struct MultiRegister {
    init: MultiState,
    nil: NilRead,
}

/// The registers, sorted by key (rendered as JSON text). Shared, since most
/// transactions in a history only read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultiState(Arc<Vec<(String, HVal)>>);

impl MultiState {
    fn get(&self, key: &str) -> Option<&HVal> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.0[i].1)
    }

    fn set(&mut self, key: &str, v: HVal) {
        let map = Arc::make_mut(&mut self.0);
        match map.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => map[i].1 = v,
            Err(i) => map.insert(i, (key.to_string(), v)),
        }
    }
}

/// One micro-op of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Micro {
    /// A read of a key.
    Read(String, Expect),
    /// A write of a key.
    Write(String, HVal),
}

impl MultiRegister {
    /// A multi-register starting at `init`: a map from keys to values, a
    /// list of `[key, value]` pairs (how JSON gives keys that are not
    /// strings), or nil for empty. A map's keys are the keys of the
    /// history's micro-ops as its format reads them: EDN's `{1 0}` has the
    /// integer key 1, JSON's `{"1": 0}` the string key "1".
    pub fn new(init: &Value, nil: NilRead) -> Result<Self, String> {
        let mut state = MultiState(Arc::new(Vec::new()));
        let bad = |v: &Value| {
            format!("the multi-register's --init must be a map or a list of [key, value] pairs, got {v}")
        };
        match init {
            Value::Null => {}
            Value::Object(m) if !m.contains_key(value::SET_KEY) => {
                for (k, v) in m {
                    // Rendered as JSON text like the keys of micro-ops.
                    state.set(&value::key_of(k).to_string(), HVal::new(v.clone()));
                }
            }
            Value::Array(pairs) => {
                for pair in pairs {
                    match pair.as_array().map(Vec::as_slice) {
                        Some([k, v]) => state.set(&k.to_string(), HVal::new(v.clone())),
                        _ => return Err(bad(init)),
                    }
                }
            }
            v => return Err(bad(v)),
        }
        Ok(MultiRegister { init: state, nil })
    }
}

fn micro_ops(v: &Value, nil: NilRead, known: bool) -> Result<Vec<Micro>, String> {
    let Some(list) = v.as_array() else {
        return Err(format!(
            "a txn value must be a list of [f, key, value], got {v}"
        ));
    };
    list.iter()
        .map(|m| match m.as_array().map(|a| a.as_slice()) {
            Some([f, k, v]) => {
                let key = k.to_string();
                match value::name(f) {
                    Some("r" | "read") => Ok(Micro::Read(
                        key,
                        if known {
                            Expect::read(v, nil)
                        } else {
                            Expect::Any
                        },
                    )),
                    Some("w" | "write") => Ok(Micro::Write(key, HVal::new(v.clone()))),
                    _ => Err(format!(
                        "a micro-op's f must be r, w, read or write, got {f}"
                    )),
                }
            }
            _ => Err(format!("a micro-op must be [f, key, value], got {m}")),
        })
        .collect()
}

impl Model for MultiRegister {
    type State = MultiState;

    fn state_heap_bytes(&self, state: &MultiState) -> usize {
        let entry = std::mem::size_of::<(String, HVal)>();
        state
            .0
            .iter()
            .map(|(k, v)| entry + k.capacity() + v.heap_bytes())
            .sum()
    }
    type Op = Vec<Micro>;

    fn name(&self) -> &'static str {
        "multi-register"
    }

    fn init(&self) -> MultiState {
        self.init.clone()
    }

    fn prepare(&self, op: &Operation) -> Result<Option<Vec<Micro>>, String> {
        if op.f != "txn" {
            return Err(format!(
                "the multi-register model has no function {:?}",
                op.f
            ));
        }
        let micros = match (&op.status, &op.output) {
            // The completion carries the values read.
            (Status::Ok, Some(v)) if !v.is_null() => micro_ops(v, self.nil, true)?,
            // Pending: the writes are known, the reads are not.
            _ => micro_ops(&op.input, self.nil, false)?,
        };
        let writes = micros.iter().any(|m| matches!(m, Micro::Write(..)));
        let refutable = micros
            .iter()
            .any(|m| matches!(m, Micro::Read(_, Expect::Value(_))));
        Ok((writes || refutable).then_some(micros))
    }

    fn step(&self, state: &MultiState, op: &Vec<Micro>) -> Option<MultiState> {
        let mut next = state.clone();
        let nil = HVal::new(Value::Null);
        for m in op {
            match m {
                Micro::Read(k, e) => {
                    if !e.matches(next.get(k).unwrap_or(&nil)) {
                        return None;
                    }
                }
                Micro::Write(k, v) => next.set(k, v.clone()),
            }
        }
        Some(next)
    }

    fn is_read_only(&self, op: &Vec<Micro>) -> bool {
        op.iter().all(|m| matches!(m, Micro::Read(..)))
    }

    fn describe(&self, state: &MultiState) -> Value {
        Value::Object(
            state
                .0
                .iter()
                .map(|(k, v)| {
                    let key = match serde_json::from_str::<Value>(k) {
                        Ok(Value::String(s)) => s,
                        Ok(other) => value::map_key(other),
                        Err(_) => k.clone(),
                    };
                    (key, v.get().clone())
                })
                .collect(),
        )
    }
}
