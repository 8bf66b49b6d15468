//! The acceptor (Paxos Made Simple, section 2.2).
//!
//! P1a: an acceptor can accept a proposal numbered n iff it has not responded
//! to a prepare request having a number greater than n. A promise and an
//! acceptance are records of the step, durable before its messages leave, so
//! a restarted acceptor still keeps them. An amnesiac acceptor (its records
//! lost) answers nothing until the amnesia rule lets it vote again.

use std::sync::Arc;

use super::ballot::{Ballot, NodeId, Slot};
use super::message::{Message, Record, SharedEntry};
use super::replica::{Out, Replica, Role, AMNESIA_PREPARES_KEPT};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// Promises `ballot` if it is the highest seen; records it first.
    fn promise(&mut self, ballot: Ballot, out: &mut Out<S>) {
        if ballot > self.promised {
            self.promised = ballot;
            out.ready.persist.push(Record::Promise { ballot });
        }
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

    /// Phase 1b.
    pub(crate) fn on_prepare(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        first_slot: Slot,
        out: &mut Out<S>,
    ) {
        self.note_ballot(ballot);
        if let Some(amnesia) = &mut self.amnesia {
            // A phase 1 this incarnation saw start: if a slot is chosen in
            // it without our vote, our forgotten promises no longer matter.
            amnesia.prepares_seen.insert(ballot);
            if amnesia.prepares_seen.len() > AMNESIA_PREPARES_KEPT {
                amnesia.prepares_seen.pop_first();
            }
            return;
        }
        if ballot < self.promised {
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
        if ballot < self.promised {
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
            return;
        }
        if entry.proposals.len() > self.config.max_batch {
            return; // malformed: larger than any leader may batch
        }
        if from != self.config.id {
            self.leader_hint = Some(from);
            self.reset_election_timer();
            self.yield_to(ballot, out);
        }
        self.known_chosen_upto = self.known_chosen_upto.max(chosen_upto);
        let floor = self.chosen_upto.max(self.snapshot_upto);
        if self.is_voting()
            && slot >= self.snapshot_upto
            && slot < floor + self.config.max_slot_lead
        {
            // P1a: ballot >= promised, so this acceptor may accept it.
            self.promised = self.promised.max(ballot);
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
        first_slot: Slot,
        chosen_upto: Slot,
        read_round: u64,
        promisers: Vec<NodeId>,
        out: &mut Out<S>,
    ) {
        self.note_ballot(ballot);
        if promisers.len() > self.config.members.len() {
            return; // malformed
        }
        if ballot < self.promised {
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
            return;
        }
        if from != self.config.id {
            self.leader_hint = Some(from);
            self.reset_election_timer();
            self.yield_to(ballot, out);
        }
        self.known_chosen_upto = self.known_chosen_upto.max(chosen_upto);
        if let Some(amnesia) = &self.amnesia {
            // Paxos Made Live's rule: a complete instance (a slot chosen) of a
            // ballot whose phase 1 started after our restart and did not count
            // us. Its phase-1 quorum then reported every value a quorum could
            // have chosen, so promising it and voting from here on is safe.
            let complete = chosen_upto > first_slot;
            if complete
                && amnesia.prepares_seen.contains(&ballot)
                && !promisers.contains(&self.config.id)
            {
                self.amnesia = None;
                self.promise(ballot, out);
            }
        }
        self.learn_by_commit(ballot, chosen_upto, out);
        if self.chosen_upto < chosen_upto && from != self.config.id {
            self.send(
                from,
                Message::Fetch {
                    from_slot: self.chosen_upto,
                },
                out,
            );
        }
        if self.is_voting() {
            // Nothing above `ballot` promised: confirms the leader's round.
            self.send(from, Message::CommitAck { ballot, read_round }, out);
        }
    }
}
