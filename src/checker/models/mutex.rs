//! A mutex (Knossos's): acquire when free, release when held.

use crate::checker::model::Model;
use crate::checker::op::Operation;
use crate::history::Value;

/// The mutex model; it starts free.
#[derive(Debug, Clone, Default)]
pub struct Mutex;

/// A mutex operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MutexOp {
    /// Take the lock; only when it is free.
    Acquire,
    /// Give it back; only when it is held.
    Release,
}

impl Model for Mutex {
    /// Whether the mutex is held.
    type State = bool;
    type Op = MutexOp;

    fn name(&self) -> &'static str {
        "mutex"
    }

    fn init(&self) -> bool {
        false
    }

    fn prepare(&self, op: &Operation) -> Result<Option<MutexOp>, String> {
        match op.f.as_str() {
            "acquire" => Ok(Some(MutexOp::Acquire)),
            "release" => Ok(Some(MutexOp::Release)),
            f => Err(format!("the mutex model has no function {f:?}")),
        }
    }

    fn step(&self, held: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!held).then_some(true),
            MutexOp::Release => held.then_some(false),
        }
    }

    fn describe(&self, held: &bool) -> Value {
        Value::String(if *held { "held" } else { "free" }.into())
    }
}
