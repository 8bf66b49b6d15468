//! The model the checker runs: stateright's actor system around the real
//! replicas, with two state-space reductions for the duplicating network
//! that keep every behaviour the properties can observe.
//!
//! # Why
//!
//! On stateright's duplicating network a state is the actors plus the set of
//! every message ever sent (minus drops) plus the last message delivered.
//! Measured on 3 servers and 1 client, 305,276 states held only 1,369
//! distinct tuples of actor states: the rest were the same actors with
//! different network sets. Two things made those sets differ:
//!
//! 1. the last message delivered, which stateright keeps in the state only
//!    so that a delivery changing nothing still yields a new fingerprint;
//! 2. *echoes*: a redelivered message that changes nothing at its receiver
//!    but makes it send again (a duplicate prepare is promised again, a
//!    duplicate request to a follower is refused again). Whether an echo was
//!    already produced depends on the path, and each one doubles the states.
//!
//! # The reductions, and why they are sound
//!
//! * The last-delivered slot is cleared after every step. Nothing reads it
//!   but the fingerprint.
//! * *Echo saturation*: after every step, every delivery that changes no
//!   actor, storage, timer or history and only adds messages is performed at
//!   once, until none is left. Each such delivery is a real transition of
//!   the actor system, so every state the checker visits is reachable there.
//!   Conversely, on a duplicating network nothing is ever taken out by a
//!   delivery and an actor's step does not depend on the network, so a state
//!   with more messages in flight can do everything one with fewer can (a
//!   simulation), and the echo-saturated state is reached from the
//!   unsaturated one. So both reach the same actor states, storages and
//!   histories, which is all the properties read.
//! * *Drops are covered*: on the duplicating network a drop leaves the same
//!   actors with a subset of the messages, which by the same simulation can
//!   do nothing the state before it cannot; so the search does not expand
//!   it. A lossy duplicating network is thus checked at the cost of a
//!   reliable one. (On the other networks a drop is a real loss: a message
//!   delivered at most once may now never arrive, and it is explored.)
//! * *Crashed servers forget*: at a crash, the server's state becomes
//!   [`State::Down`]. stateright keeps a crashed actor's last state, but
//!   nothing reads it again: a crashed actor receives nothing and has no
//!   timers, a restart calls `on_start` with the disk alone, and every
//!   property reads only running servers, disks and clients. So states that
//!   differ only in what a crashed server last held are bisimilar, and one
//!   stands for all. This holds on every network. (A server that failed to
//!   start stays [`State::Failed`], which a property reads.)
//! * Actions are offered in a fixed order (sorted), so a depth-first search
//!   is deterministic and a path rebuilt from action indices is the path
//!   found (stateright's network sets iterate in a per-process random order).
//!
//! The other networks (non-duplicating, ordered) consume what they deliver,
//! so a delivery that only sends is not an echo there; only the action order
//! and the forgetting of crashed servers apply to them.
//!
//! A further reduction, covering a state by a visited one with more
//! messages, needs the search's visited set and so lives beside the
//! depth-first search: [`crate::cover`].

use std::borrow::Cow;
use std::sync::Arc;

use stateright::actor::{
    Actor, ActorModel, ActorModelAction, Envelope, Id, Network, Out, RandomChoices, Timers,
};
use stateright::{Model, Path, Property};

use crate::actor::{Disk, Msg, State, SynodActor, Timer};
use crate::cfg::ModelCfg;
use crate::effect::{self, Effect, Lookup};
use crate::history::History;
use crate::properties::{self as p, SynodState};

/// The actor system the reductions wrap.
pub type ActorSystem = ActorModel<SynodActor, ModelCfg, History>;

/// An action of the model: stateright's actor-system action.
pub type Action = ActorModelAction<Msg, Timer, ()>;

/// The model of one configuration: the actor system plus the reductions.
#[derive(Clone)]
pub struct SynodModel {
    /// The configuration (what the properties read).
    pub cfg: ModelCfg,
    /// The actor system.
    pub system: Arc<ActorSystem>,
    /// Offer only actions that lead somewhere (see [`SynodModel::for_simulation`]).
    enabled_only: bool,
    /// This model's key in the cache of delivery effects ([`crate::effect`]).
    id: u64,
    /// The state of every crashed server, shared.
    down: Arc<State>,
}

impl SynodModel {
    /// Wraps `system`, built from `cfg`.
    pub fn new(cfg: ModelCfg, system: ActorSystem) -> SynodModel {
        SynodModel {
            cfg,
            system: Arc::new(system),
            enabled_only: false,
            id: effect::new_model_id(),
            down: Arc::new(State::Down),
        }
    }

    /// The same model for stateright's simulation checker, offering only
    /// actions that change the state. Its random walks record the index of
    /// every action tried, ignored ones included, in a list it shrinks as it
    /// goes, and rebuild paths as if each index were a step; an ignored
    /// action makes the rebuilt path wrong or panic ("Unable to reconstruct
    /// a `Path`"). With no ignored action offered, every index is a step.
    pub fn for_simulation(mut self) -> SynodModel {
        self.enabled_only = true;
        self
    }

    /// A crashed server's memory is gone: its state becomes [`State::Down`]
    /// (see the module's docs).
    fn forget_crashed(&self, s: &mut SynodState) {
        for i in 0..self.cfg.servers {
            if s.crashed[i] && matches!(*s.actor_states[i], State::Server(_)) {
                s.actor_states[i] = Arc::clone(&self.down);
            }
        }
    }

    /// Effect lookups for one step ([`crate::effect`]).
    fn lookup(&self) -> Lookup<'_> {
        Lookup::new(self.id, &self.system.actors)
    }

    fn duplicating(&self) -> bool {
        matches!(self.system.init_network, Network::UnorderedDuplicating(..))
    }

    /// The reduced form of `next`, reached from `last` (`None` for an
    /// initial state): last-delivered slot cleared, echoes saturated.
    fn reduce(&self, mut next: SynodState, last: Option<&SynodState>) -> SynodState {
        self.forget_crashed(&mut next);
        if !self.duplicating() {
            return next;
        }
        clear_last_delivered(&mut next);
        // Deliveries worth trying: those to actors whose state changed (or
        // every one, if the history changed: its hooks read it) and every
        // new message. Any other pair was tried when `last` was saturated.
        let changed: Vec<bool> = match last {
            None => vec![true; next.actor_states.len()],
            Some(last) => {
                let history_changed = last.history != next.history;
                (0..next.actor_states.len())
                    .map(|i| {
                        history_changed
                            || !Arc::ptr_eq(&last.actor_states[i], &next.actor_states[i])
                                && last.actor_states[i] != next.actor_states[i]
                            || last.crashed[i] != next.crashed[i]
                            || last.actor_storages[i] != next.actor_storages[i]
                    })
                    .collect()
            }
        };
        let mut work: Vec<Envelope<Msg>> = sent(&next)
            .into_iter()
            .filter(|e| changed[usize::from(e.dst)] || last.is_none_or(|l| !was_sent(l, e)))
            .cloned()
            .collect();
        let mut lookup = self.lookup();
        while let Some(env) = work.pop() {
            let i = usize::from(env.dst);
            if i < self.cfg.servers {
                // A server's echo, from the cache: the same as stateright's
                // delivery (the duplicating network keeps the message, the
                // server stays as it was, and servers' messages touch no
                // history), without cloning the whole state to find out.
                let Some(fresh) =
                    self.inert_sends_unsent(&mut lookup, &next, env.src, env.dst, &env.msg)
                else {
                    continue;
                };
                if let Network::UnorderedDuplicating(set, _) = &mut next.network {
                    set.extend(fresh.iter().cloned());
                }
                work.extend(fresh);
                continue;
            }
            if !self.may_echo(&next, &env) {
                continue;
            }
            let action = ActorModelAction::Deliver {
                src: env.src,
                dst: env.dst,
                msg: env.msg,
            };
            let Some(mut after) = self.system.next_state(&next, action) else {
                continue;
            };
            clear_last_delivered(&mut after);
            if !same_but_network(&next, &after) {
                continue; // not an echo: a real step, left to the search
            }
            let fresh: Vec<Envelope<Msg>> = sent(&after)
                .into_iter()
                .filter(|e| !was_sent(&next, e))
                .cloned()
                .collect();
            next = after;
            work.extend(fresh);
        }
        next
    }
}

impl SynodModel {
    /// A cheap first test, on the receiving actor alone: a delivery that
    /// changes the receiver's state, or does nothing at all, is no echo.
    /// (What passes is decided on the whole system by stateright.)
    fn may_echo(&self, s: &SynodState, env: &Envelope<Msg>) -> bool {
        let i = usize::from(env.dst);
        if i >= self.system.actors.len() || s.crashed[i] {
            return false;
        }
        let before = &*s.actor_states[i];
        let mut state = Cow::Borrowed(before);
        let mut out = Out::new();
        self.system.actors[i].on_msg(env.dst, &mut state, env.src, env.msg.clone(), &mut out);
        let unchanged = match &state {
            Cow::Borrowed(_) => true,
            Cow::Owned(after) => after == before,
        };
        unchanged && !out.is_empty()
    }

    /// For a delivery of `msg` from `src` to a running server `dst` in `s`
    /// that is inert ([`crate::effect`]): the sends it makes that are not
    /// in flight yet. `None` if it steps the server, or `dst` is a client
    /// (whose deliveries touch the history) or crashed (stateright refuses
    /// those). On the duplicating network, `Some` of nothing is a delivery
    /// that changes nothing, and `Some` of more is an echo.
    fn inert_sends_unsent(
        &self,
        lookup: &mut Lookup,
        s: &SynodState,
        src: Id,
        dst: Id,
        msg: &Msg,
    ) -> Option<Vec<Envelope<Msg>>> {
        let i = usize::from(dst);
        if i >= self.cfg.servers || s.crashed[i] {
            return None;
        }
        lookup.with_effect(dst, &s.actor_states[i], src, msg, |e| match e {
            Effect::Steps => None,
            Effect::Inert(sends) => Some(
                sends
                    .iter()
                    .filter(|env| !was_sent(s, env))
                    .cloned()
                    .collect(),
            ),
        })
    }
}

fn clear_last_delivered(s: &mut SynodState) {
    if let Network::UnorderedDuplicating(_, last) = &mut s.network {
        *last = None;
    }
}

/// The duplicating network's set of messages sent (the only network
/// [`SynodModel::reduce`] saturates); other networks have none.
fn sent(s: &SynodState) -> Vec<&Envelope<Msg>> {
    match &s.network {
        Network::UnorderedDuplicating(set, _) => set.iter().collect(),
        _ => Vec::new(),
    }
}

/// Whether `e` is in the duplicating network of `s`.
fn was_sent(s: &SynodState, e: &Envelope<Msg>) -> bool {
    match &s.network {
        Network::UnorderedDuplicating(set, _) => set.contains(e),
        _ => false,
    }
}

/// Everything in a state but its network: the actors, their storages, the
/// crashed flags, the timers, the random choices and the history, which is
/// all the properties read. The reductions keep exactly these ("the same
/// but the network"); covering compares them; the model tests compare the
/// sets of them that two searches reach.
#[derive(PartialEq, Eq, Hash)]
pub struct BesideNetwork<'a> {
    actor_states: &'a [Arc<State>],
    actor_storages: &'a [Option<Disk>],
    crashed: &'a [bool],
    timers_set: &'a [Timers<Timer>],
    random_choices: &'a [RandomChoices<()>],
    history: &'a History,
}

/// What `s` holds beside its network.
pub fn beside_network(s: &SynodState) -> BesideNetwork<'_> {
    BesideNetwork {
        actor_states: &s.actor_states,
        actor_storages: &s.actor_storages,
        crashed: &s.crashed,
        timers_set: &s.timers_set,
        random_choices: &s.random_choices,
        history: &s.history,
    }
}

/// Equal in everything the network does not hold.
fn same_but_network(a: &SynodState, b: &SynodState) -> bool {
    beside_network(a) == beside_network(b)
}

impl Model for SynodModel {
    type State = SynodState;
    type Action = Action;

    fn init_states(&self) -> Vec<SynodState> {
        self.system
            .init_states()
            .into_iter()
            .map(|s| self.reduce(s, None))
            .collect()
    }

    fn actions(&self, state: &SynodState, actions: &mut Vec<Action>) {
        self.system.actions(state, actions);
        if self.duplicating() {
            // Drops are covered and no-op deliveries lead nowhere (see the
            // module's docs and [`crate::effect`]): not offering them saves
            // the search a clone of the whole state for each.
            let mut lookup = self.lookup();
            actions.retain(|a| match a {
                ActorModelAction::Drop(_) => false,
                ActorModelAction::Deliver { src, dst, msg } => !self
                    .inert_sends_unsent(&mut lookup, state, *src, *dst, msg)
                    .is_some_and(|unsent| unsent.is_empty()),
                _ => true,
            });
        }
        actions.sort();
        if self.enabled_only {
            actions.retain(|a| {
                self.next_state(state, a.clone())
                    .is_some_and(|n| self.within_boundary(&n))
            });
        }
    }

    fn next_state(&self, last: &SynodState, action: Action) -> Option<SynodState> {
        if self.duplicating() && matches!(action, ActorModelAction::Drop(_)) {
            return None; // covered by `last`: see the module's docs
        }
        let next = self.system.next_state(last, action)?;
        let next = self.reduce(next, Some(last));
        (next != *last).then_some(next)
    }

    fn format_action(&self, action: &Action) -> String {
        self.system.format_action(action)
    }

    fn format_step(&self, last: &SynodState, action: Action) -> Option<String> {
        self.system.format_step(last, action)
    }

    fn as_svg(&self, path: Path<SynodState, Action>) -> Option<String> {
        self.system.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(crate::SAFETY[0], p::linearizable),
            Property::always(crate::SAFETY[1], p::agreement),
            Property::always(crate::SAFETY[2], p::learned_prefix_stable),
            Property::always(crate::SAFETY[3], p::amnesiac_votes_no_forgotten_ballot),
            Property::always(crate::SAFETY[4], p::servers_start),
            Property::always(crate::SAFETY[5], p::learned_value_chosen),
            Property::always(crate::SAFETY[6], p::applied_exactly_once),
            Property::always(crate::SAFETY[7], p::read_confirmed),
            Property::always(crate::SAFETY[8], p::same_slot_same_state),
            Property::sometimes(crate::SOMETIMES[0], p::value_chosen),
            Property::sometimes(crate::SOMETIMES[1], p::every_operation_returns),
            Property::sometimes(crate::SOMETIMES[2], p::leader_change_commits),
            Property::sometimes(crate::SOMETIMES[3], p::restarted_server_learns),
            Property::sometimes(crate::SOMETIMES[4], p::command_chosen_twice),
            Property::sometimes(crate::SOMETIMES[5], p::read_served),
            Property::sometimes(crate::SOMETIMES[6], p::amnesiac_rejoins),
        ]
    }

    fn within_boundary(&self, state: &SynodState) -> bool {
        p::within_boundary(&self.cfg, state)
    }
}
