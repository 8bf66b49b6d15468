//! The harness's ghosts: what it sees of every replica and every message,
//! which no replica sees, checked against Paxos's own invariants at the
//! moment they could first break rather than when a client notices:
//!
//! - agreement: no two replicas learn different values for a slot;
//! - one leader per ballot (Paxos Made Simple, 2.2: distinct proposals
//!   have distinct numbers): no two incarnations of a replica (a restart
//!   builds a new one) send accepts in one ballot, and no ballot proposes
//!   two values for a slot. A ballot led twice, by an amnesiac that forgot
//!   it stood, shows here before any acceptor is misled;
//! - a leader's chosen bound (on a commit or an accept) covers only slots
//!   where what its ballot proposed is what was chosen: an acceptor learns
//!   its own accepted value of that ballot from it.

use std::collections::BTreeMap;

use crate::paxos::{Ballot, Message, NodeId, SharedEntry, Slot, StateMachine};

/// Which invariant broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Two replicas learned different values (`first` and `second`).
    Agreement,
    /// One ballot proposed two values for the slot (sent by `first`, then `second`).
    OneValuePerBallot(Ballot),
    /// Two incarnations of one replica sent accepts in this ballot (the
    /// values are the incarnations).
    BallotLedTwice(Ballot),
    /// `second` announced the slot chosen in this ballot, which proposed
    /// `second_value` there; `first_value` was chosen (learned by `first`).
    CommitOfUnchosen(Ballot),
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Agreement => write!(f, "learned two values"),
            Rule::OneValuePerBallot(b) => write!(f, "ballot {b} proposed two values"),
            Rule::BallotLedTwice(b) => write!(f, "ballot {b} led by two incarnations"),
            Rule::CommitOfUnchosen(b) => {
                write!(f, "ballot {b} announced chosen a value it did not choose")
            }
        }
    }
}

/// A broken invariant, at the step that exposed it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("step {step}: slot {slot}: {rule}: {first_value} (replica {first}) vs {second_value} (replica {second})")]
pub struct Violation {
    /// The step that exposed it.
    pub step: u64,
    /// The invariant.
    pub rule: Rule,
    /// The slot.
    pub slot: Slot,
    /// The replica of the first value (see [`Rule`]).
    pub first: NodeId,
    /// The first value (debug form).
    pub first_value: String,
    /// The replica of the second value.
    pub second: NodeId,
    /// The second value (debug form).
    pub second_value: String,
}

/// Everything learned and proposed so far.
pub(super) struct Ghost<C> {
    /// The first value learned for each slot, and by whom.
    chosen: BTreeMap<Slot, (NodeId, SharedEntry<C>)>,
    /// Every value sent in an accept, by ballot and slot, and by whom.
    proposed: BTreeMap<(Ballot, Slot), (NodeId, SharedEntry<C>)>,
    /// Per ballot, the chosen bound its announcements were checked up to.
    announced: BTreeMap<Ballot, Slot>,
    /// Per ballot, the incarnation that sent its first accept.
    leaders: BTreeMap<Ballot, u64>,
}

impl<C> Default for Ghost<C> {
    fn default() -> Self {
        Ghost {
            chosen: BTreeMap::new(),
            proposed: BTreeMap::new(),
            announced: BTreeMap::new(),
            leaders: BTreeMap::new(),
        }
    }
}

fn violation<C: std::fmt::Debug>(
    step: u64,
    rule: Rule,
    slot: Slot,
    (first, a): (NodeId, &SharedEntry<C>),
    (second, b): (NodeId, &SharedEntry<C>),
) -> Violation {
    Violation {
        step,
        rule,
        slot,
        first,
        first_value: format!("{a:?}"),
        second,
        second_value: format!("{b:?}"),
    }
}

impl<C: PartialEq + std::fmt::Debug> Ghost<C> {
    /// Replica `id` learned `entry` at `slot`.
    pub(super) fn learned(
        &mut self,
        step: u64,
        id: NodeId,
        slot: Slot,
        entry: &SharedEntry<C>,
    ) -> Result<(), Violation> {
        match self.chosen.get(&slot) {
            None => {
                self.chosen.insert(slot, (id, entry.clone()));
                Ok(())
            }
            Some((first, value)) if value != entry => Err(violation(
                step,
                Rule::Agreement,
                slot,
                (*first, value),
                (id, entry),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Replica `id`, in its `incarnation` (counted over the run), sent
    /// `message` (checked before loss: a message never delivered still shows
    /// what its sender did).
    pub(super) fn sent<S: StateMachine<Command = C>>(
        &mut self,
        step: u64,
        (id, incarnation): (NodeId, u64),
        message: &Message<S>,
    ) -> Result<(), Violation> {
        match message {
            Message::Accept {
                ballot,
                slot,
                entry,
                chosen_upto,
            } => {
                let first = *self.leaders.entry(*ballot).or_insert(incarnation);
                if first != incarnation {
                    return Err(Violation {
                        step,
                        rule: Rule::BallotLedTwice(*ballot),
                        slot: *slot,
                        first: id,
                        first_value: format!("incarnation {first}"),
                        second: id,
                        second_value: format!("incarnation {incarnation}"),
                    });
                }
                self.proposed_value(step, id, *ballot, *slot, entry)?;
                self.announced_bound(step, id, *ballot, *chosen_upto)
            }
            Message::Commit {
                ballot,
                chosen_upto,
                ..
            } => self.announced_bound(step, id, *ballot, *chosen_upto),
            _ => Ok(()),
        }
    }

    fn proposed_value(
        &mut self,
        step: u64,
        id: NodeId,
        ballot: Ballot,
        slot: Slot,
        entry: &SharedEntry<C>,
    ) -> Result<(), Violation> {
        match self.proposed.get(&(ballot, slot)) {
            None => {
                self.proposed.insert((ballot, slot), (id, entry.clone()));
                Ok(())
            }
            Some((first, value)) if value != entry => Err(violation(
                step,
                Rule::OneValuePerBallot(ballot),
                slot,
                (*first, value),
                (id, entry),
            )),
            Some(_) => Ok(()),
        }
    }

    /// `ballot`'s leader says every slot below `upto` is chosen: each slot
    /// it proposed below that must hold the chosen value (checked once per
    /// slot, from the bound checked last; slots the ghost has not seen
    /// learned, installed by snapshot, are skipped).
    fn announced_bound(
        &mut self,
        step: u64,
        id: NodeId,
        ballot: Ballot,
        upto: Slot,
    ) -> Result<(), Violation> {
        let from = self.announced.get(&ballot).copied().unwrap_or(0);
        if upto <= from {
            return Ok(());
        }
        for ((_, slot), (_, value)) in self.proposed.range((ballot, from)..(ballot, upto)) {
            if let Some((first, chosen)) = self.chosen.get(slot) {
                if chosen != value {
                    let rule = Rule::CommitOfUnchosen(ballot);
                    return Err(violation(step, rule, *slot, (*first, chosen), (id, value)));
                }
            }
        }
        self.announced.insert(ballot, upto);
        Ok(())
    }
}
