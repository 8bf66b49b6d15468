//! What delivering a message does to a server, remembered per (server
//! state, message), so that the search does not step a replica again for a
//! delivery it has already seen.
//!
//! # Why
//!
//! On the duplicating network every message ever sent stays deliverable, so
//! a state offers one delivery per message in flight (dozens), and nearly
//! all of them are duplicates that change nothing. stateright finds that out
//! the expensive way: it clones the whole system state (the network's hash
//! set included), steps the receiver, and the reductions then compare the
//! result with the state before. Profiled on 3 servers and 2 clients, that
//! was most of the search's time. A server's reaction to a message depends
//! only on its own state and the message (the actor reads nothing else), so
//! it is computed once and looked up afterwards.
//!
//! # What is remembered
//!
//! Only whether the delivery is *inert*: it leaves the server's state as it
//! was, saves nothing, sets no timer, and only sends (possibly nothing). An
//! inert delivery whose sends are all in the network already is a no-op of
//! the whole system (the duplicating network takes nothing out on delivery,
//! and a server's messages touch no history: only clients' do), so the
//! model does not offer it ([`crate::reduce::SynodModel`]); one that sends
//! something new is an echo, which the reductions perform at once.
//! Deliveries to clients are not cached: their replies feed the history.
//!
//! The cache is per search thread and per model (a model id, since tests
//! run many models on one thread), and exact: keyed by the server's whole
//! state and the whole envelope, not by a fingerprint, so a hash collision
//! costs a comparison, never a wrong answer. It is bounded
//! ([`MAX_STATES`], [`MAX_ENTRIES`]) and cleared when full: only the speed
//! changes, never the states explored.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ahash::AHashMap;
use stateright::actor::{Actor, Command, Envelope, Id, Out};

use crate::actor::{Msg, State, SynodActor};

/// Most server states remembered per thread before the cache is cleared.
pub const MAX_STATES: usize = 50_000;

/// Most (state, message) effects remembered per thread before the cache is
/// cleared.
pub const MAX_ENTRIES: usize = 1_000_000;

/// What delivering one message does to a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// It changes the server (state, storage or timers): a real step.
    Steps,
    /// It leaves the server as it was and only sends these envelopes.
    Inert(Vec<Envelope<Msg>>),
}

static NEXT_MODEL: AtomicU64 = AtomicU64::new(1);

/// A fresh model id for the cache ([`Lookup::new`]).
pub fn new_model_id() -> u64 {
    NEXT_MODEL.fetch_add(1, Ordering::Relaxed)
}

/// The effects of every message seen at one server state, by (receiver,
/// sender, message).
type Effects = Rc<RefCell<AHashMap<(Id, Id, Msg), Effect>>>;

#[derive(Default)]
struct Cache {
    model: u64,
    /// Effects stored.
    entries: usize,
    /// By the state's content: exact.
    by_state: AHashMap<Arc<State>, Effects>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Lookups for one step of the search: remembers which cache entry each
/// server state's `Arc` maps to, so a state is hashed once per step, not
/// once per message. It keeps the `Arc`s, so an address cannot be reused
/// for another state while it lives.
pub struct Lookup<'m> {
    model: u64,
    actors: &'m [SynodActor],
    memo: Vec<(Arc<State>, Effects)>,
}

impl<'m> Lookup<'m> {
    /// Lookups for model `model` (its id, [`new_model_id`]) of `actors`.
    pub fn new(model: u64, actors: &'m [SynodActor]) -> Lookup<'m> {
        Lookup {
            model,
            actors,
            memo: Vec::new(),
        }
    }

    /// What delivering `msg` from `src` to server `dst`, in state `state`,
    /// does; `f` reads the answer.
    pub fn with_effect<R>(
        &mut self,
        dst: Id,
        state: &Arc<State>,
        src: Id,
        msg: &Msg,
        f: impl FnOnce(&Effect) -> R,
    ) -> R {
        let effects = match self.memo.iter().find(|(s, _)| Arc::ptr_eq(s, state)) {
            Some((_, effects)) => Rc::clone(effects),
            None => {
                let effects = self.effects_of(state);
                self.memo.push((Arc::clone(state), Rc::clone(&effects)));
                effects
            }
        };
        let key = (dst, src, msg.clone()); // the receiver too: a state need not name it
        if let Some(effect) = effects.borrow().get(&key) {
            return f(effect);
        }
        let effect = compute(&self.actors[usize::from(dst)], dst, state, src, msg);
        let answer = f(&effect);
        effects.borrow_mut().insert(key, effect);
        CACHE.with(|cache| cache.borrow_mut().entries += 1);
        answer
    }

    /// The cache's entry for `state`, made if new; the cache is cleared
    /// first if it is full or belongs to another model.
    fn effects_of(&self, state: &Arc<State>) -> Effects {
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.model != self.model
                || cache.by_state.len() >= MAX_STATES
                || cache.entries >= MAX_ENTRIES
            {
                *cache = Cache {
                    model: self.model,
                    ..Cache::default()
                };
            }
            Rc::clone(cache.by_state.entry(Arc::clone(state)).or_default())
        })
    }
}

/// Steps the actor on a copy-on-write view of its state.
fn compute(actor: &SynodActor, dst: Id, state: &Arc<State>, src: Id, msg: &Msg) -> Effect {
    let before: &State = state;
    let mut after = Cow::Borrowed(before);
    let mut out = Out::new();
    actor.on_msg(dst, &mut after, src, msg.clone(), &mut out);
    let unchanged = match &after {
        Cow::Borrowed(_) => true,
        Cow::Owned(s) => s == before,
    };
    if !unchanged {
        return Effect::Steps;
    }
    let mut sends = Vec::new();
    for command in out {
        match command {
            Command::Send(to, m) => sends.push(Envelope {
                src: dst,
                dst: to,
                msg: m,
            }),
            _ => return Effect::Steps,
        }
    }
    Effect::Inert(sends)
}
