//! Reads. `ReadMode::ReadIndex`: the leader notes its read index (its next
//! slot: every slot it proposed or adopted lies below), confirms with a quorum
//! round that no higher ballot has completed phase 1 (an acceptor acks only
//! while it promised nothing above the leader's ballot), and answers once its
//! state has applied every slot below the index. `ReadMode::Log`: the read is
//! a log entry. `ReadMode::Local`: answered at once from local state, on any
//! replica (unsafe, like etcd's serializable reads).

use super::ballot::{Ballot, NodeId};
use super::message::{ClientReply, ClientRequest, Outcome};
use super::replica::{Out, PendingRead, Replica, Role};
use super::state_machine::StateMachine;

impl<S: StateMachine> Replica<S> {
    /// A read-only command in `ReadIndex` mode.
    pub(crate) fn read_index(&mut self, request: ClientRequest<S::Command>, out: &mut Out<S>) {
        let hint = self.leader_hint;
        let Role::Leader(l) = &mut self.role else {
            out.ready.replies.push(ClientReply {
                client_id: request.client_id,
                seq: request.seq,
                outcome: Outcome::NotLeader { hint },
            });
            return;
        };
        if l.reads
            .iter()
            .any(|r| r.client_id == request.client_id && r.seq == request.seq)
        {
            // A duplicate of a read in progress: its answer will serve both,
            // and a new round per copy would let a duplicating network make
            // the leader confirm without end.
            return;
        }
        l.read_round += 1;
        l.reads.push(PendingRead {
            client_id: request.client_id,
            seq: request.seq,
            command: request.command,
            read_index: l.next_slot,
            round: l.read_round,
        });
        // Confirm leadership now rather than at the next heartbeat.
        self.heartbeat_commit_only(out);
    }

    /// An acceptor confirmed read round `read_round` of our ballot.
    pub(crate) fn on_commit_ack(
        &mut self,
        from: NodeId,
        ballot: Ballot,
        read_round: u64,
        _out: &mut Out<S>,
    ) {
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot || read_round > l.read_round {
            return;
        }
        let acked = l.round_acks.entry(from).or_insert(0);
        *acked = (*acked).max(read_round);
    }

    /// The highest round a phase-1 quorum (this leader included) confirmed.
    fn confirmed_round(&self) -> u64 {
        let Role::Leader(l) = &self.role else {
            return 0;
        };
        let mut rounds: Vec<u64> = l
            .round_acks
            .iter()
            .filter(|(id, _)| **id != self.config.id)
            .map(|(_, r)| *r)
            .collect();
        rounds.push(l.read_round); // the leader confirms its own rounds
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let q = self.config.effective_quorums().phase1;
        rounds.get(q - 1).copied().unwrap_or(0)
    }

    /// Answers every read whose round is confirmed and whose index is applied.
    pub(crate) fn serve_reads(&mut self, out: &mut Out<S>) {
        let confirmed = self.confirmed_round();
        let applied = self.applied_upto;
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.reads.is_empty() {
            return;
        }
        let mut still = Vec::new();
        for r in std::mem::take(&mut l.reads) {
            if r.round <= confirmed && r.read_index <= applied {
                let outcome = match self.state.query(&r.command) {
                    Some(answer) => Outcome::Ok(answer),
                    // `query` said read-only when it came in; it cannot change.
                    None => Outcome::Unknown { hint: None },
                };
                out.ready.replies.push(ClientReply {
                    client_id: r.client_id,
                    seq: r.seq,
                    outcome,
                });
            } else {
                still.push(r);
            }
        }
        l.reads = still;
    }
}
