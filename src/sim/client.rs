//! The simulated clients: one request outstanding each, retried until a
//! definite answer, given up as indeterminate after `op_timeout_ticks`, and a
//! fresh session (new client id, numbered from [`FIRST_SEQ`]) when the old
//! one is gone, as `node::client`'s `renew_session` does. Every invocation
//! and completion is recorded for the linearizability check.

use crate::paxos::{ClientReply, ClientRequest, Input, NodeId, Outcome, StateMachine, FIRST_SEQ};

use super::cluster::Sim;
use super::ghost::Violation;
use super::history::{ClientEvent, ClientEventKind};

impl<S: StateMachine> Sim<S> {
    /// Handles a reply sent by replica `from`.
    pub(super) fn on_reply(&mut self, _from: NodeId, reply: ClientReply<S::Response>) {
        let Some(k) = self.clients.iter().position(|c| c.id == reply.client_id) else {
            return; // a reply to a session this client has left
        };
        let n = self.nodes().len() as u64;
        let guess = (self.rng.below(n) + 1) as NodeId;
        let client = &mut self.clients[k];
        if client.outstanding.is_none() || client.seq != reply.seq {
            return;
        }
        match reply.outcome {
            Outcome::Ok(response) => {
                self.stats.acknowledged += 1;
                client.acknowledged += 1;
                client.outstanding = None;
                self.record(k, ClientEventKind::Ok(response));
            }
            // Sent once and refused: this request was never applied (client
            // requests reach replicas directly, never duplicated), so it may
            // be retried whole under a fresh session.
            Outcome::SessionExpired if client.attempts == 1 => self.renew(k, true),
            Outcome::SessionStale | Outcome::SessionExpired | Outcome::SeqReused => {
                self.give_up(k);
            }
            Outcome::NotLeader { hint } | Outcome::Unknown { hint } => {
                client.target = hint.unwrap_or(guess);
                if let Some((_, _, waited)) = &mut client.outstanding {
                    *waited = u64::MAX; // resend on its next turn
                }
            }
            Outcome::Busy => {}
        }
    }

    /// Client `k`'s request ends indeterminate (Jepsen's `:info`): its
    /// process retires and it continues with a fresh session.
    fn give_up(&mut self, k: usize) {
        self.stats.indeterminate += 1;
        self.record(k, ClientEventKind::Info);
        self.clients[k].outstanding = None;
        self.clients[k].process = 1_000_000 + self.next_client_id;
        self.renew(k, false);
    }

    /// Client `k` takes a fresh id numbered from [`FIRST_SEQ`]; with `keep`,
    /// its outstanding request moves to the new session and is resent.
    fn renew(&mut self, k: usize, keep: bool) {
        self.stats.renewals += 1;
        let id = self.next_client_id;
        self.next_client_id += 1;
        let client = &mut self.clients[k];
        client.id = id;
        client.seq = FIRST_SEQ - 1;
        if keep {
            client.seq = FIRST_SEQ;
            client.attempts = 0;
            if let Some((request, _, waited)) = &mut client.outstanding {
                request.client_id = id;
                request.seq = FIRST_SEQ;
                *waited = u64::MAX;
            }
        }
        self.note(|| format!("client {k} renews as {id}"));
    }

    fn record(&mut self, k: usize, kind: ClientEventKind<S::Command, S::Response>) {
        let process = self.clients[k].process;
        let step = self.stats.steps;
        self.events.push(ClientEvent {
            process,
            step,
            kind,
        });
    }

    /// A client's turn: a new request, a resend after a timeout, or giving
    /// the request up after `op_timeout_ticks`.
    pub(super) fn client_turn(&mut self, k: usize) -> Result<(), Violation> {
        let (retry, op_timeout) = (self.config.client_retry_turns, self.config.op_timeout_ticks);
        let n = self.nodes().len() as u64;
        let guess = (self.rng.below(n) + 1) as NodeId;
        let now = self.stats.ticks;
        let client = &self.clients[k];
        if client.outstanding.is_some()
            && op_timeout > 0
            && now.saturating_sub(client.invoked_ticks) > op_timeout
        {
            self.give_up(k);
            return Ok(());
        }
        if client.outstanding.is_none() {
            let client = &mut self.clients[k];
            client.seq += 1;
            let command = (self.command)(client.id, client.seq);
            let request = ClientRequest {
                client_id: client.id,
                seq: client.seq,
                command: command.clone(),
                read_mode: self.config.read_mode,
            };
            client.outstanding = Some((request, client.target, u64::MAX));
            client.invoked_ticks = now;
            client.attempts = 0;
            self.record(k, ClientEventKind::Invoke(command));
        }
        let client = &mut self.clients[k];
        let Some((request, target, waited)) = &mut client.outstanding else {
            return Ok(());
        };
        *waited = waited.saturating_add(1);
        if *waited <= retry {
            return Ok(());
        }
        if *waited != u64::MAX && client.attempts > 0 {
            client.target = guess; // no answer: try another replica
        }
        *target = client.target;
        *waited = 0;
        client.attempts += 1;
        let (request, target) = (request.clone(), *target);
        let i = self.index(target);
        self.input(i, Input::Request(request))
    }
}
