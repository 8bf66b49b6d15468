//! synod-models: exhaustive stateright models of synod's real Paxos core.
//!
//! # What is checked, and how
//!
//! The model is the product: each server actor holds a real
//! [`synod::paxos::Replica`] over the real [`synod::kv::KvStore`], and the
//! actor only drives it. A delivered message, a client request or a timer
//! firing becomes one `Replica::step`; the step's `Ready` becomes stateright
//! commands in the driver's order: its records appended to the actor's
//! storage (`Out::save`), then its messages and client replies. A stateright
//! handler is atomic, so no crash falls between save and send here; that
//! window is for the simulator and the loom tests.
//!
//! A crash loses everything but the storage; the recovery starts the replica
//! again with `Replica::recover` from exactly the saved records, or, when the
//! configuration wipes disks ([`Restarts::Wiped`]), with `Replica::amnesiac`
//! from nothing. Time is the tick timer: one firing is one `Input::Tick`, and
//! each incarnation has a tick budget (its first election timeout, measured on
//! the core, plus [`ModelCfg::extra_ticks`]), which with
//! the ballot-round bound keeps the space finite.
//!
//! Clients invoke register operations (put, get, cas, append on one key,
//! on a classic or an order-revealing schedule, [`spec::Workload`]) with request
//! ids, each to one server, and follow a refusal's leader hint (or the next
//! server) a bounded number of times. Their invocations and `Ok`
//! returns feed stateright's linearizability tester ([`history`]).
//!
//! Properties ([`properties`]): always linearizable; always agreement (no two
//! servers ever learn different values for a slot, over ghost copies of every
//! value each ever learned); always a learned log never changes; always an
//! amnesiac server votes in no ballot below the promise it forgot; always
//! every server starts; always every learned value was accepted by a
//! majority in one ballot; always each server's state is its log applied by
//! the register spec, each request once; always a read answered `Ok` was
//! confirmed by a majority after it arrived ([`reads`]); always servers at
//! the same applied slot hold the same state and session table. Sometimes a
//! value is chosen, every client completes every operation, a leader holds a
//! chosen client command after another ballot led before it (a leader
//! change), a restarted server knows a chosen slot, one request is chosen in
//! two slots, a read is served, a wiped server votes again.
//!
//! The checker runs [`SynodModel`]: the actor system wrapped in reductions
//! (echo saturation and covered drops for the duplicating network, crashed
//! servers' memory forgotten) that keep every reachable actor state, storage
//! and history; see [`reduce`]. Each step is made cheaper, never different,
//! by a cache of what a delivery does to a server ([`effect`]) and by
//! messages and states that carry their hash ([`msg`], [`memo`]).
//!
//! The planted bugs of the core's `faults` feature are switched on through
//! [`ModelCfg::faults`]; each must produce a counterexample (the teeth tests).

/// mimalloc for every binary that links the models (the CLI and the tests):
/// a search clones and drops millions of small states, and the system
/// allocator spent about a fifth of the checker's time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod actor;
pub mod cfg;
pub mod cover;
pub mod effect;
pub mod history;
pub mod memo;
pub mod msg;
pub mod properties;
pub mod reads;
pub mod reduce;
pub mod spec;

use stateright::actor::{ActorModel, LossyNetwork, Network};

pub use actor::SynodActor;
pub use cfg::{CfgError, ModelCfg, NetworkKind, Restarts};
pub use history::History;
pub use properties::SynodState;
pub use reduce::SynodModel;
pub use spec::Workload;

/// Names of the `always` properties (safety).
pub const SAFETY: [&str; 9] = [
    "linearizable",
    "agreement",
    "learned prefix stable",
    "amnesiac votes no forgotten ballot",
    "servers start",
    "learned value chosen",
    "applied exactly once",
    "read confirmed by a quorum",
    "same slot same state",
];

/// Names of the `sometimes` properties (reachability): each proves that
/// the bounds still reach a feature; `models/tests` names, for each, a CI
/// configuration that must reach it.
pub const SOMETIMES: [&str; 7] = [
    "value chosen",
    "every operation returns",
    "leader change commits",
    "restarted server learns",
    "command chosen twice",
    "read served",
    "amnesiac rejoins",
];

/// Builds the model of `cfg`: the actor system (servers first, then
/// clients) wrapped in the reductions of [`reduce`], which also carries the
/// properties.
pub fn model(cfg: &ModelCfg) -> Result<SynodModel, CfgError> {
    cfg.validate()?;
    let network = match cfg.network {
        NetworkKind::UnorderedNonDuplicating => Network::new_unordered_nonduplicating([]),
        NetworkKind::UnorderedDuplicating => Network::new_unordered_duplicating([]),
        NetworkKind::Ordered => Network::new_ordered([]),
    };
    let servers = (0..cfg.servers).map(|_| SynodActor::Server(cfg.clone()));
    let clients = (0..cfg.clients).map(|_| SynodActor::Client(cfg.clone()));
    let system = ActorModel::new(cfg.clone(), History::default())
        .actors(servers)
        .actors(clients)
        .init_network(network)
        .lossy_network(if cfg.lossy {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        })
        .max_crashes(cfg.max_crashes)
        .record_msg_out(history::record_out)
        .record_msg_in(history::record_in)
        .within_boundary(properties::within_boundary);
    Ok(SynodModel::new(cfg.clone(), system))
}
