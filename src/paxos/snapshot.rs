//! Snapshots: every `snapshot_interval` applied slots the replica records a
//! snapshot (state machine, session table, log clock) and truncates its log
//! below it. A peer missing truncated slots gets the snapshot in chunks of at
//! most `max_message_bytes`; the receiver assembles them (in any order),
//! checks the size limit, and installs it.

use super::ballot::{NodeId, Slot};
use super::message::{ClientReply, Message, Outcome, Proposal, SnapshotImage};
use super::replica::{IncomingSnapshot, Out, Replica, Role};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// The current state as a snapshot image (covering every applied slot).
    pub(crate) fn image(&self) -> SnapshotImage<S> {
        SnapshotImage {
            upto: self.applied_upto,
            log_ticks: self.log_ticks,
            sessions: self.sessions.clone(),
            state: self.state.snapshot(),
        }
    }

    pub(crate) fn maybe_snapshot(&mut self, out: &mut Out<S>) {
        let interval = self.config.snapshot_interval;
        if interval == 0 || self.applied_upto - self.snapshot_upto < interval {
            return;
        }
        let image = self.image();
        let upto = image.upto;
        out.ready.persist.push(Self::snapshot_record(image));
        self.truncate(upto);
    }

    /// Whether a snapshot is arriving: a chunk came within the last
    /// election timeout. A fetch below a peer's snapshot makes it send the
    /// whole snapshot, so a replica receiving one does not fetch again
    /// (swarm seed 27: a lagging amnesiac fetched every heartbeat, each
    /// answer thousands of chunks, until no election got through the backlog
    /// for 3,000 ticks). Periodic fetches also go only once per election
    /// timeout (`on_tick`), and a leader's commit makes a lagging replica
    /// fetch only when it announces a higher chosen bound (`on_commit`).
    pub(crate) fn snapshot_arriving(&self) -> bool {
        self.incoming_snapshot.as_ref().is_some_and(|i| {
            self.ticks.saturating_sub(i.last_chunk_ticks) < self.config.election_timeout_ticks
        })
    }

    /// Sends the current state to `to` in chunks.
    pub(crate) fn send_snapshot(&mut self, to: NodeId, out: &mut Out<S>) {
        let image = self.image();
        let upto = image.upto;
        let Ok(bytes) = serde_json::to_vec(&image) else {
            return; // serde_json fails only on non-string map keys; none here
        };
        let total_len = bytes.len() as u64;
        for (i, chunk) in bytes.chunks(self.config.max_message_bytes).enumerate() {
            self.send(
                to,
                Message::SnapshotChunk {
                    upto,
                    offset: (i * self.config.max_message_bytes) as u64,
                    total_len,
                    data: chunk.to_vec(),
                },
                out,
            );
        }
    }

    pub(crate) fn on_snapshot_chunk(
        &mut self,
        upto: Slot,
        offset: u64,
        total_len: u64,
        data: Vec<u8>,
        out: &mut Out<S>,
    ) {
        if upto <= self.applied_upto
            || data.len() > self.config.max_message_bytes
            || total_len > self.config.max_snapshot_bytes as u64
            || offset
                .checked_add(data.len() as u64)
                .is_none_or(|end| end > total_len)
        {
            return; // stale, oversized or malformed
        }
        let replace = match &self.incoming_snapshot {
            Some(i) => upto > i.upto || (upto == i.upto && total_len != i.total_len),
            None => true,
        };
        if replace {
            self.incoming_snapshot = Some(IncomingSnapshot {
                upto,
                total_len,
                chunks: Default::default(),
                last_chunk_ticks: self.ticks,
            });
        }
        let Some(incoming) = &mut self.incoming_snapshot else {
            return;
        };
        if incoming.upto != upto {
            return; // older than the one being assembled
        }
        incoming.last_chunk_ticks = self.ticks;
        incoming.chunks.insert(offset, data);
        // Complete when the chunks tile [0, total_len).
        let mut end = 0u64;
        for (off, bytes) in &incoming.chunks {
            if *off > end {
                return;
            }
            end = end.max(off + bytes.len() as u64);
        }
        if end < total_len {
            return;
        }
        let mut bytes = Vec::with_capacity(total_len as usize);
        let mut at = 0u64;
        for (off, chunk) in &incoming.chunks {
            let skip = (at - off) as usize;
            if skip < chunk.len() {
                bytes.extend_from_slice(&chunk[skip..]);
                at = off + chunk.len() as u64;
            }
        }
        self.incoming_snapshot = None;
        let Ok(image) = serde_json::from_slice::<SnapshotImage<S>>(&bytes) else {
            return; // corrupt: dropped, the next fetch asks again
        };
        if image.upto != upto || image.upto <= self.applied_upto {
            return;
        }
        let Ok(state) = S::restore(&image.state) else {
            return;
        };
        // A leader whose proposals the snapshot covers cannot tell whether
        // they were chosen in its ballot, and slots at or past its next one
        // were chosen in a higher ballot: superseded (see `learn`).
        let covers_proposals = match &self.role {
            Role::Leader(l) => {
                image.upto > l.next_slot || l.in_flight.range(..image.upto).next().is_some()
            }
            _ => false,
        };
        if covers_proposals && !self.config.fault(|f| f.commit_teaches_unchosen) {
            self.step_down(None, out);
        }
        self.install_image(&image, state);
        self.advance_chosen_upto();
        out.ready.persist.push(Self::snapshot_record(image));
        self.answer_installed_requests(out);
    }

    /// A leader's requests that the snapshot applied are never applied here
    /// again, so `apply_chosen` would never answer them, and a retry finds
    /// them waiting and is dropped for ever (swarm seed 30 with partitions:
    /// a lagging leader chose a first request above a gap that a snapshot
    /// then filled, and that client was never answered). Each held request
    /// with no copy left queued, in flight or chosen above the snapshot is
    /// answered now: from the session table if it records this very
    /// request, else `Unknown` (it may or may not have been applied).
    fn answer_installed_requests(&mut self, out: &mut Out<S>) {
        let in_flight = match &self.role {
            Role::Leader(l) => Some(l.in_flight.values().map(|f| &f.entry)),
            _ => None,
        };
        let pending: Vec<&Proposal<S::Command>> = self
            .queue
            .iter()
            .chain(
                self.chosen
                    .values()
                    .chain(in_flight.into_iter().flatten())
                    .flat_map(|e| e.proposals.iter()),
            )
            .collect();
        let ticks: std::collections::BTreeSet<S::Command> = pending
            .iter()
            .filter_map(|p| match p {
                Proposal::Tick(c) => Some(c.clone()),
                Proposal::Client { .. } => None,
            })
            .collect();
        let pending: std::collections::BTreeSet<(u64, u64)> =
            pending.iter().filter_map(|p| p.client_key()).collect();
        // Tick commands the snapshot applied likewise: left marked in
        // flight, the same command would never be proposed again (review5).
        if let Role::Leader(l) = &mut self.role {
            l.tick_in_flight.retain(|c| ticks.contains(c));
        }
        let orphans: Vec<(u64, u64)> = self
            .waiting
            .keys()
            .filter(|k| !pending.contains(k))
            .copied()
            .collect();
        for (client_id, seq) in orphans {
            let Some(held) = self.waiting.remove(&(client_id, seq)) else {
                continue;
            };
            let outcome = match self.sessions.cached(client_id, seq) {
                Some((command, answer)) if *command == held => Outcome::Ok(answer.clone()),
                Some(_) => Outcome::SeqReused,
                None => Outcome::Unknown {
                    hint: self.leader_hint,
                },
            };
            out.ready.replies.push(ClientReply {
                client_id,
                seq,
                outcome,
            });
        }
    }
}
