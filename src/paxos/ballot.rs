//! Ballots (proposal numbers) and the names of nodes and slots.

use serde::{Deserialize, Serialize};

/// A replica's name: an element of [`crate::paxos::Config::members`].
pub type NodeId = u64;

/// A position in the replicated log. Slots are numbered from 0; bounds written
/// `*_upto` are exclusive (`chosen_upto = 3` means slots 0, 1 and 2).
pub type Slot = u64;

/// A ballot (Paxos Made Simple's "proposal number"): a round and the node
/// that owns it, ordered by round first, so two proposers never share one and
/// every proposer can always find a higher one.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Ballot {
    /// The round; higher rounds win.
    pub round: u64,
    /// The proposer owning this ballot; breaks ties between equal rounds.
    pub node: NodeId,
}

impl Ballot {
    /// The ballot below every real one: nothing has been promised yet.
    pub const ZERO: Ballot = Ballot { round: 0, node: 0 };

    /// The smallest ballot owned by `node` whose round is above `self`'s, or
    /// `None` once the rounds are used up: a ballot is never handed out twice
    /// (Paxos Made Simple, section 2.2: distinct proposals have distinct
    /// numbers), so the last round is not reused.
    pub fn next_for(self, node: NodeId) -> Option<Ballot> {
        Some(Ballot {
            round: self.round.checked_add(1)?,
            node,
        })
    }
}

impl std::fmt::Display for Ballot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_round_then_node() {
        let a = Ballot { round: 1, node: 9 };
        let b = Ballot { round: 2, node: 0 };
        assert!(a < b);
        assert!(Ballot { round: 2, node: 1 } > b);
        assert!(Ballot::ZERO < a);
        assert!(a.next_for(0).unwrap() > a);
        assert_eq!(a.next_for(4), Some(Ballot { round: 2, node: 4 }));
    }

    /// The highest round has no successor: `next_for` says so rather than
    /// returning the ballot it was given (it saturated once).
    #[test]
    fn next_for_never_returns_the_ballot_it_was_given() {
        let last = Ballot {
            round: u64::MAX,
            node: 3,
        };
        assert_eq!(last.next_for(3), None);
        assert_eq!(last.next_for(9), None);
    }

    /// Logs and the CLI's status line name a ballot as `round.node`.
    #[test]
    fn ballot_displays_as_round_dot_node() {
        assert_eq!(Ballot { round: 3, node: 2 }.to_string(), "3.2");
        assert_eq!(Ballot::ZERO.to_string(), "0.0");
    }
}
