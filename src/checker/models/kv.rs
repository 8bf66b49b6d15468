//! A key-value store, partitioned per key (P-compositionality): each key is
//! a register with get, put, append, cas and delete. Nil is "absent", so
//! `0`, `"0"` and nil are three different states.

use crate::checker::model::{cas_pair, Expect, HVal, Model, NilRead};
use std::collections::HashSet;

use crate::checker::op::{Operation, Status};
use crate::checker::search::SearchOp;
use crate::history::{value, Value};

/// The kv model: every key starts at `init` (nil = absent).
#[derive(Debug, Clone)]
pub struct Kv {
    init: HVal,
    nil: NilRead,
}

impl Kv {
    /// Every key starts at `init`.
    pub fn new(init: Value, nil: NilRead) -> Self {
        Kv {
            init: HVal::new(init),
            nil,
        }
    }
}

/// A kv operation on one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOp {
    /// A get that returned this.
    Get(Expect),
    /// A put of this value.
    Put(HVal),
    /// An append of this value (strings concatenate, lists extend; onto an
    /// absent key it is a put).
    Append(HVal),
    /// A compare-and-set.
    Cas(HVal, HVal),
    /// The key becomes absent.
    Delete,
}

/// `state` with `suffix` appended, or `None` if the two cannot be appended.
fn append(state: &Value, suffix: &Value) -> Option<Value> {
    match (state, suffix) {
        (Value::Null, v) => Some(v.clone()),
        (Value::String(_), Value::String(_)) => {
            // Strings only: keywords and the like do not concatenate.
            let (a, b) = (value::text(state)?, value::text(suffix)?);
            let mut s = String::with_capacity(a.len() + b.len());
            s.push_str(a);
            s.push_str(b);
            Some(value::string(s))
        }
        (Value::Array(a), Value::Array(b)) => {
            Some(Value::Array(a.iter().chain(b.iter()).cloned().collect()))
        }
        (Value::Array(a), v) => {
            let mut a = a.clone();
            a.push(v.clone());
            Some(Value::Array(a))
        }
        _ => None,
    }
}

impl Model for Kv {
    type State = HVal;
    type Op = KvOp;

    fn state_heap_bytes(&self, state: &HVal) -> usize {
        state.heap_bytes()
    }

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> HVal {
        self.init.clone()
    }

    fn prepare(&self, op: &Operation) -> Result<Option<KvOp>, String> {
        if op.key.is_none() {
            return Err(format!(
                "{} without a key: the kv model partitions per key",
                op.f
            ));
        }
        match op.f.as_str() {
            "get" | "read" => Ok(match (&op.status, &op.output) {
                (Status::Ok, Some(v)) => Some(KvOp::Get(Expect::read(v, self.nil))),
                _ => None,
            }),
            "put" | "write" => Ok(Some(KvOp::Put(HVal::new(op.input.clone())))),
            "append" => Ok(Some(KvOp::Append(HVal::new(op.input.clone())))),
            "cas" => {
                let (old, new) = cas_pair(&op.input)?;
                Ok(Some(KvOp::Cas(old, new)))
            }
            "delete" => Ok(Some(KvOp::Delete)),
            f => Err(format!("the kv model has no function {f:?}")),
        }
    }

    fn step(&self, state: &HVal, op: &KvOp) -> Option<HVal> {
        match op {
            KvOp::Get(e) => e.matches(state).then(|| state.clone()),
            KvOp::Put(v) => Some(v.clone()),
            KvOp::Append(v) => append(state.get(), v.get()).map(HVal::new),
            KvOp::Cas(old, new) => (old == state).then(|| new.clone()),
            KvOp::Delete => Some(HVal::new(Value::Null)),
        }
    }

    /// As for the register: a pending put, cas or delete whose resulting
    /// value no get and no cas observes is needless.
    ///
    /// With appends, and when every value is a string (so no append can
    /// fail), a pending put, cas or append of a non-empty string that no
    /// observed string (a get's or a cas's old value) contains is needless:
    /// until the next put, cas or delete every state it leads to contains
    /// that string, so nothing in between observed a state (bar nil reads
    /// matching anything), and after it the states are the same without it.
    fn needless_pending(&self, ops: &[SearchOp<KvOp>]) -> Vec<bool> {
        if ops.iter().any(|o| matches!(o.op, KvOp::Append(_))) {
            let stringy = |v: &HVal| v.get().is_null() || value::text(v.get()).is_some();
            let all_strings = stringy(&self.init)
                && ops.iter().all(|o| match &o.op {
                    KvOp::Put(v) => stringy(v),
                    KvOp::Append(v) => value::text(v.get()).is_some(),
                    KvOp::Cas(a, b) => stringy(a) && stringy(b),
                    KvOp::Get(_) | KvOp::Delete => true,
                });
            if !all_strings {
                return vec![false; ops.len()];
            }
            let observed: Vec<&str> = ops
                .iter()
                .filter_map(|o| match &o.op {
                    KvOp::Get(Expect::Value(v)) | KvOp::Cas(v, _) => value::text(v.get()),
                    _ => None,
                })
                .collect();
            let unobserved = |v: &HVal| {
                value::text(v.get())
                    .is_some_and(|s| !s.is_empty() && observed.iter().all(|o| !o.contains(s)))
            };
            return ops
                .iter()
                .map(|o| {
                    o.ret.is_none()
                        && match &o.op {
                            KvOp::Put(v) | KvOp::Cas(_, v) | KvOp::Append(v) => unobserved(v),
                            KvOp::Get(_) | KvOp::Delete => false,
                        }
                })
                .collect();
        }
        let observed: HashSet<&HVal> = ops
            .iter()
            .filter_map(|o| match &o.op {
                KvOp::Get(Expect::Value(v)) | KvOp::Cas(v, _) => Some(v),
                _ => None,
            })
            .collect();
        let nil = HVal::new(Value::Null);
        ops.iter()
            .map(|o| {
                o.ret.is_none()
                    && match &o.op {
                        KvOp::Put(v) | KvOp::Cas(_, v) => !observed.contains(v),
                        KvOp::Delete => !observed.contains(&nil),
                        KvOp::Get(_) | KvOp::Append(_) => false,
                    }
            })
            .collect()
    }

    fn is_read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    /// Appends only extend a string: a get of the string `v` needs `v` to
    /// extend the current state, or the value of some put or cas among the
    /// operations that may still precede it (a delete makes any string
    /// reachable again). Other values need the state to be `v` now, or a
    /// put or cas of `v`.
    fn satisfiable(&self, state: &HVal, read: &KvOp, before: &[&KvOp]) -> bool {
        let KvOp::Get(Expect::Value(v)) = read else {
            return true;
        };
        let Some(target) = value::text(v.get()) else {
            return v == state
                || before.iter().any(|o| {
                    matches!(o, KvOp::Put(w) | KvOp::Cas(_, w) if w == v)
                        || matches!(o, KvOp::Append(_) | KvOp::Delete)
                });
        };
        let extends = |base: &Value| match base {
            Value::Null => true,
            b => value::text(b).is_some_and(|b| target.starts_with(b)),
        };
        extends(state.get())
            || before.iter().any(|o| match o {
                KvOp::Put(w) | KvOp::Cas(_, w) => extends(w.get()),
                KvOp::Delete => true,
                KvOp::Get(_) | KvOp::Append(_) => false,
            })
    }

    fn describe(&self, state: &HVal) -> Value {
        state.get().clone()
    }
}
