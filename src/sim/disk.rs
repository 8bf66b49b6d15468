//! The simulated disk: a step's records become durable, in order, before
//! its messages and replies leave (the core's rule, [`Ready`]). With
//! [`SimConfig::disk_delay_steps`](super::SimConfig::disk_delay_steps) the
//! disk takes time, as an fsync does: the output waits 1 to that many steps
//! while the replica keeps stepping (later outputs queue behind it, since
//! they may rest on its records), and a crash loses whatever still waits.

use crate::paxos::{Ready, Record, StateMachine};

use super::cluster::Sim;
use super::ghost::Violation;

impl<S: StateMachine> Sim<S> {
    /// Replica `i`'s output of one step: durable and sent now, or queued
    /// behind the disk. Output with nothing to persist waits only if
    /// earlier output does.
    pub(super) fn output(&mut self, i: usize, ready: Ready<S>) -> Result<(), Violation> {
        let delay = self.config.disk_delay_steps;
        let queued = !self.nodes[i].unsynced.is_empty();
        if !queued && (delay == 0 || ready.persist.is_empty()) {
            return self.durable(i, ready);
        }
        let last = self.nodes[i].unsynced.back().map_or(0, |(due, _)| *due);
        let due = if ready.persist.is_empty() || delay == 0 {
            last
        } else {
            (self.stats.steps + 1 + self.rng.below(delay)).max(last)
        };
        self.stats.unsynced += 1;
        self.nodes[i].unsynced.push_back((due, ready));
        Ok(())
    }

    /// Completes every queued output whose write is due, oldest first.
    pub(super) fn flush_disks(&mut self) -> Result<(), Violation> {
        for i in 0..self.nodes.len() {
            while let Some((due, _)) = self.nodes[i].unsynced.front() {
                if *due > self.stats.steps {
                    break;
                }
                let (_, ready) = self.nodes[i].unsynced.pop_front().expect("front exists");
                self.durable(i, ready)?;
            }
        }
        Ok(())
    }

    /// Makes `ready`'s records durable on replica `i`'s disk, then sends its
    /// messages (through the network's faults) and replies.
    fn durable(&mut self, i: usize, ready: Ready<S>) -> Result<(), Violation> {
        let id = self.nodes[i].id;
        let node = &mut self.nodes[i];
        node.wiped &= ready.persist.is_empty();
        for record in ready.persist {
            if let Record::Snapshot(image) = &record {
                // Compaction, as a node's storage does: the core's base
                // (it holds this snapshot) replaces the disk so far.
                node.disk = crate::paxos::compaction_base(&node.disk, image);
                continue;
            }
            node.disk.push(record);
        }
        for (to, message) in ready.messages {
            let incarnation = self.nodes[i].incarnation;
            self.ghost
                .sent(self.stats.steps, (id, incarnation), &message)?;
            self.send(id, to, message);
        }
        for reply in ready.replies {
            let loss = self.config.reply_loss_per_mille;
            if loss > 0 && self.rng.chance(loss) {
                self.stats.lost += 1;
                continue;
            }
            self.on_reply(id, reply);
        }
        Ok(())
    }
}
