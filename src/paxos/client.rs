//! Client requests: writes are queued for the log (bounded: `Busy` beyond
//! `max_pending_requests`); a non-leader answers `NotLeader`; a retry of a
//! request already applied is answered from the session table; read-only
//! commands go by their `ReadMode`.

use super::message::{ClientReply, ClientRequest, Outcome, ReadMode};
use super::replica::{Out, Replica, Role};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    pub(crate) fn on_request(&mut self, request: ClientRequest<S::Command>, out: &mut Out<S>) {
        let (client_id, seq) = (request.client_id, request.seq);
        let reply = |outcome| ClientReply {
            client_id,
            seq,
            outcome,
        };
        if let Some(answer) = self.state.query(&request.command) {
            let local = request.read_mode == ReadMode::Local
                || (request.read_mode == ReadMode::ReadIndex
                    && self.config.fault(|f| f.local_reads));
            if local {
                out.ready.replies.push(reply(Outcome::Ok(answer)));
                return;
            }
        }
        let is_leader = matches!(self.role, Role::Leader(_));
        if !is_leader {
            let hint = self.leader_hint.filter(|h| *h != self.config.id);
            out.ready.replies.push(reply(Outcome::NotLeader { hint }));
            return;
        }
        if self.pending_requests() >= self.config.max_pending_requests {
            out.ready.replies.push(reply(Outcome::Busy));
            return;
        }
        if let Some((command, answer)) = self.sessions.cached(client_id, seq) {
            // Already applied: its answer is replicated state, if this retry
            // carries the same command.
            let outcome = if *command == request.command {
                Outcome::Ok(answer.clone())
            } else {
                Outcome::SeqReused
            };
            out.ready.replies.push(reply(outcome));
            return;
        }
        if let Some(command) = self.waiting.get(&(client_id, seq)) {
            // A retry of a request in flight is answered when it applies;
            // another command under the same number never will be.
            if *command != request.command {
                out.ready.replies.push(reply(Outcome::SeqReused));
            }
            return;
        }
        // Checked after the session table: a read reusing a number already
        // spent on another command is refused like a write, and one reusing
        // an older number is stale, as a write would be when applied.
        let read_only = self.state.query(&request.command).is_some();
        if read_only && request.read_mode == ReadMode::ReadIndex {
            if self
                .sessions
                .last_seq(client_id)
                .is_some_and(|last| seq < last)
            {
                out.ready.replies.push(reply(Outcome::SessionStale));
                return;
            }
            self.read_index(request, out);
            return;
        }
        self.enqueue(request);
    }
}
