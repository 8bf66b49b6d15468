//! The liveness phase: after healing, every client must be answered within
//! a bound of ticks (TigerBeetle's VOPR: safety under faults, then liveness
//! once the faults stop).

use crate::paxos::StateMachine;

use super::cluster::Sim;
use super::ghost::Violation;

/// The liveness phase's verdict when it fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Liveness {
    /// A safety violation met while waiting.
    #[error(transparent)]
    Agreement(#[from] Violation),
    /// Some clients were not answered in time.
    #[error("{stalled} of {clients} clients unanswered {ticks} ticks after healing (step {step})")]
    Stalled {
        /// Clients without two `Ok` answers since healing.
        stalled: usize,
        /// Clients in all.
        clients: usize,
        /// The bound, in ticks of the whole cluster.
        ticks: u64,
        /// The step it gave up at.
        step: u64,
    },
}

/// Ticks per mille of steps while awaiting answers: most steps deliver.
pub const LIVE_TICK_PER_MILLE: u32 = 50;

impl<S: StateMachine> Sim<S> {
    /// Heals the cluster ([`Sim::heal`]), stops clients giving requests up,
    /// slows the clocks to `LIVE_TICK_PER_MILLE` (50 ticks per 1,000 steps),
    /// and runs until every client has had two requests answered `Ok`: the
    /// one pending at healing (or its successor, if it ended otherwise) and
    /// a fresh one. Requests are sequential per client, so this means every
    /// request pending at healing was answered. Fails after `max_ticks`
    /// ticks of the whole cluster; returns the ticks it took.
    pub fn await_answers(&mut self, max_ticks: u64) -> Result<u64, Liveness> {
        self.heal()?;
        self.config.op_timeout_ticks = 0;
        // Partial synchrony's stable period: message delays bounded well
        // below the timeouts. Without it the network, which has no bound on
        // latency, can hold a backlog of stale elections that never drains.
        self.config.tick_per_mille = self.config.tick_per_mille.min(LIVE_TICK_PER_MILLE);
        let start = self.stats.ticks;
        let acked: Vec<u64> = self.clients.iter().map(|c| c.acknowledged).collect();
        let stalled = |sim: &Sim<S>| {
            sim.clients
                .iter()
                .zip(&acked)
                .filter(|(c, a)| c.acknowledged < *a + 2)
                .count()
        };
        while stalled(self) > 0 {
            if self.stats.ticks - start > max_ticks {
                return Err(Liveness::Stalled {
                    stalled: stalled(self),
                    clients: self.clients.len(),
                    ticks: max_ticks,
                    step: self.stats.steps,
                });
            }
            self.step()?;
        }
        Ok(self.stats.ticks - start)
    }
}
