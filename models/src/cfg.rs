//! A model configuration: how many servers and clients, which network, which
//! faults, and the bounds that keep the state space finite.

use std::fmt;
use std::str::FromStr;

use synod::paxos::Faults;

use crate::spec::Workload;

/// The network semantics stateright explores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    /// Any message may be delivered at any time, once.
    UnorderedNonDuplicating,
    /// Any message may be delivered at any time, any number of times.
    UnorderedDuplicating,
    /// FIFO per (sender, receiver) pair, each message once.
    Ordered,
}

impl NetworkKind {
    /// Every network, by its CLI name.
    pub const ALL: [NetworkKind; 3] = [
        NetworkKind::UnorderedNonDuplicating,
        NetworkKind::UnorderedDuplicating,
        NetworkKind::Ordered,
    ];

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::UnorderedNonDuplicating => "unordered-nonduplicating",
            NetworkKind::UnorderedDuplicating => "unordered-duplicating",
            NetworkKind::Ordered => "ordered",
        }
    }
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A network name that is not one of [`NetworkKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}; expected one of: unordered-nonduplicating, unordered-duplicating, ordered")]
pub struct UnknownNetwork(pub String);

impl FromStr for NetworkKind {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.to_ascii_lowercase().replace('_', "-");
        NetworkKind::ALL
            .into_iter()
            .find(|n| n.name() == norm)
            .ok_or_else(|| UnknownNetwork(s.to_string()))
    }
}

/// What a server finds on its disk when it restarts after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Restarts {
    /// Every record it persisted: it restarts with `Replica::recover`.
    Intact,
    /// Nothing (disk wiped): it restarts with `Replica::amnesiac`.
    Wiped,
}

/// A model configuration. [`ModelCfg::new`] gives the smallest bounds; adjust
/// the public fields and call [`ModelCfg::validate`] (the model builder does).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelCfg {
    /// Number of Paxos replicas (3 or 5).
    pub servers: usize,
    /// Number of client actors (1 to 3).
    pub clients: usize,
    /// Operations each client invokes, one after the other.
    pub ops_per_client: usize,
    /// Which operations they are ([`crate::spec::RegisterOp::schedule`]).
    pub workload: Workload,
    /// The network semantics.
    pub network: NetworkKind,
    /// Whether the network may drop any message.
    pub lossy: bool,
    /// Most servers crashed at the same time (stateright's `max_crashes`;
    /// client crashes are pruned).
    pub max_crashes: usize,
    /// Only servers with an index at or above this one may crash (0: any);
    /// crashing only servers without timers keeps the space small.
    pub first_crashable: usize,
    /// Most restarts of each server over a whole run.
    pub max_restarts: u8,
    /// Per-server restart limits (index = server) in place of
    /// `max_restarts`; a server past the end of the list uses
    /// `max_restarts`. Empty: every server uses `max_restarts`. When not
    /// empty, a server whose limit is 0 never crashes (it could only stay
    /// down), so a configuration can crash exactly the server it names.
    pub restarts_of: Vec<u8>,
    /// What a restarted server finds on disk.
    pub restarts: Restarts,
    /// The first `timers` servers have a tick timer (one firing = one tick);
    /// the others never stand for election. At least 1: the core elects a
    /// leader only on ticks.
    pub timers: usize,
    /// Ticks each server incarnation takes beyond those its first election
    /// timeout needs (heartbeats, retransmissions, re-elections); bounds the
    /// replica's clock.
    pub extra_ticks: u8,
    /// Highest ballot round explored (`within_boundary`).
    pub max_round: u64,
    /// Most read-index rounds a leader starts in one ballot
    /// (`within_boundary`): a read redelivered after its answer needs a new
    /// round, so a duplicating network could ask for rounds without end.
    pub max_read_rounds: u64,
    /// A client resends a refused request (every server answered `NotLeader`
    /// or `Busy`) at most this many times.
    pub max_client_retries: u8,
    /// The replica's `window` (slots in flight).
    pub window: u64,
    /// The replica's `max_batch` (commands per slot).
    pub max_batch: usize,
    /// Planted bugs, set on every server.
    pub faults: Faults,
    /// Planted bug of the store (`KvStore::with_cas_ignoring_expected`), on
    /// every server: a cas writes whatever the current value is.
    pub cas_ignores_expected: bool,
}

/// A configuration that cannot be modelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CfgError {
    /// A count out of its supported range.
    #[error("{what} must be between {min} and {max}, got {got}")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
        /// The value given.
        got: u64,
    },
}

fn range(what: &'static str, got: u64, min: u64, max: u64) -> Result<(), CfgError> {
    if got < min || got > max {
        return Err(CfgError::OutOfRange {
            what,
            min,
            max,
            got,
        });
    }
    Ok(())
}

impl ModelCfg {
    /// The smallest useful bounds for `servers` and `clients`: one op per
    /// client, no loss, no crashes, only the first server ticks.
    pub fn new(servers: usize, clients: usize, network: NetworkKind) -> ModelCfg {
        ModelCfg {
            servers,
            clients,
            ops_per_client: 1,
            workload: Workload::Classic,
            network,
            lossy: false,
            max_crashes: 0,
            first_crashable: 0,
            max_restarts: 0,
            restarts_of: Vec::new(),
            restarts: Restarts::Intact,
            timers: 1,
            extra_ticks: 0,
            max_round: 2,
            max_read_rounds: 2,
            max_client_retries: 1,
            window: 1,
            max_batch: 1,
            faults: Faults::default(),
            cas_ignores_expected: false,
        }
    }

    /// Checks every field against what the models support.
    pub fn validate(&self) -> Result<(), CfgError> {
        range("servers", self.servers as u64, 1, 7)?;
        range("clients", self.clients as u64, 1, 4)?;
        range("ops_per_client", self.ops_per_client as u64, 1, 4)?;
        range(
            "max_crashes",
            self.max_crashes as u64,
            0,
            self.servers as u64,
        )?;
        range(
            "restarts_of (servers listed)",
            self.restarts_of.len() as u64,
            0,
            self.servers as u64,
        )?;
        range("timers", self.timers as u64, 1, self.servers as u64)?;
        range("extra_ticks", u64::from(self.extra_ticks), 0, 32)?;
        range("max_round", self.max_round, 1, 16)?;
        range("max_read_rounds", self.max_read_rounds, 1, 16)?;
        range("window", self.window, 1, 8)?;
        range("max_batch", self.max_batch as u64, 1, 8)?;
        Ok(())
    }

    /// Most restarts of server `i` (index) over a whole run.
    pub fn restart_limit(&self, i: usize) -> u8 {
        self.restarts_of
            .get(i)
            .copied()
            .unwrap_or(self.max_restarts)
    }

    /// Whether server `i` (index) may crash at all.
    pub fn may_crash(&self, i: usize) -> bool {
        i >= self.first_crashable && (self.restarts_of.is_empty() || self.restart_limit(i) > 0)
    }

    /// A one-line description, for reports.
    pub fn describe(&self) -> String {
        format!(
            "{} servers, {} clients x {} ops{}, {}{}, crashes {} (restarts {}{} {:?}), timers on {}, extra ticks {}, rounds {}{}{}",
            self.servers,
            self.clients,
            self.ops_per_client,
            match self.workload {
                Workload::Classic => "",
                Workload::Revealing => " (revealing)",
            },
            self.network,
            if self.lossy { " lossy" } else { "" },
            self.max_crashes,
            self.max_restarts,
            if self.restarts_of.is_empty() {
                String::new()
            } else {
                format!(", per server {:?}", self.restarts_of)
            },
            self.restarts,
            self.timers,
            self.extra_ticks,
            self.max_round,
            if self.faults == Faults::default() {
                String::new()
            } else {
                format!(", faults {:?}", self.faults)
            },
            if self.cas_ignores_expected {
                ", cas ignores expected"
            } else {
                ""
            },
        )
    }
}
