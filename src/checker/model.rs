//! The `Model` trait: a sequential specification as a handful of pure
//! functions (after Porcupine), and the value type the built-in models share.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::history::Value;

use super::hash::FxHasher;
use super::op::Operation;
use super::search::SearchOp;

/// A sequential specification the search linearizes a history against.
///
/// `step` must be a pure function: the search memoizes (linearized set,
/// state) pairs, so equal states must behave alike.
pub trait Model: Sync {
    /// A state of the object. Hashed and compared by the search's cache, so
    /// keep it small and cheap to hash.
    type State: Clone + Eq + Hash + Send + Sync + fmt::Debug;
    /// An operation translated into the model's terms (its input and, for an
    /// `ok`, its output). Equal translated pending operations are
    /// interchangeable, which the search exploits.
    type Op: Clone + Eq + Hash + Send + Sync + fmt::Debug;

    /// The model's name, as the CLI spells it.
    fn name(&self) -> &'static str;

    /// The initial state.
    fn init(&self) -> Self::State;

    /// Translates an operation. `Ok(None)` means the operation cannot change
    /// any state nor be refuted (a pending read) and is left out; an `Err`
    /// says why the operation does not fit the model.
    fn prepare(&self, op: &Operation) -> Result<Option<Self::Op>, String>;

    /// The state after `op` applied to `state`, or `None` when `op` cannot
    /// happen in `state` (a read of another value, a cas that would fail).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// The partition an operation belongs to (P-compositionality): the
    /// object it acts on. Defaults to its key.
    fn partition<'a>(&self, op: &'a Operation) -> Option<&'a Value> {
        op.key.as_ref()
    }

    /// The heap memory `state` owns beyond its own size, for the search's
    /// memory limit. Default: none (states of plain values).
    fn state_heap_bytes(&self, state: &Self::State) -> usize {
        let _ = state;
        0
    }

    /// Whether `op` changes no state wherever it can happen (a read). The
    /// search takes such an operation, when the state satisfies it, without
    /// branching. Default: false.
    fn is_read_only(&self, op: &Self::Op) -> bool {
        let _ = op;
        false
    }

    /// Whether the read-only `read`, not satisfied by `state`, can still be
    /// satisfied after some of the operations `before` (each at most once,
    /// in any order): the operations that may still be linearized before
    /// it. `false` must be sure: the search then abandons the
    /// configuration. Default: true (no pruning).
    fn satisfiable(&self, state: &Self::State, read: &Self::Op, before: &[&Self::Op]) -> bool {
        let _ = (state, read, before);
        true
    }

    /// Marks the pending operations that no linearization needs: dropping
    /// them from any linearization leaves it valid (a pending write whose
    /// value nothing observes). Pruning them before the search removes the
    /// 2^k subsets of k such operations. Default: none.
    fn needless_pending(&self, ops: &[SearchOp<Self::Op>]) -> Vec<bool> {
        vec![false; ops.len()]
    }

    /// A state rendered for reports and the HTML timeline.
    fn describe(&self, state: &Self::State) -> Value;
}

/// How a read that returned nil is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NilRead {
    /// It matches any state (Jepsen's and Knossos's register models).
    Any,
    /// It means the value is absent (nil).
    Absent,
}

/// A history value with its hash computed once: model states are hashed on
/// every cache probe, and values built by `append` can be long.
#[derive(Clone)]
pub struct HVal {
    hash: u64,
    value: Arc<Value>,
}

impl HVal {
    /// Wraps a value.
    pub fn new(value: Value) -> Self {
        let mut h = FxHasher::default();
        value.hash(&mut h);
        HVal {
            hash: h.finish(),
            value: Arc::new(value),
        }
    }

    /// The value.
    pub fn get(&self) -> &Value {
        &self.value
    }

    /// The heap this value owns: its shared cell and what the value holds.
    /// Counted in full per holder, though clones share it: an overestimate,
    /// so the memory limit errs on the safe side.
    pub fn heap_bytes(&self) -> usize {
        fn owned(v: &Value) -> usize {
            let node = std::mem::size_of::<Value>();
            match v {
                Value::String(s) => s.capacity(),
                Value::Array(a) => a.iter().map(|x| node + owned(x)).sum(),
                Value::Object(o) => o.iter().map(|(k, x)| k.len() + node + owned(x)).sum(),
                _ => 0,
            }
        }
        2 * std::mem::size_of::<usize>() + std::mem::size_of::<Value>() + owned(&self.value)
    }

    /// Whether this is nil.
    pub fn is_nil(&self) -> bool {
        self.value.is_null()
    }
}

impl PartialEq for HVal {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && (Arc::ptr_eq(&self.value, &other.value) || self.value == other.value)
    }
}

impl Eq for HVal {}

impl Hash for HVal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Debug for HVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

/// What a read expects to see.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Expect {
    /// Any state matches (a nil read under [`NilRead::Any`], or an unknown
    /// read in a pending transaction).
    Any,
    /// Exactly this value (nil meaning absent).
    Value(HVal),
}

impl Expect {
    /// What a read whose result is `v` expects, under `nil`.
    pub fn read(v: &Value, nil: NilRead) -> Self {
        if v.is_null() && nil == NilRead::Any {
            Expect::Any
        } else {
            Expect::Value(HVal::new(v.clone()))
        }
    }

    /// Whether `state` satisfies the read.
    pub fn matches(&self, state: &HVal) -> bool {
        match self {
            Expect::Any => true,
            Expect::Value(v) => v == state,
        }
    }
}

/// Splits a cas value `[old, new]`.
pub fn cas_pair(v: &Value) -> Result<(HVal, HVal), String> {
    match v.as_array().map(|a| a.as_slice()) {
        Some([old, new]) => Ok((HVal::new(old.clone()), HVal::new(new.clone()))),
        _ => Err(format!("a cas value must be [old, new], got {v}")),
    }
}
