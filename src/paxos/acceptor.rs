//! The acceptor (Paxos Made Simple, section 2.2).
//!
//! P1a: an acceptor can accept a proposal numbered n iff it has not responded
//! to a prepare request having a number greater than n. A promise and an
//! acceptance are records of the step, durable before its messages leave, so
//! a restarted acceptor still keeps them. An amnesiac acceptor (its records
//! lost) answers nothing until the amnesia rule (`leader.rs`) lets it vote.

use std::sync::Arc;

use super::ballot::{Ballot, NodeId, Slot};
use super::message::{Message, Record, SharedEntry};
use super::replica::{Out, Replica, Role};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// Promises `ballot` if it is the highest seen; records it first.
    fn promise(&mut self, ballot: Ballot, out: &mut Out<S>) {
        if ballot > self.promised {
            self.promised = ballot;
            out.ready.persist.push(Record::Promise { ballot });
        }
    }

    /// An Accept or Commit from leader `from` in `ballot` (not refused): a
    /// voting replica's election timer restarts; an amnesiac's runs on, since
    /// its own recovery ballot is its way back to voting, and it notes when
    /// it heard a leader instead (`recovery_would_depose`).
    fn heard_leader(&mut self, from: NodeId, ballot: Ballot, out: &mut Out<S>) {
        self.leader_hint = Some(from);
        match &mut self.amnesia {
            Some(a) => a.leader_heard_ticks = Some(self.ticks),
            None => self.reset_election_timer(),
        }
        self.yield_to(ballot, out);
    }

    /// A leader or candidate whose own acceptor moved to a higher ballot no
    /// longer leads.
    fn yield_to(&mut self, ballot: Ballot, out: &mut Out<S>) {
        let mine = match &self.role {
            Role::Follower => return,
            Role::Candidate(p) => p.ballot,
            Role::Leader(l) => l.ballot,
        };
        if ballot > mine {
            self.step_down(Some(ballot.node), out);
        }
    }

    /// P1a: a ballot below this acceptor's promise is refused (with a nack,
    /// if this replica votes, so the proposer learns the higher ballot).
    /// Returns whether it was refused.
    fn refuse_below_promise(&mut self, from: NodeId, ballot: Ballot, out: &mut Out<S>) -> bool {
        if ballot >= self.promised {
            return false;
        }
        if self.is_voting() {
            self.send(
                from,
                Message::Nack {
                    ballot,
                    promised: self.promised,
                },
                out,
            );
        }
        true
    }

    /// Phase 1b.
    pub(crate) fn on_prepare(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        first_slot: Slot,
        recovery: Option<u64>,
        out: &mut Out<S>,
    ) {
        self.note_ballot(ballot);
        if self.amnesia.is_some() {
            return; // an amnesiac acceptor promises nothing
        }
        // An amnesiac proposer may have stood with this very ballot before it
        // lost its records: promise its recovery ballot only strictly above
        // our promise, so no ballot is led by two incarnations.
        let refused = match recovery {
            Some(_) => ballot <= self.promised,
            None => ballot < self.promised,
        };
        if refused {
            self.send(
                from,
                Message::Nack {
                    ballot,
                    promised: self.promised,
                },
                out,
            );
            return;
        }
        self.promise(ballot, out);
        self.yield_to(ballot, out);
        if from != self.config.id {
            self.leader_hint = Some(from);
            self.reset_election_timer();
        }
        let from_slot = first_slot.max(self.snapshot_upto);
        let accepted = self
            .accepted
            .range(from_slot..)
            .map(|(slot, (b, e))| (*slot, *b, Arc::clone(e)))
            .collect();
        self.send(
            from,
            Message::Promise {
                ballot,
                recovery,
                snapshot_upto: self.snapshot_upto,
                accepted,
            },
            out,
        );
    }

    /// Phase 2b, and the leader's chosen bound piggybacked on the accept.
    pub(crate) fn on_accept(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        entry: SharedEntry<S::Command>,
        chosen_upto: Slot,
        out: &mut Out<S>,
    ) {
        self.note_ballot(ballot);
        if self.refuse_below_promise(from, ballot, out) {
            return;
        }
        if entry.proposals.len() > self.config.max_batch {
            return; // malformed: larger than any leader may batch
        }
        if from != self.config.id {
            self.heard_leader(from, ballot, out);
        }
        self.known_chosen_upto = self.known_chosen_upto.max(chosen_upto);
        if slot < self.snapshot_upto && from != self.config.id {
            // Chosen and compacted here: the leader would retransmit for
            // ever, and its heartbeats keep anyone else from standing.
            let upto = self.snapshot_upto;
            self.send(from, Message::Compacted { upto }, out);
        }
        let floor = self.chosen_upto.max(self.snapshot_upto);
        if self.is_voting()
            && slot >= self.snapshot_upto
            && slot < floor.saturating_add(self.config.max_slot_lead)
        {
            // P1a: ballot >= promised, so this acceptor may accept it. The
            // implied promise gets its own record: the accept record may be
            // compacted away under a snapshot, the promise must not be.
            self.promise(ballot, out);
            self.accepted.insert(slot, (ballot, Arc::clone(&entry)));
            out.ready.persist.push(Record::Accept {
                slot,
                ballot,
                entry,
            });
            self.send(from, Message::Accepted { ballot, slot }, out);
        }
        self.learn_by_commit(ballot, chosen_upto, out);
    }

    /// The leader's heartbeat: learn what it says is chosen, confirm its read
    /// round, and (amnesiac) check whether voting is safe again.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_commit(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        _first_slot: Slot,
        chosen_upto: Slot,
        read_round: u64,
        promisers: Vec<NodeId>,
        out: &mut Out<S>,
    ) {
        self.note_ballot(ballot);
        if promisers.len() > self.config.members.len() {
            return; // malformed
        }
        if self.refuse_below_promise(from, ballot, out) {
            return;
        }
        if from != self.config.id {
            self.heard_leader(from, ballot, out);
        }
        let news = chosen_upto > self.known_chosen_upto;
        self.known_chosen_upto = self.known_chosen_upto.max(chosen_upto);
        self.learn_by_commit(ballot, chosen_upto, out);
        // Only news: a lost fetch is asked again on ticks (`on_tick`).
        if news
            && self.chosen_upto < chosen_upto
            && from != self.config.id
            && !self.snapshot_arriving()
        {
            let from_slot = self.chosen_upto;
            self.send(from, Message::Fetch { from_slot }, out);
        }
        if self.is_voting() {
            // Nothing above `ballot` promised: confirms the leader's round.
            self.send(from, Message::CommitAck { ballot, read_round }, out);
        }
    }
}
