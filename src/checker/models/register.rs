//! The register and the cas-register (Knossos's semantics): one value; a
//! read sees it, a write replaces it, a cas `[old, new]` replaces `old` by
//! `new` and cannot happen in any other state (a failed cas returns `fail`,
//! and is dropped).

use crate::checker::model::{cas_pair, Expect, HVal, Model, NilRead};
use std::collections::HashSet;

use crate::checker::op::{Operation, Status};
use crate::checker::search::SearchOp;
use crate::history::Value;

/// A register (read, write), or with `cas` a cas-register (read, write, cas).
#[derive(Debug, Clone)]
pub struct Register {
    init: HVal,
    nil: NilRead,
    cas: bool,
}

impl Register {
    /// A register starting at `init`; `cas` enables the cas operation.
    pub fn new(init: Value, nil: NilRead, cas: bool) -> Self {
        Register {
            init: HVal::new(init),
            nil,
            cas,
        }
    }
}

/// The values a read or a cas of these operations can observe.
fn observed_values<'a>(ops: impl Iterator<Item = &'a RegisterOp>) -> HashSet<&'a HVal> {
    ops.filter_map(|o| match o {
        RegisterOp::Read(Expect::Value(v)) | RegisterOp::Cas(v, _) => Some(v),
        _ => None,
    })
    .collect()
}

/// A register operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    /// A read that returned (or matches) this.
    Read(Expect),
    /// A write of this value.
    Write(HVal),
    /// A compare-and-set from the first value to the second.
    Cas(HVal, HVal),
}

impl Model for Register {
    type State = HVal;
    type Op = RegisterOp;

    fn state_heap_bytes(&self, state: &HVal) -> usize {
        state.heap_bytes()
    }

    fn name(&self) -> &'static str {
        if self.cas {
            "cas-register"
        } else {
            "register"
        }
    }

    fn init(&self) -> HVal {
        self.init.clone()
    }

    fn prepare(&self, op: &Operation) -> Result<Option<RegisterOp>, String> {
        match op.f.as_str() {
            "read" => Ok(match (&op.status, &op.output) {
                (Status::Ok, Some(v)) => Some(RegisterOp::Read(Expect::read(v, self.nil))),
                // A pending read changes nothing and can match anything.
                _ => None,
            }),
            "write" => Ok(Some(RegisterOp::Write(HVal::new(op.input.clone())))),
            "cas" if self.cas => {
                let (old, new) = cas_pair(&op.input)?;
                Ok(Some(RegisterOp::Cas(old, new)))
            }
            "cas" => Err("the register model has no cas; use --model cas-register".into()),
            f => Err(format!("the {} model has no function {f:?}", self.name())),
        }
    }

    fn step(&self, state: &HVal, op: &RegisterOp) -> Option<HVal> {
        match op {
            RegisterOp::Read(e) => e.matches(state).then(|| state.clone()),
            RegisterOp::Write(v) => Some(v.clone()),
            RegisterOp::Cas(old, new) => (old == state).then(|| new.clone()),
        }
    }

    /// A pending write, or cas, whose new value no read and no cas observes
    /// is needless: in a linearization using it, the operations up to the
    /// next write saw that value, so they are writes or reads matching any
    /// state, and they stay valid without it.
    fn needless_pending(&self, ops: &[SearchOp<RegisterOp>]) -> Vec<bool> {
        let observed = observed_values(ops.iter().map(|o| &o.op));
        ops.iter()
            .map(|o| {
                o.ret.is_none()
                    && match &o.op {
                        RegisterOp::Write(v) | RegisterOp::Cas(_, v) => !observed.contains(v),
                        RegisterOp::Read(_) => false,
                    }
            })
            .collect()
    }

    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    /// A read of `v` needs the state to be `v` now, or a write (or cas) of
    /// `v` among the operations that may still precede it.
    fn satisfiable(&self, state: &HVal, read: &RegisterOp, before: &[&RegisterOp]) -> bool {
        let RegisterOp::Read(Expect::Value(v)) = read else {
            return true;
        };
        v == state
            || before
                .iter()
                .any(|o| matches!(o, RegisterOp::Write(w) | RegisterOp::Cas(_, w) if w == v))
    }

    fn describe(&self, state: &HVal) -> Value {
        state.get().clone()
    }
}
