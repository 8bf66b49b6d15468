//! Link faults beyond independent loss: partitions as Jepsen's nemeses draw
//! them (one node isolated, random halves, a bridge, one-way cuts), and
//! messages held back for a long time. Independent loss almost never hides
//! every message of one leader from one replica while another replica's
//! still arrive, and a uniformly reordered network almost never delivers a
//! message hundreds of steps late; the interleavings that break a core
//! (a leader that lags behind a higher ballot it never heard of, a stale
//! message of an earlier incarnation) need both.

use std::collections::{BTreeMap, BTreeSet};

use crate::paxos::NodeId;

use super::rng::SimRng;

/// The directed links that drop every message sent over them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    cut: BTreeSet<(NodeId, NodeId)>,
}

impl Links {
    /// Whether a message from `from` to `to` is dropped.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        !self.cut.is_empty()
    }

    /// A fresh draw over replicas `1..=n`: no cut at all a fifth of the
    /// time, else one node isolated, two random sides, a bridge (two sides
    /// and one node that hears both, the shape that makes two leaders with
    /// overlapping quorums), or each directed link cut with even odds. Half
    /// the time the node singled out (isolated, on the smaller side, or the
    /// bridge) is `leader`, as Jepsen's nemeses target the primary: an old
    /// leader that keeps leading a ballot it lost is where the protocol is
    /// thinnest.
    pub fn draw(rng: &mut SimRng, n: usize, leader: Option<NodeId>) -> Links {
        let ids: Vec<NodeId> = (1..=n as NodeId).collect();
        let mut cut = BTreeSet::new();
        let mut sever = |a: &[NodeId], b: &[NodeId]| {
            for &x in a {
                for &y in b {
                    cut.insert((x, y));
                    cut.insert((y, x));
                }
            }
        };
        let mut shuffled = ids.clone();
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, rng.below(i as u64 + 1) as usize);
        }
        if let Some(l) = leader.filter(|_| rng.chance(500)) {
            let at = shuffled.iter().position(|x| *x == l).unwrap_or(0);
            shuffled.swap(0, at);
        }
        match rng.below(5) {
            0 => {}
            1 => sever(&shuffled[..1], &shuffled[1..]),
            2 => {
                let k = 1 + rng.below((n / 2) as u64) as usize;
                sever(&shuffled[..k], &shuffled[k..]);
            }
            3 => {
                // shuffled[0] is the bridge: it hears both sides.
                let k = 1 + rng.below(((n - 1) / 2) as u64) as usize;
                sever(&shuffled[1..=k], &shuffled[k + 1..]);
            }
            _ => {
                for &x in &ids {
                    for &y in &ids {
                        if x != y && rng.chance(500) {
                            cut.insert((x, y));
                        }
                    }
                }
            }
        }
        Links { cut }
    }
}

/// Messages held back until a later step, in release order.
#[derive(Clone, Debug)]
pub struct Held<M> {
    queue: BTreeMap<(u64, u64), M>,
    next: u64,
}

impl<M> Default for Held<M> {
    fn default() -> Self {
        Held {
            queue: BTreeMap::new(),
            next: 0,
        }
    }
}

impl<M> Held<M> {
    /// Holds `message` until step `release`.
    pub fn hold(&mut self, release: u64, message: M) {
        self.queue.insert((release, self.next), message);
        self.next += 1;
    }

    /// The messages due at step `now`, oldest release first.
    pub fn due(&mut self, now: u64) -> Vec<M> {
        let later = self.queue.split_off(&(now + 1, 0));
        let due = std::mem::replace(&mut self.queue, later);
        due.into_values().collect()
    }

    /// Every message still held, released now (healing).
    pub fn release_all(&mut self) -> Vec<M> {
        std::mem::take(&mut self.queue).into_values().collect()
    }

    /// Messages held.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_is_drawn_and_a_bridge_hears_both_sides() {
        let mut rng = SimRng::new(7);
        let mut shapes = BTreeSet::new();
        for _ in 0..200 {
            let l = Links::draw(&mut rng, 5, Some(3));
            shapes.insert(l.cut.len());
            // Symmetric shapes never cut a node from itself.
            assert!((1..=5).all(|x| !l.is_cut(x, x)));
        }
        // No cut, isolation or 1|4 halves (8 links), 2|3 halves (12), a
        // bridge between 1 and 3 (6), and one-way draws of other sizes.
        for links in [0, 6, 8, 12] {
            assert!(shapes.contains(&links), "{links} not in {shapes:?}");
        }
    }

    #[test]
    fn held_messages_come_out_when_due_in_order() {
        let mut h = Held::default();
        h.hold(10, "b");
        h.hold(5, "a");
        h.hold(10, "c");
        assert!(h.due(4).is_empty());
        assert_eq!(h.due(5), vec!["a"]);
        assert_eq!(h.len(), 2);
        assert_eq!(h.due(100), vec!["b", "c"]);
        assert!(h.is_empty());
    }
}
