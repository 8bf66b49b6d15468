//! The clients' history, kept as stateright's auxiliary state: every
//! invocation (a client's first send of a request) and every return (an `Ok`
//! reply delivered for the operation in flight) feeds a linearizability
//! tester over the register spec. An operation without a return (its outcome
//! unknown, or refused everywhere) stays in flight: it may or may not have
//! taken effect, as Jepsen's `info`.

use std::collections::BTreeMap;

use stateright::actor::{Envelope, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use synod::paxos::Outcome;

use crate::actor::{Msg, Payload};
use crate::cfg::ModelCfg;
use crate::spec::{RegisterOp, RegisterSpec};

/// The auxiliary history of a model state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct History {
    /// Invocations and returns, per client.
    pub tester: LinearizabilityTester<Id, RegisterSpec>,
    /// Highest sequence number each client invoked.
    pub invoked: BTreeMap<Id, u64>,
    /// Each client's operation in flight and its sequence number.
    pub open: BTreeMap<Id, (u64, RegisterOp)>,
    /// A request whose command is not a register operation (a model bug).
    pub malformed: bool,
}

impl Default for History {
    fn default() -> Self {
        History {
            tester: LinearizabilityTester::new(RegisterSpec::default()),
            invoked: BTreeMap::new(),
            open: BTreeMap::new(),
            malformed: false,
        }
    }
}

/// A client's first send of a request is its invocation.
pub fn record_out(cfg: &ModelCfg, h: &History, env: Envelope<&Msg>) -> Option<History> {
    let Payload::Request(r) = env.msg.payload() else {
        return None;
    };
    if usize::from(env.src) < cfg.servers || h.invoked.get(&env.src).copied() >= Some(r.seq) {
        return None;
    }
    let mut h = h.clone();
    h.invoked.insert(env.src, r.seq);
    match RegisterOp::from_command(&r.command) {
        Some(op) => {
            // An error marks the tester's history invalid, which the
            // linearizability property reports.
            let _ = h.tester.on_invoke(env.src, op.clone());
            h.open.insert(env.src, (r.seq, op));
        }
        None => h.malformed = true,
    }
    Some(h)
}

/// An `Ok` reply delivered for the client's operation in flight is its return.
pub fn record_in(_cfg: &ModelCfg, h: &History, env: Envelope<&Msg>) -> Option<History> {
    let Payload::Reply(r) = env.msg.payload() else {
        return None;
    };
    let Outcome::Ok(response) = &r.outcome else {
        return None;
    };
    let (seq, op) = h.open.get(&env.dst)?;
    if *seq != r.seq {
        return None;
    }
    let ret = op.ret(response);
    let mut h = h.clone();
    h.open.remove(&env.dst);
    let _ = h.tester.on_return(env.dst, ret);
    Some(h)
}
