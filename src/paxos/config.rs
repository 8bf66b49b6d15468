//! A replica's configuration: its name, the fixed member set, timing in ticks,
//! every limit, and the seed of its only randomness.

use serde::{Deserialize, Serialize};

use super::ballot::NodeId;
use super::quorum::{QuorumError, Quorums};

/// Planted bugs for the verifiers' teeth (DESIGN.md, "faults"). Each replica
/// has its own; all off by default. Compiled only with the `faults` feature.
#[cfg(feature = "faults")]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Faults {
    /// `Replica::recover` drops the acceptor's promises and accepted values.
    pub forget_promises_on_restart: bool,
    /// A new leader ignores the values reported in promises (breaks P2c).
    pub skip_adopt_highest_accepted: bool,
    /// Every quorum is one replica smaller than configured.
    pub quorum_one_short: bool,
    /// Linearizable reads are answered at once from local state, on any replica.
    pub local_reads: bool,
    /// An amnesiac replica votes at once instead of waiting (Paxos Made Live).
    pub ignore_amnesia_rule: bool,
    /// A leader that learns another value for a slot it proposed keeps
    /// leading, so its commits teach acceptors a value never chosen.
    pub commit_teaches_unchosen: bool,
    /// An amnesiac neither records the ballot it stands with nor sends a
    /// nonce, and acceptors promise its recovery ballot at equality: an
    /// incarnation after a crash or a second wipe reuses a ballot.
    pub reuse_amnesiac_ballot: bool,
    /// A leader stamps entries with its raw tick count, which restarts at 0
    /// and differs between replicas: log time freezes and jumps, and sessions
    /// expire early.
    pub raw_ticks_log_time: bool,
    /// A request from a client with no session is applied whatever its
    /// sequence number (it opens a session): a retry whose session expired or
    /// was evicted applies twice. With `raw_ticks_log_time`, defect 3 as found.
    pub sessionless_apply: bool,
    /// A leader never fetches on ticks: one lost fetch stalls it.
    pub leader_never_fetches: bool,
    /// A promise's slots are not bounded: one promise makes a leader fill and
    /// broadcast every slot up to it.
    pub unbounded_promise: bool,
    /// A repeated `(client id, seq)` found in the log (a retry chosen in a
    /// second slot) is applied again, besides being answered from the
    /// session table: exactly-once broken.
    pub reapply_repeated_seq: bool,
}

#[cfg(feature = "faults")]
impl Faults {
    /// Every plant's name: its field's.
    pub const NAMES: [&'static str; 12] = [
        "forget_promises_on_restart",
        "skip_adopt_highest_accepted",
        "quorum_one_short",
        "local_reads",
        "ignore_amnesia_rule",
        "commit_teaches_unchosen",
        "reuse_amnesiac_ballot",
        "raw_ticks_log_time",
        "sessionless_apply",
        "leader_never_fetches",
        "unbounded_promise",
        "reapply_repeated_seq",
    ];

    /// Turns on the plant named `name` (a field's name, [`Faults::NAMES`]).
    pub fn plant(&mut self, name: &str) -> Result<(), String> {
        let switch = match name {
            "forget_promises_on_restart" => &mut self.forget_promises_on_restart,
            "skip_adopt_highest_accepted" => &mut self.skip_adopt_highest_accepted,
            "quorum_one_short" => &mut self.quorum_one_short,
            "local_reads" => &mut self.local_reads,
            "ignore_amnesia_rule" => &mut self.ignore_amnesia_rule,
            "commit_teaches_unchosen" => &mut self.commit_teaches_unchosen,
            "reuse_amnesiac_ballot" => &mut self.reuse_amnesiac_ballot,
            "raw_ticks_log_time" => &mut self.raw_ticks_log_time,
            "sessionless_apply" => &mut self.sessionless_apply,
            "leader_never_fetches" => &mut self.leader_never_fetches,
            "unbounded_promise" => &mut self.unbounded_promise,
            "reapply_repeated_seq" => &mut self.reapply_repeated_seq,
            other => {
                return Err(format!(
                    "no plant {other:?}; the plants: {}",
                    Faults::NAMES.join(", ")
                ))
            }
        };
        *switch = true;
        Ok(())
    }
}

/// The configuration of one replica. Build it with [`Config::new`], adjust the
/// public fields, and [`Config::validate`] it (the replica constructors do).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Config {
    /// This replica's name; one of `members`.
    pub id: NodeId,
    /// Every replica of the cluster, sorted, without duplicates.
    pub members: Vec<NodeId>,
    /// Quorum sizes (majorities by default).
    pub quorums: Quorums,
    /// Seed of the replica's deterministic randomness (election backoff).
    pub seed: u64,
    /// A follower that hears no leader for this many ticks (plus a seeded random
    /// part of up to as many again) stands for election.
    pub election_timeout_ticks: u64,
    /// A leader sends a heartbeat (commit index and read-index round) and
    /// retransmits unanswered messages every this many ticks.
    pub heartbeat_ticks: u64,
    /// Most slots a leader keeps in flight (proposed, not yet chosen).
    pub window: u64,
    /// Most client commands batched into one slot.
    pub max_batch: usize,
    /// Snapshot the state machine every this many applied slots (0: never).
    pub snapshot_interval: u64,
    /// Largest snapshot chunk sent in one message, in bytes.
    pub max_message_bytes: usize,
    /// Largest snapshot a replica accepts to install, in bytes.
    pub max_snapshot_bytes: usize,
    /// Most client sessions kept; a first request beyond it is not applied
    /// (answered `Unknown`) until sessions expire, never by evicting a live
    /// session.
    pub max_sessions: usize,
    /// A session unused for this many ticks of log time expires.
    pub session_timeout_ticks: u64,
    /// Most client requests (writes queued or in flight, reads waiting) a
    /// replica holds; more are answered `Busy`.
    pub max_pending_requests: usize,
    /// Most chosen entries sent in one `Learn` message.
    pub max_learn_entries: usize,
    /// An acceptor ignores an accept for a slot this far or further beyond its
    /// first unchosen slot (it catches up by fetching instead).
    pub max_slot_lead: u64,
    /// Planted bugs; all off by default.
    #[cfg(feature = "faults")]
    pub faults: Faults,
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// No members.
    #[error("the member set is empty")]
    NoMembers,
    /// The member list is not sorted or has duplicates.
    #[error("members must be sorted and distinct, got {0:?}")]
    MembersNotSorted(Vec<NodeId>),
    /// `id` is not a member.
    #[error("replica id {id} is not among the members {members:?}")]
    NotAMember {
        /// The id.
        id: NodeId,
        /// The members.
        members: Vec<NodeId>,
    },
    /// The quorum sizes do not fit the member set.
    #[error("quorums: {0}")]
    Quorum(#[from] QuorumError),
    /// Quorum sizes were made for another number of members.
    #[error("quorums are sized for {quorum_members} members, the cluster has {members}")]
    QuorumMembers {
        /// Members in the quorum spec.
        quorum_members: usize,
        /// Actual members.
        members: usize,
    },
    /// A limit that must be positive is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// Timing that cannot work.
    #[error("heartbeat_ticks ({heartbeat}) must be below election_timeout_ticks ({election})")]
    Timing {
        /// Heartbeat.
        heartbeat: u64,
        /// Election timeout.
        election: u64,
    },
    /// `max_slot_lead` must leave room for the window.
    #[error("max_slot_lead ({lead}) must be above window ({window})")]
    SlotLead {
        /// Lead.
        lead: u64,
        /// Window.
        window: u64,
    },
}

impl Config {
    /// Defaults for replica `id` of `members` (sorted here), validated.
    pub fn new(
        id: NodeId,
        members: impl IntoIterator<Item = NodeId>,
    ) -> Result<Config, ConfigError> {
        let mut members: Vec<NodeId> = members.into_iter().collect();
        members.sort_unstable();
        let n = members.len();
        let config = Config {
            id,
            quorums: Quorums::majority(n),
            members,
            seed: id,
            election_timeout_ticks: 10,
            heartbeat_ticks: 2,
            window: 64,
            max_batch: 64,
            snapshot_interval: 1024,
            max_message_bytes: 64 * 1024,
            max_snapshot_bytes: 256 * 1024 * 1024,
            max_sessions: 10_000,
            session_timeout_ticks: 100_000,
            max_pending_requests: 100_000,
            max_learn_entries: 256,
            max_slot_lead: 4096,
            #[cfg(feature = "faults")]
            faults: Faults::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks every field; the replica constructors call it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.members.is_empty() {
            return Err(ConfigError::NoMembers);
        }
        if self.members.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ConfigError::MembersNotSorted(self.members.clone()));
        }
        if !self.members.contains(&self.id) {
            return Err(ConfigError::NotAMember {
                id: self.id,
                members: self.members.clone(),
            });
        }
        if self.quorums.members != self.members.len() {
            return Err(ConfigError::QuorumMembers {
                quorum_members: self.quorums.members,
                members: self.members.len(),
            });
        }
        self.quorums.validate()?;
        for (name, value) in [
            ("election_timeout_ticks", self.election_timeout_ticks),
            ("heartbeat_ticks", self.heartbeat_ticks),
            ("window", self.window),
            ("max_batch", self.max_batch as u64),
            ("max_message_bytes", self.max_message_bytes as u64),
            ("max_snapshot_bytes", self.max_snapshot_bytes as u64),
            ("max_sessions", self.max_sessions as u64),
            ("session_timeout_ticks", self.session_timeout_ticks),
            ("max_pending_requests", self.max_pending_requests as u64),
            ("max_learn_entries", self.max_learn_entries as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.heartbeat_ticks >= self.election_timeout_ticks {
            return Err(ConfigError::Timing {
                heartbeat: self.heartbeat_ticks,
                election: self.election_timeout_ticks,
            });
        }
        if self.max_slot_lead <= self.window {
            return Err(ConfigError::SlotLead {
                lead: self.max_slot_lead,
                window: self.window,
            });
        }
        Ok(())
    }

    /// The quorum sizes in force (one short under the planted fault).
    pub(crate) fn effective_quorums(&self) -> Quorums {
        #[cfg(feature = "faults")]
        if self.faults.quorum_one_short {
            let mut q = self.quorums;
            q.phase1 = q.phase1.saturating_sub(1).max(1);
            q.phase2 = q.phase2.saturating_sub(1).max(1);
            return q;
        }
        self.quorums
    }

    /// Whether planted fault `f` is on.
    #[allow(unused_variables)]
    pub(crate) fn fault(&self, f: impl Fn(&ConfigFaults) -> bool) -> bool {
        #[cfg(feature = "faults")]
        {
            f(&self.faults)
        }
        #[cfg(not(feature = "faults"))]
        {
            false
        }
    }
}

/// The fault switches as seen by the core ([`Faults`] with the feature, an
/// empty type without it, so call sites compile either way).
#[cfg(feature = "faults")]
pub(crate) type ConfigFaults = Faults;
/// Without the `faults` feature there are no switches.
#[allow(dead_code)]
#[cfg(not(feature = "faults"))]
pub(crate) struct ConfigFaults {
    pub(crate) forget_promises_on_restart: bool,
    pub(crate) skip_adopt_highest_accepted: bool,
    pub(crate) local_reads: bool,
    pub(crate) ignore_amnesia_rule: bool,
    pub(crate) commit_teaches_unchosen: bool,
    pub(crate) reuse_amnesiac_ballot: bool,
    pub(crate) raw_ticks_log_time: bool,
    pub(crate) sessionless_apply: bool,
    pub(crate) leader_never_fetches: bool,
    pub(crate) unbounded_promise: bool,
    pub(crate) reapply_repeated_seq: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_new_rejects_bad_member_sets() {
        assert!(Config::new(1, [1, 2, 3]).is_ok());
        assert_eq!(Config::new(1, []), Err(ConfigError::NoMembers));
        assert!(matches!(
            Config::new(4, [1, 2, 3]),
            Err(ConfigError::NotAMember { .. })
        ));
        assert!(matches!(
            Config::new(1, [1, 1, 2]),
            Err(ConfigError::MembersNotSorted(_))
        ));
        let mut c = Config::new(1, [1, 2, 3]).unwrap();
        c.window = 0;
        assert_eq!(c.validate(), Err(ConfigError::Zero("window")));
        c.window = 8;
        c.heartbeat_ticks = 20;
        assert!(matches!(c.validate(), Err(ConfigError::Timing { .. })));
    }
}
