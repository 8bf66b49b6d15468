//! synod's lock: acquire, renew and release with fencing tokens.
//!
//! A lease may expire at any moment, so an acquire may succeed while another
//! owner still appears to hold the lock; what must hold is that fencing
//! tokens grow: every grant returns a token larger than every token granted
//! before it. A renew or release succeeds only for the current holder with
//! its token (after an expiry and a new grant, the old token is stale).
//!
//! A pending acquire may have granted an unknown token (larger than all
//! before it): its holder's token stays unknown until a renew or release by
//! that owner names it. Later grants must exceed the tokens known so far;
//! that the unknown token is also exceeded cannot be checked.

use crate::checker::model::{HVal, Model};
use crate::checker::op::{Operation, Status};
use crate::history::Value;

/// The lock model; it starts free, with no token granted.
#[derive(Debug, Clone, Default)]
pub struct Lock;

/// The lock's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockState {
    /// The owner that last acquired it and its token (unknown for a pending
    /// acquire), until released.
    pub holder: Option<(HVal, Option<i64>)>,
    /// The largest token known to have been granted.
    pub max_token: Option<i64>,
}

/// A lock operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LockOp {
    /// An acquire by an owner, granting a token (unknown if pending).
    Acquire(HVal, Option<i64>),
    /// A renew by an owner with its token.
    Renew(HVal, i64),
    /// A release by an owner with its token.
    Release(HVal, i64),
}

fn field(v: &Value, name: &str, f: &str) -> Result<Value, String> {
    v.get(name)
        .cloned()
        .ok_or_else(|| format!("{f} needs a value with {name:?}, got {v}"))
}

fn token(v: &Value, f: &str) -> Result<i64, String> {
    field(v, "token", f)?
        .as_i64()
        .ok_or_else(|| format!("{f}'s token must be an integer, got {v}"))
}

impl Lock {
    /// Whether `owner` holding `token` matches the state's holder.
    fn holds(state: &LockState, owner: &HVal, t: i64) -> bool {
        match &state.holder {
            Some((o, Some(held))) => o == owner && *held == t,
            // The token granted by a pending acquire is unknown, but larger
            // than any granted before it.
            Some((o, None)) => o == owner && state.max_token.is_none_or(|m| t > m),
            None => false,
        }
    }
}

impl Model for Lock {
    type State = LockState;

    fn state_heap_bytes(&self, state: &LockState) -> usize {
        state
            .holder
            .as_ref()
            .map_or(0, |(owner, _)| owner.heap_bytes())
    }
    type Op = LockOp;

    fn name(&self) -> &'static str {
        "lock"
    }

    fn init(&self) -> LockState {
        LockState {
            holder: None,
            max_token: None,
        }
    }

    fn prepare(&self, op: &Operation) -> Result<Option<LockOp>, String> {
        let f = op.f.as_str();
        let owner = HVal::new(field(&op.input, "owner", f)?);
        match (f, op.status, &op.output) {
            ("acquire", Status::Ok, Some(out)) => {
                Ok(Some(LockOp::Acquire(owner, Some(token(out, f)?))))
            }
            ("acquire", _, _) => Ok(Some(LockOp::Acquire(owner, None))),
            // A pending renew changes nothing.
            ("renew", Status::Pending, _) => Ok(None),
            ("renew", _, _) => Ok(Some(LockOp::Renew(owner, token(&op.input, f)?))),
            ("release", _, _) => Ok(Some(LockOp::Release(owner, token(&op.input, f)?))),
            _ => Err(format!("the lock model has no function {f:?}")),
        }
    }

    fn step(&self, state: &LockState, op: &LockOp) -> Option<LockState> {
        match op {
            LockOp::Acquire(owner, t) => {
                if let (Some(t), Some(m)) = (t, state.max_token) {
                    if *t <= m {
                        return None;
                    }
                }
                Some(LockState {
                    holder: Some((owner.clone(), *t)),
                    max_token: t.or(state.max_token),
                })
            }
            LockOp::Renew(owner, t) => Lock::holds(state, owner, *t).then(|| LockState {
                holder: Some((owner.clone(), Some(*t))),
                max_token: Some(state.max_token.map_or(*t, |m| m.max(*t))),
            }),
            LockOp::Release(owner, t) => Lock::holds(state, owner, *t).then(|| LockState {
                holder: None,
                max_token: Some(state.max_token.map_or(*t, |m| m.max(*t))),
            }),
        }
    }

    fn describe(&self, state: &LockState) -> Value {
        serde_json::json!({
            "holder": state.holder.as_ref().map(|(o, t)| serde_json::json!({"owner": o.get(), "token": t})),
            "max_token": state.max_token,
        })
    }
}
