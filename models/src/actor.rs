//! The actors: a server wraps the real [`Replica`] and adds no protocol logic
//! (it steps the replica and turns each `Ready` into stateright commands:
//! records saved first, then messages and replies); a client invokes its
//! scheduled register operations and retries refused ones.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use stateright::actor::{model_timeout, Actor, Id, Out};
use synod::kv::{Command, KvLimits, KvStore, Response};
use synod::paxos::{
    Ballot, ClientReply, ClientRequest, Config, Input, Message, NodeId, Outcome, ReadMode, Ready,
    Record, Replica, SharedEntry, Slot,
};

use crate::cfg::{ModelCfg, Restarts};
use crate::memo::HashMemo;
use crate::reads::{ReadGhost, Seen};
use crate::spec::RegisterOp;

pub use crate::msg::{Msg, Payload};

/// The only timer: one firing is one tick of a replica's clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// `Input::Tick`.
    Tick,
}

/// Ghost variables of one server, kept beside its disk so they survive
/// crashes and wipes (they are the model's memory, not the server's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// The first value this server ever learned for each slot, over all its
    /// incarnations.
    pub learned: BTreeMap<Slot, SharedEntry<Command>>,
    /// A slot whose learned value later differed from the first one.
    pub changed: Option<Slot>,
    /// The highest ballot the server had promised (per its records) before
    /// its last wipe: the promise it forgot.
    pub forgotten_promise: Option<Ballot>,
    /// A vote (promise or acceptance) cast after a wipe in a ballot below the
    /// forgotten promise.
    pub vote_below_forgotten: Option<Ballot>,
    /// The first ballot this server led in (phase 1 done), over all its
    /// incarnations: a leader of a higher ballot is a leader change.
    pub first_led: Option<Ballot>,
    /// Every acceptance this server ever persisted (`Record::Accept`), over
    /// all its incarnations, wiped ones included: what makes a value chosen.
    pub accepted: BTreeSet<(Slot, Ballot, SharedEntry<Command>)>,
}

/// A server's stable storage (its records, in order) and its ghost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disk {
    /// Every record the replica asked to persist since its last wipe.
    pub records: Vec<Record<KvStore>>,
    /// How many times the server restarted.
    pub restarts: u8,
    /// Whether the current incarnation started with a wiped disk.
    pub wiped: bool,
    /// The model's ghost variables.
    pub ghost: Ghost,
    /// Its hash, once computed (see [`crate::memo`]).
    memo: HashMemo,
}

impl Hash for Disk {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let Disk {
            records,
            restarts,
            wiped,
            ghost,
            memo,
        } = self;
        state.write_u64(memo.hash_of(&(records, restarts, wiped, ghost)));
    }
}

/// A running server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerState {
    /// The real replica.
    pub replica: Replica<KvStore>,
    /// The same disk the model saved (the actor needs it to append).
    pub disk: Disk,
    /// Ticks this incarnation may still take.
    pub ticks_left: u8,
    /// The read-confirmation ghost ([`crate::reads`]).
    pub reads: ReadGhost,
    /// Its hash, once computed (see [`crate::memo`]).
    memo: HashMemo,
}

impl Hash for ServerState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let ServerState {
            replica,
            disk,
            ticks_left,
            reads,
            memo,
        } = self;
        state.write_u64(memo.hash_of(&(replica, disk, ticks_left, reads)));
    }
}

/// A client's operation in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pending {
    /// The request's sequence number (a retry reuses it).
    pub seq: u64,
    /// The operation.
    pub op: RegisterOp,
    /// The server this attempt went to.
    pub server: Id,
    /// Resends so far.
    pub retries: u8,
}

/// A client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientState {
    /// Operations completed.
    pub done: usize,
    /// The operation in flight, if any.
    pub pending: Option<Pending>,
    /// The client stopped: its last operation's outcome is unknown (or it
    /// ran out of retries), so it may not start another on the same process.
    pub stopped: bool,
}

/// An actor's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// A server.
    Server(Box<ServerState>),
    /// A server that could not start: a broken invariant, reported by the
    /// `servers_start` property.
    Failed(String),
    /// A client.
    Client(ClientState),
    /// A crashed server. What it held in memory is gone: the model forgets
    /// it at the crash ([`crate::reduce`]), since nothing reads it again (a
    /// crashed actor receives nothing and has no timers, and a restart
    /// starts anew from the disk).
    Down,
}

/// The one actor type of the model (stateright wants one): servers first,
/// then clients.
#[derive(Clone, Debug)]
pub enum SynodActor {
    /// Replica `Id` (node id = index + 1).
    Server(ModelCfg),
    /// A client.
    Client(ModelCfg),
}

/// The replica's name of server actor `id`.
pub fn node_id(id: Id) -> NodeId {
    usize::from(id) as NodeId + 1
}

/// The server actor named `node` by the replicas.
pub fn server_actor(node: NodeId) -> Id {
    Id::from((node - 1) as usize)
}

/// The replica configuration of server `id` under `cfg`.
pub fn replica_config(cfg: &ModelCfg, id: Id) -> Result<Config, synod::paxos::ConfigError> {
    let members = (1..=cfg.servers as NodeId).collect::<Vec<_>>();
    let mut c = Config::new(node_id(id), members)?;
    // The smallest legal timing, so an election takes 2 or 3 ticks.
    c.election_timeout_ticks = 2;
    c.heartbeat_ticks = 1;
    c.window = cfg.window;
    c.max_batch = cfg.max_batch;
    c.max_slot_lead = cfg.window + 1;
    c.snapshot_interval = 0;
    c.faults = cfg.faults;
    c.validate()?;
    Ok(c)
}

/// The initial replicated state.
fn initial_store() -> KvStore {
    KvStore::new(KvLimits::default())
}

/// The initial replicated state of the servers of `cfg` (with the store's
/// planted bug if it says so).
fn initial_store_of(cfg: &ModelCfg) -> KvStore {
    let store = initial_store();
    if cfg.cas_ignores_expected {
        store.with_cas_ignoring_expected()
    } else {
        store
    }
}

/// Appends `record` to the disk, unless it repeats a record already there and
/// recovering with it gives the very replica recovering without it gives (a
/// re-accepted value after a duplicated accept): the disk's meaning is what
/// `Replica::recover` makes of it, and a log that grows on every duplicate
/// delivery would make the duplicating network's state space infinite.
/// Returns whether the disk changed.
fn append_record(
    config: &Config,
    initial: &KvStore,
    records: &mut Vec<Record<KvStore>>,
    record: Record<KvStore>,
) -> bool {
    if records.contains(&record) {
        let without = Replica::recover(config.clone(), initial.clone(), records.clone());
        let mut longer = records.clone();
        longer.push(record.clone());
        let with = Replica::recover(config.clone(), initial.clone(), longer);
        if let (Ok(a), Ok(b)) = (without, with) {
            if a == b {
                return false;
            }
        }
    }
    records.push(record);
    true
}

/// Most ticks [`ticks_to_elect`] tries.
const MAX_ELECTION_TICKS: u8 = 64;

/// How many ticks a fresh replica with `config` takes to stand for election:
/// measured on the real core (a lone copy stepped until it sends a prepare),
/// so the tick budget follows the core's seeded timeout, whatever it is.
pub fn ticks_to_elect(config: &Config) -> Option<u8> {
    let mut r = Replica::new(config.clone(), initial_store()).ok()?;
    for t in 1..=MAX_ELECTION_TICKS {
        let ready = r.step(Input::Tick);
        if ready
            .messages
            .iter()
            .any(|(_, m)| matches!(m, Message::Prepare { .. }))
        {
            return Some(t);
        }
    }
    None
}

/// The highest ballot promised per these records.
fn promised_in(records: &[Record<KvStore>]) -> Option<Ballot> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Promise { ballot } | Record::Accept { ballot, .. } => Some(*ballot),
            _ => None,
        })
        .max()
}

impl SynodActor {
    fn start_server(cfg: &ModelCfg, id: Id, storage: &Option<Disk>, o: &mut Out<Self>) -> State {
        let config = match replica_config(cfg, id) {
            Ok(c) => c,
            Err(e) => return State::Failed(format!("server {id}: {e}")),
        };
        let (replica, disk) = match storage {
            None => match Replica::new(config, initial_store_of(cfg)) {
                Ok(r) => (r, Disk::default()),
                Err(e) => return State::Failed(format!("server {id}: {e}")),
            },
            Some(old) => {
                let mut disk = old.clone();
                disk.restarts = disk.restarts.saturating_add(1);
                match cfg.restarts {
                    Restarts::Intact => {
                        disk.wiped = false;
                        match Replica::recover(config, initial_store_of(cfg), disk.records.clone())
                        {
                            Ok(r) => (r, disk),
                            Err(e) => return State::Failed(format!("server {id} recover: {e}")),
                        }
                    }
                    Restarts::Wiped => {
                        let forgotten =
                            promised_in(&disk.records).max(disk.ghost.forgotten_promise);
                        disk.ghost.forgotten_promise = forgotten;
                        disk.records.clear();
                        disk.wiped = true;
                        // Every amnesiac start gets a seed of its own: the
                        // nonce of its recovery prepares (`Replica::amnesiac`).
                        let mut config = config;
                        config.seed = config.seed.wrapping_add(u64::from(disk.restarts) << 32);
                        match Replica::amnesiac(config, initial_store_of(cfg)) {
                            Ok(r) => (r, disk),
                            Err(e) => return State::Failed(format!("server {id} amnesiac: {e}")),
                        }
                    }
                }
            }
        };
        o.save(disk.clone());
        let ticks_left = if usize::from(id) < cfg.timers {
            match ticks_to_elect(replica.config()) {
                Some(t) => {
                    o.set_timer(Timer::Tick, model_timeout());
                    t.saturating_add(cfg.extra_ticks)
                }
                None => return State::Failed(format!("server {id} never stands for election")),
            }
        } else {
            0
        };
        State::Server(Box::new(ServerState {
            replica,
            disk,
            ticks_left,
            reads: ReadGhost::default(),
            memo: HashMemo::default(),
        }))
    }

    /// Steps the replica; unchanged and silent means a no-op (the state stays
    /// borrowed, so stateright prunes the transition).
    fn step_server(
        state: &mut Cow<State>,
        input: Input<KvStore>,
        tick: bool,
        cfg: &ModelCfg,
        o: &mut Out<Self>,
    ) {
        let State::Server(s) = state.as_ref() else {
            return;
        };
        let seen = Seen::of(&input);
        let mut replica = s.replica.clone();
        let ready = replica.step(input);
        let reads = s.reads.after(&seen, &replica.status(), &ready, cfg.servers);
        if !tick && ready.is_empty() && replica == s.replica && reads == s.reads {
            return;
        }
        if let State::Server(s) = state.to_mut() {
            s.replica = replica;
            s.reads = reads;
            if tick {
                s.ticks_left = s.ticks_left.saturating_sub(1);
                if s.ticks_left > 0 {
                    o.set_timer(Timer::Tick, model_timeout());
                }
            }
            Self::emit(s, ready, cfg, o);
        }
    }

    /// The driver's rule: persist the records, then send messages and replies.
    /// The ghost is updated beside the records and saved with them.
    fn emit(s: &mut ServerState, ready: Ready<KvStore>, cfg: &ModelCfg, o: &mut Out<Self>) {
        let before = s.disk.ghost.clone();
        let ghost = &mut s.disk.ghost;
        if let Some(forgotten) = ghost.forgotten_promise.filter(|_| s.disk.wiped) {
            for r in &ready.persist {
                if let Record::Promise { ballot } | Record::Accept { ballot, .. } = r {
                    if *ballot < forgotten && ghost.vote_below_forgotten.is_none() {
                        ghost.vote_below_forgotten = Some(*ballot);
                    }
                }
            }
        }
        for r in &ready.persist {
            if let Record::Accept {
                slot,
                ballot,
                entry,
            } = r
            {
                ghost.accepted.insert((*slot, *ballot, entry.clone()));
            }
        }
        for (slot, entry) in s.replica.learned() {
            let first = ghost.learned.entry(slot).or_insert_with(|| entry.clone());
            if first != entry && ghost.changed.is_none() {
                ghost.changed = Some(slot);
            }
        }
        let status = s.replica.status();
        if status.is_leader && ghost.first_led.is_none() {
            ghost.first_led = Some(status.ballot);
        }
        let mut changed = *ghost != before;
        let config = s.replica.config().clone();
        let initial = initial_store_of(cfg);
        for record in ready.persist {
            changed |= append_record(&config, &initial, &mut s.disk.records, record);
        }
        if changed {
            o.save(s.disk.clone());
        }
        for (to, message) in ready.messages {
            // The core sends only to members; anything else would be a core
            // bug that the agreement properties do not need to see.
            if to >= 1 && to as usize <= cfg.servers {
                o.send(server_actor(to), Msg::new(Payload::Peer(message)));
            }
        }
        for reply in ready.replies {
            o.send(
                Id::from(reply.client_id as usize),
                Msg::new(Payload::Reply(reply)),
            );
        }
    }

    fn send_request(id: Id, p: &Pending, o: &mut Out<Self>) {
        let request = ClientRequest {
            client_id: usize::from(id) as u64,
            seq: p.seq,
            command: p.op.command(),
            read_mode: ReadMode::ReadIndex,
        };
        o.send(p.server, Msg::new(Payload::Request(request)));
    }

    /// Client `id`'s `k`-th operation, sent to server `(client + k) mod
    /// servers`: successive operations go to different servers, so a read
    /// after a write may reach a replica other than the one that answered.
    fn invoke(cfg: &ModelCfg, id: Id, k: usize, o: &mut Out<Self>) -> Option<Pending> {
        if k >= cfg.ops_per_client {
            return None;
        }
        let c = usize::from(id) - cfg.servers;
        let p = Pending {
            seq: k as u64 + 1,
            op: RegisterOp::schedule(cfg.workload, c, k),
            server: Id::from((c + k) % cfg.servers),
            retries: 0,
        };
        Self::send_request(id, &p, o);
        Some(p)
    }

    fn client_reply(
        cfg: &ModelCfg,
        id: Id,
        state: &mut Cow<State>,
        src: Id,
        reply: ClientReply<Response>,
        o: &mut Out<Self>,
    ) {
        let State::Client(c) = state.as_ref() else {
            return;
        };
        let Some(p) = &c.pending else {
            return;
        };
        if p.seq != reply.seq || c.stopped || src != p.server {
            return; // a duplicate, or an answer to an earlier attempt
        }
        let mut c = c.clone();
        let mut p = p.clone();
        match reply.outcome {
            Outcome::Ok(_) => {
                c.done += 1;
                c.pending = Self::invoke(cfg, id, c.done, o);
            }
            Outcome::NotLeader { hint } => {
                let next = match hint {
                    Some(h) if h >= 1 && h as usize <= cfg.servers && server_actor(h) != src => {
                        server_actor(h)
                    }
                    _ => Id::from((usize::from(src) + 1) % cfg.servers),
                };
                Self::retry(cfg, id, &mut c, &mut p, next, o);
            }
            Outcome::Busy => {
                let next = Id::from((usize::from(src) + 1) % cfg.servers);
                Self::retry(cfg, id, &mut c, &mut p, next, o);
            }
            Outcome::Unknown { .. }
            | Outcome::SessionStale
            | Outcome::SessionExpired
            | Outcome::SeqReused => {
                c.stopped = true;
            }
        }
        *state.to_mut() = State::Client(c);
    }

    /// Resends a definitely refused request to `next`, within the retry bound.
    fn retry(
        cfg: &ModelCfg,
        id: Id,
        c: &mut ClientState,
        p: &mut Pending,
        next: Id,
        o: &mut Out<Self>,
    ) {
        if p.retries < cfg.max_client_retries {
            p.retries += 1;
            p.server = next;
            Self::send_request(id, p, o);
            c.pending = Some(p.clone());
        } else {
            c.stopped = true;
        }
    }
}

impl Actor for SynodActor {
    type Msg = Msg;
    type State = State;
    type Timer = Timer;
    type Random = ();
    type Storage = Disk;

    fn on_start(&self, id: Id, storage: &Option<Disk>, o: &mut Out<Self>) -> State {
        match self {
            SynodActor::Server(cfg) => Self::start_server(cfg, id, storage, o),
            SynodActor::Client(cfg) => State::Client(ClientState {
                done: 0,
                pending: Self::invoke(cfg, id, 0, o),
                stopped: false,
            }),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<State>, src: Id, msg: Msg, o: &mut Out<Self>) {
        match (self, msg.payload()) {
            (SynodActor::Server(cfg), Payload::Peer(message)) if usize::from(src) < cfg.servers => {
                let input = Input::Message {
                    from: node_id(src),
                    message: message.clone(),
                };
                Self::step_server(state, input, false, cfg, o);
            }
            (SynodActor::Server(cfg), Payload::Request(request)) => {
                Self::step_server(state, Input::Request(request.clone()), false, cfg, o);
            }
            (SynodActor::Client(cfg), Payload::Reply(reply)) => {
                Self::client_reply(cfg, id, state, src, reply.clone(), o);
            }
            _ => {}
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<State>, _timer: &Timer, o: &mut Out<Self>) {
        if let SynodActor::Server(cfg) = self {
            Self::step_server(state, Input::Tick, true, cfg, o);
        }
    }

    fn name(&self) -> String {
        match self {
            SynodActor::Server(_) => "server".into(),
            SynodActor::Client(_) => "client".into(),
        }
    }
}
