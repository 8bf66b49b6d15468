//! Swarm testing (Groce et al., ISSTA 2012): every seed draws its own mix of
//! faults and limits, so that a search over seeds visits runs with no loss
//! and runs with much, FIFO networks and fully reordered ones, long-lived
//! sessions and ones that expire or fill the table. A single fixed mix hides
//! bugs that need some fault to be rare and another frequent.
//!
//! [`run_swarm`](super::run_swarm) runs one seed: a fault phase with the agreement check after
//! every step, a liveness phase after healing ([`Sim::await_answers`](super::Sim::await_answers)), then
//! the state checks (no value applied twice, replicas' logs prefixes of one
//! another, log clock monotonic) and the clients' history checked for
//! linearizability, exactly ([`check_append_order`](super::check_append_order)),
//! and cross-checked by the general search ([`check_appends`](super::check_appends)).

use std::time::Duration;

use crate::paxos::{Config, ReadMode};

use super::cluster::{SimConfig, SimStats};
use super::ghost::Violation;
use super::liveness::Liveness;
use super::machine::AppendCommand;
use super::rng::SimRng;

/// One seed's draw: the simulation's options and the replicas' limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Swarm {
    /// Network, fault, clock and client options.
    pub sim: SimConfig,
    /// `Config::window`.
    pub window: u64,
    /// `Config::max_batch`.
    pub max_batch: usize,
    /// `Config::snapshot_interval`.
    pub snapshot_interval: u64,
    /// `Config::max_learn_entries`.
    pub max_learn_entries: usize,
    /// `Config::max_message_bytes`.
    pub max_message_bytes: usize,
    /// `Config::session_timeout_ticks`.
    pub session_timeout_ticks: u64,
    /// `Config::max_sessions`.
    pub max_sessions: usize,
    /// The fault phase is cut into this many periods, each but the last
    /// followed by a liveness check (heal, every client answered) before
    /// the faults resume: a stall must outlast one period, not the run.
    pub periods: u64,
}

/// Uniform in `lo..=hi`.
fn draw(rng: &mut SimRng, lo: u64, hi: u64) -> u64 {
    lo + rng.below(hi - lo + 1)
}

impl Swarm {
    /// The draw of `seed` (from its own stream: the run's stream is the
    /// seed's as for any [`SimConfig`]).
    pub fn new(seed: u64) -> Swarm {
        let mut rng = SimRng::new(seed ^ 0x5741_524D_5357_4152);
        let mut swarm = Swarm::first_draws(seed, &mut rng);
        swarm.later_draws(&mut rng);
        swarm
    }

    /// The draw of `seed` turned into a storm: ten fault periods, each with
    /// a new partition drawn about every 33 steps and a twentieth or a fifth
    /// of the messages held back. The ordinary draw reaches this rarely (a
    /// thirty-sixth of the seeds); one storm seed found a stall that 1,000
    /// ordinary seeds missed (`answer_installed_requests`). The rest of the
    /// draw is `new`'s, so the same seed differs only in its links.
    pub fn storm(seed: u64) -> Swarm {
        let mut swarm = Swarm::new(seed);
        swarm.sim.partition_per_mille = 30;
        swarm.sim.delay_per_mille = if seed % 2 == 0 { 50 } else { 200 };
        swarm.periods = 10;
        swarm
    }

    /// `synod sim`'s draw of `seed`: [`Swarm::new`]'s, then, from a stream
    /// of their own, the options the CI searches and the regression seeds do
    /// not draw (so their runs stay as they were): the clients' read mode
    /// (read index or through the log), a disk that takes time in half the
    /// draws, and a storm ([`Swarm::storm`]'s links) in a fifth.
    pub fn wide(seed: u64) -> Swarm {
        let mut swarm = Swarm::new(seed);
        let mut r = SimRng::new(seed ^ 0x5349_4D5F_5749_4445);
        swarm.sim.read_mode = if r.chance(500) {
            ReadMode::ReadIndex
        } else {
            ReadMode::Log
        };
        swarm.sim.disk_delay_steps = [0, 0, 5, 40][r.below(4) as usize];
        if r.chance(200) {
            let storm = Swarm::storm(seed);
            swarm.sim.partition_per_mille = storm.sim.partition_per_mille;
            swarm.sim.delay_per_mille = storm.sim.delay_per_mille;
            swarm.periods = storm.periods;
        }
        swarm
    }

    /// The draw of `seed` as versions before partitions made it (no
    /// partitions, held messages or lost replies, one period, the crash rate
    /// drawn first): regression tests of seeds found then.
    pub fn legacy(seed: u64) -> Swarm {
        Swarm::first_draws(seed, &mut SimRng::new(seed ^ 0x5741_524D_5357_4152))
    }

    fn first_draws(seed: u64, r: &mut SimRng) -> Swarm {
        // 3 or 5: one or two replicas may be down, the smallest clusters
        // where a quorum can lose a member, and the smallest where two
        // quorums can differ in two members.
        let replicas = if r.chance(500) { 3 } else { 5 };
        let clients = draw(r, 2, 5) as usize;
        // A session outlives a client's patience (log time runs no faster
        // than the cluster's ticks): a correct core never expires the session
        // of a request still retried. Small enough that idle sessions expire.
        let session_timeout_ticks = draw(r, 80, 300);
        let sim = SimConfig {
            seed,
            replicas,
            // None (the happy path) to a fifth: retransmission and fetches.
            loss_per_mille: [0, 20, 80, 200][r.below(4) as usize],
            duplicate_per_mille: [0, 20, 100][r.below(3) as usize],
            // Half the deliveries in order, or all reordered. Not FIFO
            // alone: the network has no bound on latency, and a FIFO backlog
            // of stale elections never drains (a harness livelock).
            reorder_per_mille: [500, 1000][r.below(2) as usize],
            // Crashes often enough, and restarts soon enough, that replicas
            // crash again while still catching up or amnesiac.
            crash_per_mille: draw(r, 5, 40) as u32,
            restart_per_mille: draw(r, 20, 200) as u32,
            // Amnesiac restarts from never to most of them.
            wipe_per_mille: [0, 300, 700][r.below(3) as usize],
            tick_per_mille: draw(r, 100, 300) as u32,
            client_per_mille: draw(r, 100, 250) as u32,
            clients,
            client_retry_turns: draw(r, 3, 20),
            max_down: (replicas - 1) / 2,
            max_network: 100_000,
            op_timeout_ticks: session_timeout_ticks / 2,
            partition_per_mille: 0,
            delay_per_mille: 0,
            reply_loss_per_mille: 0,
            read_mode: ReadMode::ReadIndex,
            disk_delay_steps: 0,
        };
        Swarm {
            sim,
            // Small windows and batches reach their limits; frequent
            // snapshots make lagging replicas install them.
            window: draw(r, 1, 8),
            max_batch: draw(r, 1, 4) as usize,
            snapshot_interval: draw(r, 5, 50),
            max_learn_entries: draw(r, 2, 16) as usize,
            max_message_bytes: draw(r, 256, 1024) as usize,
            session_timeout_ticks,
            // The table fills when clients renew sessions (each renewal
            // leaves an idle session behind): new ones wait for expiry.
            max_sessions: clients + draw(r, 1, 4) as usize,
            periods: 1,
        }
    }

    /// Options added since: drawn after the first ones, so that those stay
    /// what earlier versions drew.
    fn later_draws(&mut self, r: &mut SimRng) {
        self.sim.partition_per_mille = [0, 2, 10, 30][r.below(4) as usize];
        self.sim.delay_per_mille = [0, 10, 50][r.below(3) as usize];
        self.periods = [1, 3, 10][r.below(3) as usize];
        self.sim.reply_loss_per_mille = [0, 0, 50, 200][r.below(4) as usize];
        // Crashes rare in a quarter of the draws: a stall that a crash of
        // its leader would end lasts long enough to be seen.
        if r.chance(250) {
            self.sim.crash_per_mille = 1;
        }
    }

    /// Sets the drawn limits on a replica's configuration.
    pub fn tune(&self, c: &mut Config) {
        c.window = self.window;
        c.max_batch = self.max_batch;
        c.snapshot_interval = self.snapshot_interval;
        c.max_learn_entries = self.max_learn_entries;
        c.max_message_bytes = self.max_message_bytes;
        c.session_timeout_ticks = self.session_timeout_ticks;
        c.max_sessions = self.max_sessions;
    }
}

impl SimConfig {
    /// The swarm draw of `seed` ([`Swarm::new`]); the replicas' limits come
    /// with [`Swarm::tune`].
    pub fn swarm(seed: u64) -> SimConfig {
        Swarm::new(seed).sim
    }
}

/// The swarm's clients' commands: unique appended values (a value applied
/// twice shows), and every fourth request reads the whole log.
pub fn swarm_command(client: u64, seq: u64) -> AppendCommand {
    if seq % 4 == 0 {
        AppendCommand::ReadAll
    } else {
        AppendCommand::Append(client * 1_000_000 + seq)
    }
}

/// What a swarm run found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// A safety invariant broke (agreement, or the ghost's rules).
    #[error("agreement: {0}")]
    Agreement(Box<Violation>),
    /// Clients unanswered after healing (or a violation while waiting).
    #[error("liveness: {0}")]
    Liveness(Box<Liveness>),
    /// A replica's state machine applied a value twice.
    #[error("replica {replica} applied value {value} twice")]
    AppliedTwice {
        /// The replica.
        replica: u64,
        /// The value.
        value: u64,
    },
    /// Two replicas' logs are not prefixes of one another.
    #[error("replicas {0} and {1} applied different logs")]
    Diverged(u64, u64),
    /// A replica applied with a log clock that went backwards.
    #[error("replica {0}'s log clock went backwards")]
    ClockWentBack(u64),
    /// The clients' history is not linearizable.
    #[error("{0}")]
    NotLinearizable(String),
    /// The exact check called the history linearizable and the general
    /// search did not: one of the two checkers is wrong.
    #[error("the exact check says linearizable, the general search says: {0}")]
    CheckersDisagree(String),
    /// A replica's own invariant assertion fired (the core checks itself;
    /// its `# Panics` sections), or the harness's did.
    #[error("panicked: {0}")]
    Panicked(String),
}

/// A failed swarm run, naming its seed (rerun it with [`run_swarm`](super::run_swarm)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("seed {seed} ({replicas} replicas): {failure}")]
pub struct SwarmViolation {
    /// The seed.
    pub seed: u64,
    /// Its cluster size.
    pub replicas: usize,
    /// What went wrong.
    pub failure: Failure,
}

/// The bounds of one swarm run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwarmBudget {
    /// Steps of the fault phase.
    pub fault_steps: u64,
    /// Ticks (of the whole cluster) the liveness phase may take.
    pub liveness_ticks: u64,
    /// Time the general linearizability search may take to cross-check
    /// the exact check's verdict (`order`); zero: no cross-check. Undecided
    /// within it is a pass: the exact check has decided.
    pub check_time: Duration,
}

/// A finished swarm run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmRun {
    /// Counters at the end.
    pub stats: SimStats,
    /// Ticks the liveness phase took.
    pub liveness_ticks: u64,
    /// Whether the general search cross-checked the exact verdict (false:
    /// out of time, or no cross-check asked).
    pub checked: bool,
}
