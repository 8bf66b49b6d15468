//! Quorum sizes: majorities by default, Flexible Paxos (Howard et al., 2016)
//! phase-1/phase-2 sizes on request. Every phase-1 quorum must intersect every
//! phase-2 quorum: `phase1 + phase2 > members`.

use serde::{Deserialize, Serialize};

/// The sizes of the phase-1 (prepare/promise) and phase-2 (accept/accepted)
/// quorums of a cluster of `members` replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quorums {
    /// Number of replicas.
    pub members: usize,
    /// Promises a proposer needs before phase 2 (and acks a read index needs).
    pub phase1: usize,
    /// Acceptances that make a value chosen.
    pub phase2: usize,
}

/// Quorum sizes that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuorumError {
    /// Some phase-1 quorum would miss some phase-2 quorum.
    #[error("phase-1 quorum {phase1} + phase-2 quorum {phase2} must exceed {members} members")]
    NoIntersection {
        /// Members.
        members: usize,
        /// Phase-1 size.
        phase1: usize,
        /// Phase-2 size.
        phase2: usize,
    },
    /// A phase-1 quorum of one in a cluster of more: a ballot would then be
    /// known to its proposer's acceptor alone, so a proposer whose disk is
    /// wiped could stand again with a ballot its earlier incarnation led, and
    /// that incarnation's delayed accepts would count in the new one.
    #[error("a phase-1 quorum of 1 in a cluster of {members}: a wiped replica could reuse a ballot only it knew (use 2 or more)")]
    LonePhase1 {
        /// Members.
        members: usize,
    },
    /// A phase-2 quorum of one in a cluster of more: a chosen value would
    /// then be held by one disk, and one wipe would lose it (the wiped
    /// replica's recovery round finds no trace of it and chooses again).
    #[error("a phase-2 quorum of 1 in a cluster of {members}: one wiped disk could lose a chosen value (use 2 or more)")]
    LonePhase2 {
        /// Members.
        members: usize,
    },
    /// A phase-2 quorum of every member in a cluster of more than two: a
    /// wiped replica's acceptor accepts nothing until it has recovered, so its
    /// recovery slots could never gather a quorum and it would lead, not
    /// voting, for ever.
    #[error("a phase-2 quorum of all {members} members: a wiped replica could never recover (use at most {members} - 1)")]
    FullPhase2 {
        /// Members.
        members: usize,
    },
    /// A size is zero or larger than the cluster.
    #[error("quorum sizes must be between 1 and {members}, got {phase1} and {phase2}")]
    OutOfRange {
        /// Members.
        members: usize,
        /// Phase-1 size.
        phase1: usize,
        /// Phase-2 size.
        phase2: usize,
    },
}

impl Quorums {
    /// Majorities for both phases.
    pub fn majority(members: usize) -> Quorums {
        let q = members / 2 + 1;
        Quorums {
            members,
            phase1: q,
            phase2: q,
        }
    }

    /// Flexible Paxos quorums, validated.
    pub fn flexible(members: usize, phase1: usize, phase2: usize) -> Result<Quorums, QuorumError> {
        let q = Quorums {
            members,
            phase1,
            phase2,
        };
        q.validate()?;
        Ok(q)
    }

    /// Checks that the sizes are in range and that the two phases intersect.
    pub fn validate(&self) -> Result<(), QuorumError> {
        let (members, phase1, phase2) = (self.members, self.phase1, self.phase2);
        if phase1 == 0 || phase2 == 0 || phase1 > members || phase2 > members {
            return Err(QuorumError::OutOfRange {
                members,
                phase1,
                phase2,
            });
        }
        if phase1 < 2 && members > 1 {
            return Err(QuorumError::LonePhase1 { members });
        }
        if phase2 < 2 && members > 1 {
            return Err(QuorumError::LonePhase2 { members });
        }
        if phase2 == members && members > 2 {
            return Err(QuorumError::FullPhase2 { members });
        }
        if phase1 + phase2 <= members {
            return Err(QuorumError::NoIntersection {
                members,
                phase1,
                phase2,
            });
        }
        Ok(())
    }

    /// Whether `votes` distinct replicas form a phase-1 quorum.
    pub fn is_phase1(&self, votes: usize) -> bool {
        votes >= self.phase1
    }

    /// Whether `votes` distinct replicas form a phase-2 quorum.
    pub fn is_phase2(&self, votes: usize) -> bool {
        votes >= self.phase2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clever check (`p1 + p2 > n`) against the naive one: every pair of
    /// subsets of the right sizes intersects.
    #[test]
    fn flexible_quorums_accepted_iff_every_pair_intersects() {
        for n in 1..=5usize {
            for p1 in 1..=n {
                for p2 in 1..=n {
                    let subsets =
                        |k: usize| (0u32..1 << n).filter(move |m| m.count_ones() as usize == k);
                    let intersect = subsets(p1).all(|a| subsets(p2).all(|b| a & b != 0));
                    // Quorums of one, and phase-2 quorums of everyone, are
                    // refused apart (LonePhase1, LonePhase2, FullPhase2).
                    let apart = n == 1 || (p1 > 1 && p2 > 1 && (p2 < n || n == 2));
                    let naive = intersect && apart;
                    assert_eq!(
                        Quorums::flexible(n, p1, p2).is_ok(),
                        naive,
                        "n={n} p1={p1} p2={p2}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_phase1_quorum_of_one_is_refused_beyond_one_member() {
        assert_eq!(
            Quorums::flexible(3, 1, 3),
            Err(QuorumError::LonePhase1 { members: 3 })
        );
        assert!(Quorums::flexible(1, 1, 1).is_ok());
        assert!(Quorums::flexible(3, 2, 2).is_ok());
    }

    #[test]
    fn phase2_quorums_of_one_or_of_everyone_are_refused() {
        assert_eq!(
            Quorums::flexible(3, 3, 1),
            Err(QuorumError::LonePhase2 { members: 3 })
        );
        assert_eq!(
            Quorums::flexible(3, 2, 3),
            Err(QuorumError::FullPhase2 { members: 3 })
        );
        assert_eq!(
            Quorums::flexible(5, 2, 5),
            Err(QuorumError::FullPhase2 { members: 5 })
        );
        assert!(Quorums::flexible(2, 2, 2).is_ok());
        assert!(Quorums::flexible(5, 2, 4).is_ok());
    }

    #[test]
    fn majority_is_more_than_half() {
        assert_eq!(Quorums::majority(3).phase1, 2);
        assert_eq!(Quorums::majority(4).phase2, 3);
        assert_eq!(Quorums::majority(5).phase1, 3);
        assert!(Quorums::flexible(3, 0, 3).is_err());
    }

    /// A size of zero or above the member count is out of range, whatever
    /// the other size (a phase-1 quorum of 4 out of 3 "intersects" every
    /// phase-2 quorum by the sum rule, and is still impossible to gather).
    #[test]
    fn sizes_out_of_range_are_rejected_as_such() {
        for (p1, p2) in [(4, 1), (1, 4), (0, 3), (3, 0), (2, 0), (0, 2)] {
            assert!(
                matches!(
                    Quorums::flexible(3, p1, p2),
                    Err(QuorumError::OutOfRange { .. })
                ),
                "p1={p1} p2={p2}"
            );
        }
    }
}
