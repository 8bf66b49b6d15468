//! The learner (Paxos Made Simple, section 2.3): every replica learns every
//! chosen slot, from the leader's commit bound, from fetches, or from a
//! snapshot, and applies chosen slots in order. Applying runs client commands
//! through the session table so each applies once, and makes the log clock
//! monotonic.

use std::sync::Arc;

use super::ballot::{Ballot, NodeId, Slot};
use super::message::{ClientReply, Message, Outcome, Proposal, Record, SharedEntry};
use super::replica::{Out, Replica, Role};
use super::session::SessionOutcome;
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// Learns that `entry` is chosen for `slot` (records it first).
    ///
    /// A leader that learns, other than from its own quorum, another value
    /// for a slot it proposed, or any slot at or beyond its `next_slot` (one
    /// it has not proposed yet), has been superseded: that value was chosen
    /// in a higher ballot. It steps down, because its commits teach acceptors
    /// the values they accepted in its ballot (`learn_by_commit`), which is
    /// right only for slots chosen in that ballot, and its next accept would
    /// propose its own value at a slot already chosen.
    pub(crate) fn learn(&mut self, slot: Slot, entry: SharedEntry<S::Command>, out: &mut Out<S>) {
        if slot < self.snapshot_upto || slot < self.chosen_upto || self.chosen.contains_key(&slot) {
            return;
        }
        let mut superseded = false;
        if let Role::Leader(l) = &mut self.role {
            superseded =
                slot >= l.next_slot || l.in_flight.get(&slot).is_some_and(|f| f.entry != entry);
            // A recovery slot stays in flight until a quorum accepts it in
            // this ballot, however else we learn it.
            if !l.recovery.contains(&slot) {
                l.in_flight.remove(&slot);
            }
        }
        self.chosen.insert(slot, Arc::clone(&entry));
        out.ready.persist.push(Record::Chosen { slot, entry });
        self.advance_chosen_upto();
        if superseded && !self.config.fault(|f| f.commit_teaches_unchosen) {
            self.step_down(None, out);
        }
    }

    pub(crate) fn advance_chosen_upto(&mut self) {
        self.chosen_upto = self.chosen_upto.max(self.snapshot_upto);
        // Slot `u64::MAX` is never used (see `propose`), so this cannot wrap.
        while self.chosen_upto < Slot::MAX && self.chosen.contains_key(&self.chosen_upto) {
            self.chosen_upto += 1;
        }
        self.known_chosen_upto = self.known_chosen_upto.max(self.chosen_upto);
    }

    /// The leader in `ballot` says every slot below `upto` is chosen. A slot
    /// this acceptor accepted in that same ballot holds the chosen value (a
    /// ballot proposes one value per slot); others it must fetch.
    pub(crate) fn learn_by_commit(&mut self, ballot: Ballot, upto: Slot, out: &mut Out<S>) {
        let from = self.chosen_upto;
        if upto <= from {
            return;
        }
        let found: Vec<(Slot, SharedEntry<S::Command>)> = self
            .accepted
            .range(from..upto)
            .filter(|(_, (b, _))| *b == ballot)
            .map(|(s, (_, e))| (*s, Arc::clone(e)))
            .collect();
        for (slot, entry) in found {
            self.learn(slot, entry, out);
        }
    }

    /// A peer's snapshot covers every slot below `upto`: this replica lags,
    /// and its tick fetches until it holds them (see [`Message::Compacted`]).
    ///
    /// A leader's slot in flight below both `upto` and its own chosen bound,
    /// with the very value it knows chosen there, counts `from` as accepting
    /// it. That is how an amnesiac's recovery slots get their quorum when a
    /// peer has compacted them: the peer's durable snapshot protects the
    /// value as its acceptance would (its promises report the snapshot, and
    /// no leader proposes below a promiser's snapshot), and without it the
    /// recovery would wait for an acceptance that never comes.
    pub(crate) fn on_compacted(&mut self, from: NodeId, upto: Slot, out: &mut Out<S>) {
        self.known_chosen_upto = self.known_chosen_upto.max(upto);
        let Role::Leader(l) = &self.role else {
            return;
        };
        let ballot = l.ballot;
        let covered: Vec<Slot> = l
            .in_flight
            .range(..upto.min(self.chosen_upto))
            .filter(|(s, f)| self.chosen.get(s).is_some_and(|c| **c == *f.entry))
            .map(|(s, _)| *s)
            .collect();
        for slot in covered {
            self.on_accepted(from, ballot, slot, out);
        }
    }

    /// A peer asks for chosen slots: send what we hold, or a snapshot if the
    /// slots it wants are truncated here.
    pub(crate) fn on_fetch(&mut self, from: NodeId, from_slot: Slot, out: &mut Out<S>) {
        if from_slot < self.snapshot_upto {
            self.send_snapshot(from, out);
            return;
        }
        let entries: Vec<(Slot, SharedEntry<S::Command>)> = self
            .chosen
            .range(from_slot..)
            .take(self.config.max_learn_entries)
            .map(|(s, e)| (*s, Arc::clone(e)))
            .collect();
        if !entries.is_empty() {
            self.send(from, Message::Learn { entries }, out);
        }
    }

    /// Chosen values from a peer.
    pub(crate) fn on_learn(
        &mut self,
        from: NodeId,
        entries: Vec<(Slot, SharedEntry<S::Command>)>,
        out: &mut Out<S>,
    ) {
        if entries.len() > self.config.max_learn_entries {
            return; // oversized
        }
        let limit = self.chosen_upto.saturating_add(self.config.max_slot_lead);
        let full = entries.len() == self.config.max_learn_entries;
        let before = self.chosen_upto;
        for (slot, entry) in entries {
            if slot < limit && entry.proposals.len() <= self.config.max_batch {
                self.learn(slot, entry, out);
            }
        }
        // The next batch at once, but only after progress: a full Learn that
        // taught nothing (its sender lacks our first missing slot too) would
        // be answered the same way for ever (review4); ticks fetch again.
        if full && self.chosen_upto > before && self.chosen_upto < self.known_chosen_upto {
            self.send(
                from,
                Message::Fetch {
                    from_slot: self.chosen_upto,
                },
                out,
            );
        }
    }

    /// Applies every chosen slot not yet applied, in order; answers the
    /// clients this replica holds; snapshots every `snapshot_interval` slots.
    pub(crate) fn apply_chosen(&mut self, out: &mut Out<S>, may_snapshot: bool) {
        while self.applied_upto < self.chosen_upto {
            let slot = self.applied_upto;
            let Some(entry) = self.chosen.get(&slot).map(Arc::clone) else {
                // Chosen bound and map disagree: a broken invariant.
                panic!(
                    "slot {slot} below chosen_upto {} is missing",
                    self.chosen_upto
                );
            };
            // The log's clock never goes backwards, whoever proposed.
            let now = self.log_ticks.max(entry.log_ticks);
            self.log_ticks = now;
            for p in &entry.proposals {
                match p {
                    Proposal::Client {
                        client_id,
                        seq,
                        command,
                    } => {
                        // The plant first: without it no lookup is made.
                        let reapply = self.config.fault(|f| f.reapply_repeated_seq)
                            && self
                                .sessions
                                .cached(*client_id, *seq)
                                .is_some_and(|(c, _)| c == command);
                        if reapply {
                            self.state.apply(now, command);
                        }
                        let state = &mut self.state;
                        let result = self.sessions.apply_opening(
                            *client_id,
                            *seq,
                            command,
                            now,
                            self.config.max_sessions,
                            self.config.fault(|f| f.sessionless_apply),
                            || state.apply(now, command),
                        );
                        if let Some(held) = self.waiting.remove(&(*client_id, *seq)) {
                            // The client we hold may have sent another command
                            // under this number (to an earlier leader, say):
                            // this answer is not its.
                            let outcome = match result {
                                _ if held != *command => Outcome::SeqReused,
                                SessionOutcome::Applied(r) | SessionOutcome::Duplicate(r) => {
                                    Outcome::Ok(r)
                                }
                                SessionOutcome::Stale => Outcome::SessionStale,
                                SessionOutcome::Expired => Outcome::SessionExpired,
                                SessionOutcome::Reused => Outcome::SeqReused,
                                // Indefinite: another copy of the request
                                // may apply in a later slot (review4).
                                SessionOutcome::Full => Outcome::Unknown {
                                    hint: self.leader_hint,
                                },
                            };
                            out.ready.replies.push(ClientReply {
                                client_id: *client_id,
                                seq: *seq,
                                outcome,
                            });
                        }
                    }
                    Proposal::Tick(command) => {
                        self.state.apply(now, command);
                        if let Role::Leader(l) = &mut self.role {
                            l.tick_in_flight.remove(command);
                        }
                    }
                }
            }
            self.sessions.expire(now, self.config.session_timeout_ticks);
            self.applied_upto += 1;
            if may_snapshot {
                self.maybe_snapshot(out);
            }
        }
        self.rebase_log_time();
    }
}
