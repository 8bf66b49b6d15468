//! The proposer and distinguished leader (Paxos Made Simple, sections 2.2,
//! 2.4 and 3).
//!
//! Phase 1 runs once per leadership for every open slot. P2c: for each slot,
//! the new leader proposes the value with the highest ballot among the
//! promises of a phase-1 quorum, or a no-op if none reports one; it never
//! proposes at a slot it knows chosen or below any promiser's snapshot. Phase 2
//! then runs per slot, pipelined up to `window` slots in flight, each slot a
//! batch of up to `max_batch` commands.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::ballot::{Ballot, NodeId, Slot};
use super::message::{Entry, Message, Outcome, Proposal, Record, SharedEntry};
use super::replica::{InFlight, Leading, Out, Preparing, Replica, Role};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// Stands for election with a ballot above every one seen. The ballot is
    /// durable before the prepare leaves: a voting replica's own acceptor
    /// promises it in this step; an amnesiac, whose acceptor promises
    /// nothing, records it (`Record::Stood`), so a restart never stands with
    /// it again. Its prepare also carries its incarnation's nonce, for the
    /// case where even that record is lost (a second wipe).
    pub(crate) fn start_election(&mut self, out: &mut Out<S>) {
        self.step_down(None, out);
        self.reset_election_timer();
        let round = self.max_round_seen.max(self.promised.round);
        let Some(ballot) = (Ballot {
            round,
            node: self.config.id,
        })
        .next_for(self.config.id) else {
            return; // every round is used up: never reuse one
        };
        self.note_ballot(ballot);
        let recovery = self.recovery_nonce();
        if recovery.is_some() {
            out.ready.persist.push(Record::Stood { ballot });
        }
        self.role = Role::Candidate(Preparing {
            ballot,
            first_slot: self.chosen_upto,
            recovery,
            promises: BTreeMap::new(),
            started_ticks: self.ticks,
        });
        self.broadcast(
            Message::Prepare {
                ballot,
                first_slot: self.chosen_upto,
                recovery,
            },
            out,
        );
    }

    /// An amnesiac's prepares carry a nonce of its incarnation: its seed,
    /// which drivers draw afresh for every amnesiac start (see
    /// [`Replica::amnesiac`]). `None` for a voting replica.
    pub(crate) fn recovery_nonce(&self) -> Option<u64> {
        if self.config.fault(|f| f.reuse_amnesiac_ballot) {
            return None;
        }
        self.amnesia.as_ref().map(|_| self.config.seed)
    }

    /// The log time of an entry this leader proposes now: the log time it
    /// found when it took over, advanced by the ticks it has led since. Never
    /// its raw tick count, which restarts at 0 with the process and differs
    /// between replicas: log time must neither freeze nor jump across a
    /// leader change, or sessions and leases expire early.
    pub(crate) fn proposal_log_ticks(&self) -> u64 {
        match &self.role {
            Role::Leader(l) if !self.config.fault(|f| f.raw_ticks_log_time) => l
                .log_base_ticks
                .saturating_add(self.ticks - l.led_since_ticks)
                .max(self.log_ticks),
            _ => self.ticks.max(self.log_ticks),
        }
    }

    /// A leader that learns a later log time than it would propose (from a
    /// snapshot or entries it lagged behind when it took over) goes on from
    /// there: with its base fixed at takeover, log time would freeze for as
    /// long as it lagged, and leases and sessions would outlive their time.
    pub(crate) fn rebase_log_time(&mut self) {
        if self.config.fault(|f| f.raw_ticks_log_time) {
            return;
        }
        let (ticks, log_ticks) = (self.ticks, self.log_ticks);
        if let Role::Leader(l) = &mut self.role {
            let now = l.log_base_ticks.saturating_add(ticks - l.led_since_ticks);
            if log_ticks > now {
                l.log_base_ticks = log_ticks;
                l.led_since_ticks = ticks;
            }
        }
    }

    /// Phase 1b received.
    #[allow(clippy::type_complexity)]
    pub(crate) fn on_promise(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        recovery: Option<u64>,
        snapshot_upto: Slot,
        accepted: Vec<(Slot, Ballot, SharedEntry<S::Command>)>,
        out: &mut Out<S>,
    ) {
        let lead = self.config.max_slot_lead;
        let known = self.known_chosen_upto;
        let chosen_upto = self.chosen_upto;
        let bounded = !self.config.fault(|f| f.unbounded_promise);
        let Role::Candidate(p) = &mut self.role else {
            return;
        };
        if p.ballot != ballot
            || p.recovery != recovery
            || accepted.len() as u64 > lead.saturating_mul(4)
        {
            return; // stale (or an earlier incarnation's), or oversized
        }
        // An acceptor accepts only below its chosen bound plus `max_slot_lead`
        // (`on_accept`). A slot further beyond what we hold chosen (or the
        // promiser's snapshot) means we lag, or the message is malformed:
        // catch up, never fill the gap. The bound is not what we were merely
        // told is chosen (`known_chosen_upto`): any member's commit raises
        // that without limit, and every slot up to it would be ours to fill.
        let limit = p
            .first_slot
            .max(chosen_upto)
            .max(snapshot_upto)
            .saturating_add(lead);
        let beyond = accepted
            .iter()
            .map(|(s, _, _)| *s)
            .filter(|s| *s >= limit)
            .max();
        if let (Some(far), true) = (beyond, bounded) {
            self.known_chosen_upto = known.max(far - lead);
            let from_slot = self.chosen_upto;
            self.send(from, Message::Fetch { from_slot }, out);
            return;
        }
        p.promises.insert(from, (snapshot_upto, accepted));
        let enough = if self.amnesia.is_some() {
            // The recovery round needs every other replica's promise: each
            // persisted its own ballots before sending them, so a ballot above
            // all their promises is above every ballot we may have promised
            // before losing our records.
            p.promises.len() + 1 >= self.config.members.len()
        } else {
            self.config.effective_quorums().is_phase1(p.promises.len())
        };
        if enough {
            self.become_leader(out);
        }
    }

    /// Phase 1 done: adopt (P2c), fill gaps with no-ops, start phase 2.
    fn become_leader(&mut self, out: &mut Out<S>) {
        let Role::Candidate(p) = std::mem::replace(&mut self.role, Role::Follower) else {
            return;
        };
        let skip_adopt = self.config.fault(|f| f.skip_adopt_highest_accepted);
        let amnesiac = self.amnesia.is_some();
        let max_snap = p
            .promises
            .values()
            .map(|(snap, _)| *snap)
            .max()
            .unwrap_or(0);
        let min_snap = p
            .promises
            .values()
            .map(|(snap, _)| *snap)
            .min()
            .unwrap_or(0);
        if amnesiac && self.chosen_upto < max_snap {
            // Recovery re-proposes every slot a peer has not snapshotted; we
            // must know the chosen ones first. Catch up, stand again later.
            if let Some((&peer, _)) = p.promises.iter().max_by_key(|(_, (s, _))| *s) {
                self.known_chosen_upto = self.known_chosen_upto.max(max_snap);
                self.send(
                    peer,
                    Message::Fetch {
                        from_slot: self.chosen_upto,
                    },
                    out,
                );
            }
            return;
        }
        // Slots below a promiser's snapshot are chosen: never propose there.
        // An amnesiac leader's recovery round starts lower, at the first slot
        // some peer still holds (below it, every peer's snapshot reports it).
        let start = if amnesiac {
            min_snap.max(self.snapshot_upto)
        } else {
            max_snap.max(p.first_slot).max(self.snapshot_upto)
        };
        let mut highest: BTreeMap<Slot, (Ballot, SharedEntry<S::Command>)> = BTreeMap::new();
        for (_, accepted) in p.promises.values() {
            for (slot, b, entry) in accepted {
                if *slot < start || skip_adopt {
                    continue;
                }
                match highest.get(slot) {
                    Some((hb, _)) if hb >= b => {}
                    _ => {
                        highest.insert(*slot, (*b, Arc::clone(entry)));
                    }
                }
            }
        }
        let end = highest
            .keys()
            .next_back()
            .map_or(start, |s| s.saturating_add(1))
            .max(
                self.chosen
                    .keys()
                    .next_back()
                    .map_or(0, |s| s.saturating_add(1)),
            )
            .max(start)
            .max(self.chosen_upto);
        let promisers: Vec<NodeId> = p.promises.keys().copied().collect();
        // The promiser whose snapshot is furthest ahead can fill our gap.
        let far = p
            .promises
            .iter()
            .max_by_key(|(_, (snap, _))| *snap)
            .map(|(id, (snap, _))| (*id, *snap));
        self.leader_hint = Some(self.config.id);
        // Log time goes on from the latest the leader can see: applied, or in
        // an entry it knows chosen or adopts.
        let log_ticks = self
            .chosen
            .values()
            .chain(highest.values().map(|(_, e)| e))
            .map(|e| e.log_ticks)
            .fold(self.log_ticks, u64::max);
        let mut leading = Leading {
            log_base_ticks: log_ticks,
            led_since_ticks: self.ticks,
            ballot: p.ballot,
            first_slot: start,
            next_slot: end,
            promisers,
            in_flight: BTreeMap::new(),
            heartbeat_due_ticks: self.ticks + self.config.heartbeat_ticks,
            announced_upto: 0,
            read_round: 0,
            round_acks: BTreeMap::new(),
            reads: Vec::new(),
            tick_in_flight: BTreeSet::new(),
            recovery: BTreeSet::new(),
        };
        let mut accepts = Vec::new();
        for slot in start..end {
            let known = self.chosen.get(&slot).map(Arc::clone);
            if !amnesiac && (slot < self.chosen_upto || known.is_some()) {
                continue; // never propose at a slot known chosen
            }
            // Recovery re-proposes a known chosen value itself (the same value:
            // harmless), so that a quorum without us holds it in this ballot.
            let entry = match (known, highest.remove(&slot)) {
                (Some(e), _) | (None, Some((_, e))) => e,
                (None, None) => Arc::new(Entry::noop(log_ticks)),
            };
            if amnesiac {
                leading.recovery.insert(slot);
            }
            leading.in_flight.insert(
                slot,
                InFlight {
                    entry: Arc::clone(&entry),
                    acks: BTreeSet::new(),
                },
            );
            accepts.push((slot, entry));
        }
        let ballot = leading.ballot;
        self.role = Role::Leader(Box::new(leading));
        for (slot, entry) in accepts {
            self.broadcast(
                Message::Accept {
                    ballot,
                    slot,
                    entry,
                    chosen_upto: self.chosen_upto,
                },
                out,
            );
        }
        if let Some((peer, snap)) = far {
            if snap > self.chosen_upto && peer != self.config.id {
                self.known_chosen_upto = self.known_chosen_upto.max(snap);
                self.send(
                    peer,
                    Message::Fetch {
                        from_slot: self.chosen_upto,
                    },
                    out,
                );
            }
        }
        // Announce the leadership (and what is chosen) at once.
        self.heartbeat_commit_only(out);
    }

    /// Proposes queued commands, a batch per slot, while the window allows.
    /// Slot `u64::MAX` is never proposed: a log that reaches it (only a
    /// malformed snapshot can take it there) keeps its commands queued, and
    /// clients get `Busy` once the queue is full.
    ///
    /// # Panics
    ///
    /// If the next slot is one this leader knows chosen: a leader that
    /// learns a slot at or past its `next_slot` steps down (`learn`), so this
    /// would propose a second value at a chosen slot.
    pub(crate) fn propose(&mut self, out: &mut Out<S>) {
        let log_ticks = self.proposal_log_ticks();
        let max_batch = self.config.max_batch;
        let window = self.config.window;
        let chosen_upto = self.chosen_upto;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        let mut accepts = Vec::new();
        while !self.queue.is_empty() && (l.in_flight.len() as u64) < window {
            let slot = l.next_slot;
            let Some(next_slot) = slot.checked_add(1) else {
                break; // the log is full
            };
            assert!(
                slot >= chosen_upto && !self.chosen.contains_key(&slot),
                "leader of {} would propose at chosen slot {slot} (chosen below {chosen_upto})",
                l.ballot
            );
            l.next_slot = next_slot;
            let n = self.queue.len().min(max_batch);
            let proposals: Vec<Proposal<S::Command>> = self.queue.drain(..n).collect();
            let entry = Arc::new(Entry {
                log_ticks,
                proposals,
            });
            l.in_flight.insert(
                slot,
                InFlight {
                    entry: Arc::clone(&entry),
                    acks: BTreeSet::new(),
                },
            );
            accepts.push((slot, entry));
        }
        let ballot = l.ballot;
        if !accepts.is_empty() {
            l.announced_upto = chosen_upto;
        }
        for (slot, entry) in accepts {
            self.broadcast(
                Message::Accept {
                    ballot,
                    slot,
                    entry,
                    chosen_upto,
                },
                out,
            );
        }
    }

    /// Phase 2b received: a quorum makes the slot chosen.
    pub(crate) fn on_accepted(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        out: &mut Out<S>,
    ) {
        let quorums = self.config.effective_quorums();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot {
            return;
        }
        let Some(f) = l.in_flight.get_mut(&slot) else {
            return;
        };
        f.acks.insert(from);
        if quorums.is_phase2(f.acks.len()) {
            let f = l.in_flight.remove(&slot).expect("present above");
            l.recovery.remove(&slot);
            self.learn(slot, f.entry, out);
        }
    }

    /// A higher ballot exists: stop leading (or preparing) and back off.
    pub(crate) fn on_nack(&mut self, ballot: Ballot, promised: Ballot, out: &mut Out<S>) {
        self.note_ballot(promised);
        let mine = match &self.role {
            Role::Follower => return,
            Role::Candidate(p) => p.ballot,
            Role::Leader(l) => l.ballot,
        };
        // An amnesiac's recovery ballot is refused at equality too: someone
        // holds it already, maybe from an earlier incarnation.
        let recovering = matches!(&self.role, Role::Candidate(p) if p.recovery.is_some());
        if ballot == mine && (promised > mine || (recovering && promised == mine)) {
            self.step_down(Some(promised.node), out);
            self.reset_election_timer();
        }
    }

    /// Gives up leading or preparing. Queued commands were never proposed
    /// (definite `NotLeader`); commands in flight may still be chosen
    /// (indefinite `Unknown`).
    pub(crate) fn step_down(&mut self, hint: Option<crate::paxos::NodeId>, out: &mut Out<S>) {
        let role = std::mem::replace(&mut self.role, Role::Follower);
        if hint.is_some() {
            self.leader_hint = hint;
        } else if self.leader_hint == Some(self.config.id) {
            self.leader_hint = None;
        }
        let Role::Leader(l) = role else {
            return;
        };
        let hint = self.leader_hint;
        for p in std::mem::take(&mut self.queue) {
            if let Proposal::Client { client_id, seq, .. } = p {
                self.waiting.remove(&(client_id, seq));
                out.ready.replies.push(super::message::ClientReply {
                    client_id,
                    seq,
                    outcome: Outcome::NotLeader { hint },
                });
            }
        }
        for (client_id, seq) in std::mem::take(&mut self.waiting).into_keys() {
            out.ready.replies.push(super::message::ClientReply {
                client_id,
                seq,
                outcome: Outcome::Unknown { hint },
            });
        }
        for r in l.reads {
            out.ready.replies.push(super::message::ClientReply {
                client_id: r.client_id,
                seq: r.seq,
                outcome: Outcome::NotLeader { hint },
            });
        }
    }

    /// The leader's heartbeat: the chosen bound and read round to every
    /// acceptor, and retransmission of accepts not yet answered.
    pub(crate) fn heartbeat(&mut self, out: &mut Out<S>) {
        let chosen_upto = self.chosen_upto;
        let ticks = self.ticks;
        let heartbeat_ticks = self.config.heartbeat_ticks;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        l.heartbeat_due_ticks = ticks + heartbeat_ticks;
        l.announced_upto = chosen_upto;
        let message = Message::Commit {
            ballot: l.ballot,
            first_slot: l.first_slot,
            chosen_upto,
            read_round: l.read_round,
            promisers: l.promisers.clone(),
        };
        let mut resend = Vec::new();
        for (slot, f) in &l.in_flight {
            for &to in &self.config.members {
                if !f.acks.contains(&to) {
                    resend.push((
                        to,
                        Message::Accept {
                            ballot: l.ballot,
                            slot: *slot,
                            entry: Arc::clone(&f.entry),
                            chosen_upto,
                        },
                    ));
                }
            }
        }
        for &to in &self.config.members {
            if to != self.config.id {
                self.send(to, message.clone(), out);
            }
        }
        for (to, m) in resend {
            self.send(to, m, out);
        }
    }

    /// One tick: elections, heartbeats, retransmission, tick commands.
    pub(crate) fn on_tick(&mut self, out: &mut Out<S>) {
        self.ticks += 1;
        let heartbeat_ticks = self.config.heartbeat_ticks;
        match &self.role {
            Role::Leader(l) => {
                if self.ticks >= l.heartbeat_due_ticks {
                    self.heartbeat(out);
                }
                self.propose_tick_commands();
            }
            Role::Candidate(p) => {
                if self.ticks - p.started_ticks >= self.election_timeout_ticks {
                    self.start_election(out);
                } else if (self.ticks - p.started_ticks) % heartbeat_ticks == 0 {
                    // Retransmit the prepare to those that did not promise.
                    let (ballot, first_slot, recovery) = (p.ballot, p.first_slot, p.recovery);
                    let missing: Vec<NodeId> = self
                        .config
                        .members
                        .iter()
                        .copied()
                        .filter(|m| !p.promises.contains_key(m))
                        .collect();
                    for to in missing {
                        let prepare = Message::Prepare {
                            ballot,
                            first_slot,
                            recovery,
                        };
                        self.send(to, prepare, out);
                    }
                }
            }
            Role::Follower => {
                // An amnesiac replica stands too, as a proposer only (its own
                // acceptor answers nothing): a ballot it starts is one that
                // began after its restart, which is what it waits for.
                if self.ticks - self.heard_ticks >= self.election_timeout_ticks
                    && !self.recovery_would_depose()
                {
                    self.start_election(out);
                }
            }
        }
        // A replica that knows it lags (or is amnesiac) asks a peer once an
        // election timeout (not every heartbeat: an answer may be a whole
        // snapshot, see `snapshot_arriving`); a leader too, or one lost fetch
        // would stall it for good (its heartbeats keep anyone else from
        // standing).
        let leads = matches!(self.role, Role::Leader(_));
        let leader_may_fetch = !self.config.fault(|f| f.leader_never_fetches);
        if self.ticks % self.config.election_timeout_ticks.max(1) == 0
            && (!leads || leader_may_fetch)
            && (self.chosen_upto < self.known_chosen_upto || self.amnesia.is_some())
            && !self.snapshot_arriving()
        {
            let peers: Vec<NodeId> = self
                .config
                .members
                .iter()
                .copied()
                .filter(|m| *m != self.config.id)
                .collect();
            if !peers.is_empty() {
                let to = match self.leader_hint {
                    Some(h) if h != self.config.id && self.amnesia.is_none() => h,
                    _ => {
                        peers[(super::replica::splitmix64(&mut self.rng) % peers.len() as u64)
                            as usize]
                    }
                };
                let from_slot = self.chosen_upto;
                self.send(to, Message::Fetch { from_slot }, out);
            }
        }
    }

    /// Whether an amnesiac's recovery round now would only depose a live
    /// leader: it lags behind what that leader announced chosen, or a
    /// snapshot is arriving. Its prepare outbids the leader at every
    /// promiser, and `become_leader` then gives the round up to fetch
    /// (a promiser's snapshot is above its chosen bound). With snapshots
    /// every few slots each fetch is answered by a whole snapshot, the
    /// leader snapshots again meanwhile, and the amnesiac deposed every
    /// leader once an election timeout for good (swarm seed 400 of `synod
    /// sim`: 33 recovery rounds in the liveness phase, none completed, two
    /// clients never answered). It stands once it has caught up, or once no
    /// leader has been heard for an election timeout (a recovery round may
    /// be the only way to a quorum then).
    fn recovery_would_depose(&self) -> bool {
        let leader_live = self
            .amnesia
            .as_ref()
            .and_then(|a| a.leader_heard_ticks)
            .is_some_and(|t| self.ticks - t < self.election_timeout_ticks);
        leader_live && (self.chosen_upto < self.known_chosen_upto || self.snapshot_arriving())
    }

    /// Queues the state machine's own commands (lock expiry) for the log, each
    /// once while in flight.
    fn propose_tick_commands(&mut self) {
        if self.queue.len() >= self.config.max_pending_requests {
            return;
        }
        let now = self.proposal_log_ticks();
        let commands = self.state.tick_commands(now);
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        for c in commands {
            if l.tick_in_flight.insert(c.clone()) {
                self.queue.push_back(Proposal::Tick(c));
            }
        }
    }

    /// The chosen bound alone (no retransmission), when it advanced without an
    /// accept to carry it.
    pub(crate) fn heartbeat_commit_only(&mut self, out: &mut Out<S>) {
        let chosen_upto = self.chosen_upto;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        l.announced_upto = chosen_upto;
        let message = Message::Commit {
            ballot: l.ballot,
            first_slot: l.first_slot,
            chosen_upto,
            read_round: l.read_round,
            promisers: l.promisers.clone(),
        };
        for &to in &self.config.members {
            if to != self.config.id {
                self.send(to, message.clone(), out);
            }
        }
    }

    /// Paxos Made Live's rule, made precise. An amnesiac replica may vote
    /// again once a complete instance that started after its restart ran
    /// without it. Here: its own ballot `b`, begun after the restart, promised
    /// by every other replica (so `b` is above every ballot anyone started,
    /// hence above all we forgot promising), and every slot some peer still
    /// holds re-accepted in `b` by a quorum of the others. Any later phase-1
    /// quorum then meets one of those acceptors and learns every value we may
    /// have accepted before; slots below are in every peer's snapshot.
    pub(crate) fn end_amnesia_if_recovered(&mut self, out: &mut Out<S>) {
        let (Some(_), Role::Leader(l)) = (&self.amnesia, &self.role) else {
            return;
        };
        if !l.recovery.is_empty() {
            return;
        }
        let ballot = l.ballot;
        self.amnesia = None;
        if ballot > self.promised {
            self.promised = ballot;
            out.ready
                .persist
                .push(super::message::Record::Promise { ballot });
        }
        out.ready
            .persist
            .push(super::message::Record::Amnesia { voting: true });
    }
}
