//! The simulated cluster: replicas with in-memory disks, a lossy network,
//! clients, and the agreement check.

use std::collections::VecDeque;

use crate::paxos::{
    ClientReply, ClientRequest, Config, Input, Message, NodeId, ReadMode, Ready, Record, Replica,
    SharedEntry, Slot, StateMachine,
};

use super::ghost::{Ghost, Violation};
use super::history::ClientEvent;
use super::network::{Held, Links};
use super::rng::SimRng;

/// Longest trace line kept, in characters.
const TRACE_LINE_CHARS: usize = 600;

/// What a simulation does; probabilities are per mille, per step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The one seed of the whole run.
    pub seed: u64,
    /// Number of replicas (ids 1..=replicas).
    pub replicas: usize,
    /// Chance a sent message is lost.
    pub loss_per_mille: u32,
    /// Chance a sent message is delivered twice.
    pub duplicate_per_mille: u32,
    /// Chance a step crashes a live replica.
    pub crash_per_mille: u32,
    /// Chance a step restarts a crashed replica.
    pub restart_per_mille: u32,
    /// Chance a restart finds its disk wiped (it comes back amnesiac).
    pub wipe_per_mille: u32,
    /// Chance a step is a tick of some replica (else client work or a delivery).
    pub tick_per_mille: u32,
    /// Chance a step is a client's turn.
    pub client_per_mille: u32,
    /// Number of clients (one request outstanding each).
    pub clients: usize,
    /// A client resends after this many of its turns without a reply.
    pub client_retry_turns: u64,
    /// Most replicas down at once.
    pub max_down: usize,
    /// Most messages in flight; more sends are dropped (and counted).
    pub max_network: usize,
    /// Chance a delivery takes any message in flight rather than the oldest
    /// (1000: every delivery reorders).
    pub reorder_per_mille: u32,
    /// A client gives its request up as indeterminate (and takes a fresh
    /// session) after this many ticks of the whole cluster since it invoked
    /// it; 0: never.
    pub op_timeout_ticks: u64,
    /// Chance a step redraws which links are cut ([`Links::draw`]); 0: the
    /// network is never partitioned (and the run's draws are as before).
    pub partition_per_mille: u32,
    /// Chance a sent message is held back for 100 to 2,000 steps.
    pub delay_per_mille: u32,
    /// Chance a reply to a client is lost (the request may have been
    /// applied: the client retries, as over a broken connection).
    pub reply_loss_per_mille: u32,
    /// How the clients read ([`ReadMode::Local`] is unsafe: a run with it
    /// must fail the history check).
    pub read_mode: ReadMode,
    /// A disk that takes time: a step's records become durable 1 to this
    /// many steps later, in order, and its messages and replies leave only
    /// then; the replica keeps stepping meanwhile, and a crash loses what
    /// was not yet durable. 0: every step's records are durable at once.
    pub disk_delay_steps: u64,
}

impl SimConfig {
    /// A fault-free run of `replicas` replicas.
    pub fn calm(seed: u64, replicas: usize) -> SimConfig {
        SimConfig {
            seed,
            replicas,
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            crash_per_mille: 0,
            restart_per_mille: 0,
            wipe_per_mille: 0,
            tick_per_mille: 150,
            client_per_mille: 150,
            clients: 3,
            client_retry_turns: 20,
            max_down: replicas.saturating_sub(1) / 2,
            max_network: 100_000,
            reorder_per_mille: 1000,
            op_timeout_ticks: 0,
            partition_per_mille: 0,
            delay_per_mille: 0,
            reply_loss_per_mille: 0,
            read_mode: ReadMode::ReadIndex,
            disk_delay_steps: 0,
        }
    }

    /// Loss, duplication, reordering (always on), crashes and restarts.
    pub fn faulty(seed: u64, replicas: usize) -> SimConfig {
        SimConfig {
            loss_per_mille: 50,
            duplicate_per_mille: 30,
            crash_per_mille: 3,
            restart_per_mille: 20,
            ..SimConfig::calm(seed, replicas)
        }
    }
}

/// Counters of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Steps taken.
    pub steps: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost (including those beyond `max_network` and to crashed replicas).
    pub lost: u64,
    /// Messages duplicated.
    pub duplicated: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts from disk.
    pub restarts: u64,
    /// Restarts with a wiped disk.
    pub wipes: u64,
    /// Client requests answered `Ok`.
    pub acknowledged: u64,
    /// Highest chosen bound over the replicas.
    pub chosen: Slot,
    /// Ticks, over all replicas (a restarted replica's own count restarts at 0).
    pub ticks: u64,
    /// Client requests given up as indeterminate (no definite answer).
    pub indeterminate: u64,
    /// Fresh client sessions taken (after an expired or lost one).
    pub renewals: u64,
    /// Partitions drawn (each redraw of the cut links, healing included).
    pub partitions: u64,
    /// Messages held back ([`SimConfig::delay_per_mille`]).
    pub held: u64,
    /// Steps' outputs that waited for the disk ([`SimConfig::disk_delay_steps`]).
    pub unsynced: u64,
    /// Of those, the ones a crash lost before they were durable.
    pub unsynced_lost: u64,
}

/// A simulated replica: its core (None while crashed) and its disk.
#[derive(Clone, Debug)]
pub struct Node<S: StateMachine> {
    /// The replica's id.
    pub id: NodeId,
    /// Its configuration (kept across restarts).
    pub config: Config,
    /// The core; `None` while crashed.
    pub replica: Option<Replica<S>>,
    /// Everything persisted, in order (compacted at snapshots).
    pub disk: Vec<Record<S>>,
    /// Its disk was wiped and nothing has been persisted since: a restart
    /// must again be amnesiac (an empty disk cannot say so itself).
    pub wiped: bool,
    /// This start of the replica, unique over the run (each restart builds a
    /// new core: an incarnation).
    pub incarnation: u64,
    /// Steps' outputs waiting for the disk, oldest first, each with the
    /// step it becomes durable at ([`SimConfig::disk_delay_steps`]).
    pub unsynced: VecDeque<(u64, Ready<S>)>,
}

/// A client with at most one request outstanding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client<C> {
    /// The client's id (its session).
    pub id: u64,
    /// Its current sequence number.
    pub seq: u64,
    /// The request in flight and its target, with turns waited.
    pub outstanding: Option<(ClientRequest<C>, NodeId, u64)>,
    /// The replica it believes leads.
    pub target: NodeId,
    /// Requests answered `Ok`.
    pub acknowledged: u64,
    /// Its history process: a new one after each indeterminate request (as
    /// Jepsen retires a process after `:info`).
    pub process: u64,
    /// `SimStats::ticks` when the outstanding request was invoked.
    pub invoked_ticks: u64,
    /// Times the outstanding request was sent.
    pub attempts: u64,
}

/// The simulated cluster.
pub struct Sim<S: StateMachine> {
    pub(super) config: SimConfig,
    pub(super) rng: SimRng,
    initial: S,
    pub(super) nodes: Vec<Node<S>>,
    pub(super) network: Vec<(NodeId, NodeId, Message<S>)>,
    pub(super) links: Links,
    pub(super) held: Held<(NodeId, NodeId, Message<S>)>,
    pub(super) clients: Vec<Client<S::Command>>,
    pub(super) command: fn(u64, u64) -> S::Command,
    /// Every client invocation and completion, in real-time order.
    pub(super) events: Vec<ClientEvent<S::Command, S::Response>>,
    /// The next fresh client id (a renewed session's).
    pub(super) next_client_id: u64,
    /// What was learned and proposed: the invariants' ghost.
    pub(super) ghost: Ghost<S::Command>,
    pub(super) replies: Vec<(NodeId, ClientReply<S::Response>)>,
    pub(super) stats: SimStats,
    /// The last `trace_limit` events, when tracing (a failing seed's story).
    trace: Option<VecDeque<String>>,
    trace_limit: usize,
}

impl<S: StateMachine> Sim<S> {
    /// A cluster of `config.replicas` fresh replicas from `initial`; `tune`
    /// adjusts each replica's core configuration (timing, limits, faults);
    /// `command(client, seq)` makes the clients' commands.
    pub fn new(
        config: SimConfig,
        initial: S,
        tune: impl Fn(&mut Config),
        command: fn(u64, u64) -> S::Command,
    ) -> Result<Sim<S>, crate::paxos::ConfigError> {
        let ids: Vec<NodeId> = (1..=config.replicas as u64).collect();
        let mut nodes = Vec::new();
        for &id in &ids {
            let mut c = Config::new(id, ids.clone())?;
            c.seed = config.seed.wrapping_mul(31).wrapping_add(id);
            tune(&mut c);
            c.validate()?;
            nodes.push(Node {
                id,
                replica: Some(Replica::new(c.clone(), initial.clone())?),
                config: c,
                disk: Vec::new(),
                wiped: false,
                incarnation: id,
                unsynced: VecDeque::new(),
            });
        }
        let clients: Vec<Client<S::Command>> = (0..config.clients as u64)
            .map(|i| Client {
                id: 1000 + i,
                seq: 0,
                outstanding: None,
                target: ids[(i as usize) % ids.len()],
                acknowledged: 0,
                process: i,
                invoked_ticks: 0,
                attempts: 0,
            })
            .collect();
        Ok(Sim {
            rng: SimRng::new(config.seed),
            config,
            initial,
            nodes,
            network: Vec::new(),
            links: Links::default(),
            held: Held::default(),
            next_client_id: 1000 + clients.len() as u64,
            clients,
            command,
            events: Vec::new(),
            ghost: Ghost::default(),
            replies: Vec::new(),
            stats: SimStats::default(),
            trace: None,
            trace_limit: 0,
        })
    }

    /// Starts recording events (inputs, outputs, crashes, restarts,
    /// partitions), keeping the last `limit` (`usize::MAX`: all of them).
    pub fn enable_trace(&mut self, limit: usize) {
        self.trace = Some(VecDeque::new());
        self.trace_limit = limit;
    }

    /// The events kept since `enable_trace`, oldest first.
    pub fn trace(&self) -> impl Iterator<Item = &String> + '_ {
        self.trace.iter().flatten()
    }

    pub(super) fn note(&mut self, event: impl FnOnce() -> String) {
        if self.trace.is_none() {
            return;
        }
        let line = format!("{:>6} {}", self.stats.steps, event());
        self.trace_line(line);
    }

    /// Keeps `line`, cut to `TRACE_LINE_CHARS` (a snapshot's bytes would
    /// otherwise fill screens).
    fn trace_line(&mut self, mut line: String) {
        if let Some((cut, _)) = line.char_indices().nth(TRACE_LINE_CHARS) {
            line.truncate(cut);
            line.push_str(" ...");
        }
        if let Some(t) = &mut self.trace {
            if t.len() >= self.trace_limit {
                t.pop_front();
            }
            t.push_back(line);
        }
    }

    /// The replicas.
    pub fn nodes(&self) -> &[Node<S>] {
        &self.nodes
    }

    /// Every client invocation and completion so far, in real-time order.
    pub fn events(&self) -> &[ClientEvent<S::Command, S::Response>] {
        &self.events
    }

    /// The clients.
    pub fn clients(&self) -> &[Client<S::Command>] {
        &self.clients
    }

    /// Counters so far.
    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    /// Every client reply so far, with the replica that sent it.
    pub fn replies(&self) -> &[(NodeId, ClientReply<S::Response>)] {
        &self.replies
    }

    /// The simulation's configuration (change it between phases, e.g. to heal).
    pub fn config_mut(&mut self) -> &mut SimConfig {
        &mut self.config
    }

    /// Ends the fault phase: no more loss, duplication or crashes, and every
    /// crashed replica restarts from its disk.
    pub fn heal(&mut self) -> Result<(), Violation> {
        self.config.loss_per_mille = 0;
        self.config.duplicate_per_mille = 0;
        self.config.crash_per_mille = 0;
        self.config.restart_per_mille = 0;
        self.config.wipe_per_mille = 0;
        self.config.partition_per_mille = 0;
        self.config.delay_per_mille = 0;
        self.config.reply_loss_per_mille = 0;
        self.links = Links::default();
        let held = self.held.release_all();
        self.network.extend(held);
        for i in 0..self.nodes.len() {
            if self.nodes[i].replica.is_none() {
                self.restart(i, false)?;
            }
        }
        Ok(())
    }

    /// Runs `steps` steps; the first violation ends the run.
    pub fn run(&mut self, steps: u64) -> Result<SimStats, Violation> {
        for _ in 0..steps {
            self.step()?;
        }
        Ok(self.stats.clone())
    }

    /// One step: a crash, a restart, a client's turn, a tick, or a delivery.
    pub fn step(&mut self) -> Result<(), Violation> {
        self.stats.steps += 1;
        self.link_faults();
        self.flush_disks()?;
        let c = &self.config;
        let (crash, restart, tick, client) = (
            c.crash_per_mille,
            c.restart_per_mille,
            c.tick_per_mille,
            c.client_per_mille,
        );
        let roll = self.rng.below(1000) as u32;
        let down = self.nodes.iter().filter(|n| n.replica.is_none()).count();
        if roll < crash {
            if down < self.config.max_down {
                let live: Vec<usize> = (0..self.nodes.len())
                    .filter(|i| self.nodes[*i].replica.is_some())
                    .collect();
                let i = live[self.rng.below(live.len() as u64) as usize];
                self.nodes[i].replica = None;
                // What the disk had not made durable is lost with the process.
                self.stats.unsynced_lost += self.nodes[i].unsynced.len() as u64;
                self.nodes[i].unsynced.clear();
                self.stats.crashes += 1;
                let id = self.nodes[i].id;
                self.note(|| format!("crash {id}"));
            }
        } else if roll < crash + restart {
            let dead: Vec<usize> = (0..self.nodes.len())
                .filter(|i| self.nodes[*i].replica.is_none())
                .collect();
            if !dead.is_empty() {
                let i = dead[self.rng.below(dead.len() as u64) as usize];
                // A disk is wiped only while every other replica votes: more
                // amnesiac replicas than a quorum can spare can never recover.
                let others_vote =
                    self.nodes.iter().enumerate().all(|(j, n)| {
                        j == i || n.replica.as_ref().is_some_and(|r| r.status().voting)
                    });
                let wipe = others_vote && self.rng.chance(self.config.wipe_per_mille);
                self.restart(i, wipe)?;
            }
        } else if roll < crash + restart + tick {
            let i = self.rng.below(self.nodes.len() as u64) as usize;
            self.stats.ticks += 1;
            self.input(i, Input::Tick)?;
        } else if roll < crash + restart + tick + client {
            if !self.clients.is_empty() {
                let k = self.rng.below(self.clients.len() as u64) as usize;
                self.client_turn(k)?;
            }
        } else if !self.network.is_empty() {
            // Reordering: any message in flight may be the next delivered
            // (no extra draw when every delivery reorders: old seeds replay).
            let reorder = self.config.reorder_per_mille;
            let (from, to, message) = if reorder >= 1000 || self.rng.chance(reorder) {
                let m = self.rng.below(self.network.len() as u64) as usize;
                self.network.swap_remove(m)
            } else {
                self.network.remove(0)
            };
            let i = self.index(to);
            if self.nodes[i].replica.is_some() {
                self.stats.delivered += 1;
                self.input(i, Input::Message { from, message })?;
            } else {
                self.stats.lost += 1;
            }
        }
        if self.stats.steps % 4096 == 0 {
            self.check_all()?;
        }
        Ok(())
    }

    /// Releases held messages that are due, and maybe redraws the cut
    /// links. No draw at all when both options are off: old seeds replay.
    fn link_faults(&mut self) {
        if !self.held.is_empty() {
            let due = self.held.due(self.stats.steps);
            self.network.extend(due);
        }
        if self.config.partition_per_mille > 0 && self.rng.chance(self.config.partition_per_mille) {
            let leader = self
                .nodes
                .iter()
                .filter_map(|n| n.replica.as_ref().map(|r| r.status()))
                .find(|s| s.is_leader)
                .map(|s| s.id);
            self.links = Links::draw(&mut self.rng, self.nodes.len(), leader);
            self.stats.partitions += 1;
            let links = format!("{:?}", self.links);
            self.note(|| format!("partition {links}"));
        }
    }

    pub(super) fn index(&self, id: NodeId) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .expect("messages are addressed to members")
    }

    /// Restarts replica `i` from its disk, or amnesiac from nothing.
    fn restart(&mut self, i: usize, wipe: bool) -> Result<(), Violation> {
        // Every amnesiac start gets a seed of its own (`Replica::amnesiac`).
        let fresh_seed = self.rng.next_u64();
        let node = &mut self.nodes[i];
        if wipe {
            node.disk.clear();
            node.wiped = true;
        }
        let replica = if node.wiped {
            self.stats.wipes += u64::from(wipe);
            let mut config = node.config.clone();
            config.seed = fresh_seed;
            Replica::amnesiac(config, self.initial.clone()).expect("config validated at start")
        } else {
            self.stats.restarts += 1;
            Replica::recover(node.config.clone(), self.initial.clone(), node.disk.clone())
                .expect("the simulated disk holds exactly what was persisted")
        };
        node.replica = Some(replica);
        // Unique over the run: ids are 1..=n, so later ones start above.
        node.incarnation += 1_000;
        let id = node.id;
        self.note(|| format!("restart {id} wiped={wipe}"));
        self.check_node(i)
    }

    /// Steps replica `i`: persist its records, then send, then check.
    pub(super) fn input(&mut self, i: usize, input: Input<S>) -> Result<(), Violation> {
        if self.trace.is_some() {
            let id = self.nodes[i].id;
            let line = format!("{id} <- {input:?}");
            self.note(|| line);
        }
        let Some(replica) = self.nodes[i].replica.as_mut() else {
            return Ok(());
        };
        let ready = replica.step(input);
        let status = replica.status();
        if self.trace.is_some() && !ready.is_empty() {
            self.trace_line(format!("       -> {ready:?} status {status:?}"));
        }
        self.stats.chosen = self.stats.chosen.max(status.chosen_upto);
        let id = self.nodes[i].id;
        for record in &ready.persist {
            if let Record::Chosen { slot, entry } = record {
                self.check(id, *slot, entry)?;
            }
        }
        self.output(i, ready)
    }

    /// Sends `message` from `from` to `to` through the network's faults:
    /// loss, a full network, cut links, holding back, duplication.
    pub(super) fn send(&mut self, from: NodeId, to: NodeId, message: Message<S>) {
        if self.rng.chance(self.config.loss_per_mille)
            || self.network.len() >= self.config.max_network
            || self.links.is_cut(from, to)
        {
            self.stats.lost += 1;
            return;
        }
        if self.config.delay_per_mille > 0 && self.rng.chance(self.config.delay_per_mille) {
            let release = self.stats.steps + 100 + self.rng.below(1_901);
            self.held.hold(release, (from, to, message));
            self.stats.held += 1;
            return;
        }
        if self.rng.chance(self.config.duplicate_per_mille) {
            self.stats.duplicated += 1;
            self.network.push((from, to, message.clone()));
        }
        self.network.push((from, to, message));
    }

    /// Checks `slot`'s value learned by `id` against the ghost.
    fn check(
        &mut self,
        id: NodeId,
        slot: Slot,
        entry: &SharedEntry<S::Command>,
    ) -> Result<(), Violation> {
        self.ghost.learned(self.stats.steps, id, slot, entry)
    }

    fn check_node(&mut self, i: usize) -> Result<(), Violation> {
        let id = self.nodes[i].id;
        let learned: Vec<(Slot, SharedEntry<S::Command>)> = match &self.nodes[i].replica {
            Some(r) => r.learned().map(|(s, e)| (s, e.clone())).collect(),
            None => return Ok(()),
        };
        for (slot, entry) in learned {
            self.check(id, slot, &entry)?;
        }
        Ok(())
    }

    /// Checks every live replica's learned slots against the ghost.
    pub fn check_all(&mut self) -> Result<(), Violation> {
        for i in 0..self.nodes.len() {
            self.check_node(i)?;
        }
        Ok(())
    }

    /// Whether every replica is up and has applied the same, non-empty prefix.
    pub fn converged(&self) -> bool {
        let applied: Vec<Slot> = self
            .nodes
            .iter()
            .filter_map(|n| n.replica.as_ref().map(|r| r.status().applied_upto))
            .collect();
        applied.len() == self.nodes.len() && applied.iter().all(|a| *a == applied[0] && *a > 0)
    }
}
