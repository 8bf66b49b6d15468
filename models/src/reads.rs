//! The read-confirmation ghost: what a server must have heard before it
//! answers a linearizable read.
//!
//! The promise (`synod::paxos` read index): a read is answered by the leader
//! of a ballot only after a quorum, the leader included, confirmed after
//! the read arrived that none of them had promised a higher ballot. The
//! ghost watches only the server's inputs and outputs, never its internal
//! bookkeeping: when a read request arrives it opens an entry (the server's
//! ballot and read round just after the arrival); every `CommitAck` of that
//! ballot delivered afterwards, for that round or a later one, adds its
//! sender; an `Ok` answer to the read must find the server leading that
//! ballot and a majority of the cluster (itself and the senders). An answer
//! that does not is recorded, and the `read confirmed by a quorum` property
//! reports it.
//!
//! The round filter keeps a stale acknowledgement (one sent before the read
//! arrived, redelivered by a duplicating network) from counting: the round
//! is the one the leader started for this read.

use std::collections::{BTreeMap, BTreeSet};

use synod::kv::{Command, KvStore};
use synod::paxos::{Ballot, Input, Message, NodeId, Outcome, Ready, Status};

/// A read request waiting for its answer at one server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpenRead {
    /// The server's ballot just after the read arrived.
    pub ballot: Ballot,
    /// Its read round just after the read arrived.
    pub round: u64,
    /// Servers whose acknowledgement of `ballot`, round `round` or later,
    /// was delivered since.
    pub ackers: BTreeSet<NodeId>,
}

/// One server's read ghost (lost with the server's memory at a crash, as
/// the reads it holds are).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReadGhost {
    /// Reads received and not yet answered, by `(client id, seq)`.
    pub open: BTreeMap<(u64, u64), OpenRead>,
    /// A read answered `Ok` without a confirming quorum.
    pub unconfirmed: Option<(u64, u64)>,
}

/// What an input means to the ghost.
pub enum Seen {
    /// A read-only request `(client id, seq)` arrived.
    Read(u64, u64),
    /// An acknowledgement from `from` of read round `round` in `ballot`.
    Ack {
        /// The acceptor.
        from: NodeId,
        /// Its ballot.
        ballot: Ballot,
        /// The round it confirms.
        round: u64,
    },
    /// Anything else.
    Other,
}

impl Seen {
    /// Classifies `input` (before the step takes it).
    pub fn of(input: &Input<KvStore>) -> Seen {
        match input {
            Input::Request(r) if matches!(r.command, Command::Get { .. }) => {
                Seen::Read(r.client_id, r.seq)
            }
            Input::Message {
                from,
                message: Message::CommitAck { ballot, read_round },
            } => Seen::Ack {
                from: *from,
                ballot: *ballot,
                round: *read_round,
            },
            _ => Seen::Other,
        }
    }
}

impl ReadGhost {
    /// The ghost after a step that took `seen`, left the server with
    /// `status` and produced `ready`, in a cluster of `servers`.
    pub fn after(
        &self,
        seen: &Seen,
        status: &Status,
        ready: &Ready<KvStore>,
        servers: usize,
    ) -> ReadGhost {
        let mut g = self.clone();
        match *seen {
            Seen::Read(client, seq) => {
                // A copy of a read in progress joins it; one arriving in
                // another ballot starts anew, as the server does.
                let fresh = g.open.get(&(client, seq)).map(|r| r.ballot) != Some(status.ballot);
                if fresh {
                    let read = OpenRead {
                        ballot: status.ballot,
                        round: status.read_round,
                        ackers: BTreeSet::new(),
                    };
                    g.open.insert((client, seq), read);
                }
            }
            Seen::Ack {
                from,
                ballot,
                round,
            } => {
                for r in g.open.values_mut() {
                    if r.ballot == ballot && round >= r.round {
                        r.ackers.insert(from);
                    }
                }
            }
            Seen::Other => {}
        }
        for reply in &ready.replies {
            let Some(read) = g.open.remove(&(reply.client_id, reply.seq)) else {
                continue;
            };
            let confirmed = status.is_leader
                && status.ballot == read.ballot
                && read.ballot.node == status.id
                && read.ackers.len() + 1 > servers / 2;
            if matches!(reply.outcome, Outcome::Ok(_)) && !confirmed && g.unconfirmed.is_none() {
                g.unconfirmed = Some((reply.client_id, reply.seq));
            }
        }
        g
    }
}
