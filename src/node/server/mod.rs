//! The running node: the core, its storage and its network, wired together.
//!
//! # Threads
//!
//! ```text
//!  peer readers ──┐  (one per inbound peer connection: transport::peer)
//!  client readers ┼──> input queue ──> core thread ──> pipeline queue ──> persistence thread
//!  ticker ────────┘    (bounded,       (steps the      (bounded,          (append, ONE fsync per
//!                       node::queue)    Replica)        node::pipeline)    group, then release)
//!                                                                              │
//!                        peer senders <── per-peer send queues <──────── NodeSink ──> client writers
//! ```
//!
//! - ONE bounded input queue ([`crate::node::queue`]) carries every input of
//!   the core: peer messages (the transport's reader threads), client events
//!   (the client port's reader threads), ticks (the ticker thread, every
//!   `tick_ms`) and the stop request. Ticks are messages because the core's
//!   only clock is `Input::Tick` (and loom models no time). A full queue
//!   blocks the readers: backpressure onto TCP, never unbounded memory. The
//!   ticker never blocks: a tick that finds the queue full is skipped (the
//!   core is busy; its timeouts stretch, which is safe).
//! - The core thread is the only owner of the [`Replica`]. It steps a group
//!   of inputs and submits their outputs as ONE [`Batch`](crate::node::pipeline::Batch):
//!   records, then outbound items. It never waits for the disk, only for a
//!   full pipeline queue (backpressure from a slow disk).
//! - The persistence thread ([`crate::node::pipeline`]) appends the records
//!   of every waiting batch, fsyncs once (group commit), and only then
//!   releases their items to the [`NodeSink`]: peer messages to the
//!   transport's per-peer bounded send queues (a sender thread per peer),
//!   client replies to the client port's per-connection reply queues (a
//!   writer thread per connection). So nothing of a `Ready` leaves before its
//!   records are durable: the core's rule.
//! - Messages to itself never leave the core (`Replica::step` handles them
//!   within the step), so nothing loops back through the queue.
//! - Status requests are answered by the core thread at once from
//!   `replica.status()`: they change nothing, so they wait for no disk.
//! - A snapshot record from the core becomes a compaction of the storage
//!   ([`crate::paxos::compaction_base`]).
//!
//! # Shutdown
//!
//! [`StopHandle::stop`] (or SIGTERM/SIGINT, polled by the ticker) puts
//! [`Event::Stop`] into the input queue. The core thread submits what it
//! stepped, closes the input queue (readers' later pushes fail: the request
//! never reached the core, and its connection closes below), and shuts the
//! pipeline down: every accepted batch is appended, synced and released.
//! Then the transport and the client port close their connections and join
//! their threads, and the data directory's lock is released. No
//! acknowledged write is lost: a reply leaves only after its records are
//! durable, and the final drain syncs everything accepted.
//!
//! A storage failure stops the node the same way, with the error reported:
//! the pipeline discards everything not yet durable.
//!
//! All synchronization is [`crate::sync`]'s.

mod cli;
mod core;
mod routes;
pub mod signal;
mod sink;

pub use cli::{run, NodeArgs};
pub use core::{Event, MAX_INPUTS_PER_BATCH};
pub use routes::{Routes, RoutesFull};
pub use sink::{NodeSink, Outbound};

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use crate::kv::{Command, KvLimits, KvStore, Response};
use crate::node::config::{ClusterConfig, NodeId};
use crate::node::identity::{DataDir, DataDirError, Identity, StartFlags, StartMode};
use crate::node::pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineStats};
use crate::node::queue::{self, PushError, Sender};
use crate::node::storage::{FileStorage, Storage, StorageError, StorageLimits};
use crate::node::transport::client_port::ClientPort;
use crate::node::transport::frame::PREFIX_BYTES;
use crate::node::transport::{Transport, TransportError};
use crate::paxos::{Config, ConfigError, Message, Record, RecoverError, Replica, Status};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{thread, Arc};

use self::core::CoreThread;

/// Inputs the core's queue holds before readers block.
pub const INPUT_QUEUE_EVENTS: usize = 8192;

/// Bytes a peer frame adds around the core's message besides the cluster
/// id: prefix, version, cluster length, sender, and slack for the postcard
/// envelope of a snapshot chunk (variant, slot, offsets, length).
pub const FRAME_OVERHEAD_BYTES: usize = PREFIX_BYTES + 1 + 1 + 8 + 64;

/// How to start a node.
#[derive(Debug)]
pub struct ServerOptions {
    /// This node's id (a member of `config`).
    pub id: NodeId,
    /// The cluster.
    pub config: ClusterConfig,
    /// The data directory (created if missing).
    pub data_dir: PathBuf,
    /// A new cluster member: write the identity, start fresh.
    pub bootstrap: bool,
    /// Start without the directory's state, amnesiac (`--recover-amnesiac`).
    pub recover_amnesiac: bool,
    /// Already bound listeners (tests bind port 0); `None` binds the
    /// config's addresses.
    pub listeners: Option<Listeners>,
    /// Whether SIGTERM/SIGINT (see [`signal`]) stop this node. Only the
    /// process's one node should watch them.
    pub stop_on_signal: bool,
}

/// A node's two listening sockets.
#[derive(Debug)]
pub struct Listeners {
    /// The peer port.
    pub peer: TcpListener,
    /// The client port.
    pub client: TcpListener,
}

/// Why a node could not start, or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration cannot run this node.
    #[error("config: {0}")]
    Config(String),
    /// The core's configuration is invalid.
    #[error("core config: {0}")]
    CoreConfig(#[from] ConfigError),
    /// The data directory cannot be used (locked, unreadable identity...).
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// The storage failed or is corrupt (the error names file and offset).
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The core could not be rebuilt from the recovered records.
    #[error("recovery: {0}")]
    Recover(#[from] RecoverError),
    /// The network could not start.
    #[error("network: {0}")]
    Transport(#[from] TransportError),
    /// A thread could not be started.
    #[error("cannot start a thread: {0}")]
    Spawn(std::io::Error),
    /// Persistence failed while running.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The core thread panicked.
    #[error("the core thread panicked")]
    Panicked,
}

/// Stops a running node from any thread.
#[derive(Clone)]
pub struct StopHandle {
    requested: Arc<AtomicBool>,
    inputs: Sender<Event>,
}

impl StopHandle {
    /// Asks the node to shut down cleanly; returns at once.
    pub fn stop(&self) {
        self.requested.store(true, Ordering::Release);
        // If the queue is full the ticker delivers the stop on its next tick.
        let _ = self.inputs.try_push(Event::Stop);
    }
}

/// What a cleanly stopped node did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReport {
    /// The persistence stage's counters.
    pub pipeline: PipelineStats,
    /// The core's status when it stopped.
    pub status: Status,
}

/// A running node.
pub struct Server {
    id: NodeId,
    mode: StartMode,
    peer_addr: SocketAddr,
    client_addr: SocketAddr,
    stop: StopHandle,
    core: Option<thread::JoinHandle<Result<ServerReport, ServerError>>>,
    ticker: Option<thread::JoinHandle<()>>,
}

/// The core's configuration for node `id` of `config`, from `[tuning]`.
pub fn core_config(config: &ClusterConfig, id: NodeId) -> Result<Config, ServerError> {
    let t = &config.tuning;
    let mut core = Config::new(id, config.ids())?;
    core.election_timeout_ticks = t.election_timeout_ticks;
    core.heartbeat_ticks = t.heartbeat_ticks;
    core.snapshot_interval = t.snapshot_interval;
    core.window = t.window;
    core.max_batch = t.max_batch;
    core.validate()?;
    let needed = core.max_message_bytes + config.cluster_id.len() + FRAME_OVERHEAD_BYTES;
    if (t.max_frame_bytes as usize) < needed {
        return Err(ServerError::Config(format!(
            "[tuning] max_frame_bytes is {}, but a snapshot chunk of the core's \
             max_message_bytes ({}) needs frames of at least {needed} bytes",
            t.max_frame_bytes, core.max_message_bytes
        )));
    }
    Ok(core)
}

fn mode_name(mode: &StartMode) -> &'static str {
    match mode {
        StartMode::Fresh => "fresh",
        StartMode::Recover => "recover",
        StartMode::Amnesiac(_) => "amnesiac",
    }
}

impl Server {
    /// Opens the data directory, recovers the core and starts every thread.
    pub fn start(options: ServerOptions) -> Result<Server, ServerError> {
        let ServerOptions {
            id,
            config,
            data_dir,
            bootstrap,
            recover_amnesiac,
            listeners,
            stop_on_signal,
        } = options;
        let start = StartFlags {
            bootstrap,
            recover_amnesiac,
        };
        if config.node(id).is_none() {
            return Err(ServerError::Config(format!(
                "node {id} is not a member (members: {:?})",
                config.ids()
            )));
        }
        let core_config = core_config(&config, id)?;
        let identity = Identity {
            cluster_id: config.cluster_id.clone(),
            node_id: id,
        };
        let limits = StorageLimits::default();
        // An amnesiac start makes the core's amnesia mark durable before the
        // identity is written: a crash at any point restarts amnesiac again.
        let (dir, mode) = DataDir::open_with(&data_dir, &identity, start, |storage_dir| {
            let (mut storage, _) = FileStorage::<Record<KvStore>>::open(storage_dir, limits)?;
            storage.append(&[Record::Amnesia { voting: false }])?;
            storage.sync()
        })?;
        tracing::info!(
            dir = %data_dir.display(),
            "starting node {id} mode={}",
            mode_name(&mode)
        );
        // Every mode has created its storage by now: whatever is missing
        // was lost, and is corruption (never an empty log).
        let (storage, recovered) =
            FileStorage::<Record<KvStore>>::open_existing(&dir.storage_dir(), limits)?;
        if let Some(torn) = &recovered.torn_tail {
            tracing::warn!(
                file = %torn.path.display(),
                offset = torn.offset,
                bytes_cut = torn.bytes_cut,
                "cut a torn write off the end of the log"
            );
        }
        let initial = KvStore::new(KvLimits::default());
        let replica = match &mode {
            StartMode::Fresh => Replica::new(core_config, initial)?,
            StartMode::Recover => {
                tracing::info!(records = recovered.records.len(), "recovering from the log");
                Replica::recover(core_config, initial, recovered.records.iter().cloned())?
            }
            // Its durable amnesia mark is the one record recovered.
            // Its seed is drawn afresh: it is the nonce that tells this
            // incarnation's recovery promises from an earlier one's.
            StartMode::Amnesiac(_) => {
                let mut core_config = core_config;
                core_config.seed = crate::node::client::random_client_id();
                Replica::amnesiac(core_config, initial)?
            }
        };
        // Fresh: empty. Recover: the log. Amnesiac: the amnesia mark.
        let log = recovered.records;
        let (inputs_tx, inputs_rx) =
            queue::channel(NonZeroUsize::new(INPUT_QUEUE_EVENTS).expect("nonzero constant"));
        let (peer_listener, client_listener) = match listeners {
            Some(l) => (l.peer, l.client),
            None => {
                let node = config.node(id).expect("membership checked above");
                let bind = |addr: SocketAddr| {
                    TcpListener::bind(addr).map_err(|source| TransportError::Bind {
                        addr: addr.to_string(),
                        source,
                    })
                };
                (bind(node.peer)?, bind(node.client)?)
            }
        };
        let tx = inputs_tx.clone();
        let transport = Transport::<Message<KvStore>>::start(
            &config,
            id,
            peer_listener,
            move |from, message| {
                // Fails only once the node stops: the message is dropped,
                // as a crashed node's would be.
                let _ = tx.push(Event::Peer { from, message });
            },
        )?;
        let tx = inputs_tx.clone();
        let port =
            ClientPort::<Command, Response>::start(&config, id, client_listener, move |event| {
                // Fails only once the node stops: the request never reached
                // the core, and the port's shutdown closes its connection.
                let _ = tx.push(Event::Client(event));
            })?;
        let peer_addr = transport.local_addr();
        let client_addr = port.local_addr();
        let transport = Arc::new(transport);
        let port = Arc::new(port);
        let sink = NodeSink {
            transport: transport.clone(),
            port: port.clone(),
        };
        let pipeline = Pipeline::spawn(storage, sink, PipelineConfig::default());
        let max_clients = config.tuning.max_client_connections.saturating_mul(16);
        let core = CoreThread {
            replica,
            pipeline,
            port,
            routes: Routes::new(max_clients),
            log,
        };
        let stop = StopHandle {
            requested: Arc::new(AtomicBool::new(false)),
            inputs: inputs_tx,
        };
        let core = thread::Builder::new()
            .name(format!("core-{id}"))
            .spawn(move || {
                let (end, port) = core.run(inputs_rx);
                finish(id, end, port, transport, dir)
            })
            .map_err(ServerError::Spawn)?;
        let tick = Duration::from_millis(config.tuning.tick_ms);
        let ticker_stop = stop.clone();
        let ticker = thread::Builder::new()
            .name(format!("ticker-{id}"))
            .spawn(move || run_ticker(&ticker_stop, tick, stop_on_signal))
            .map_err(ServerError::Spawn)?;
        Ok(Server {
            id,
            mode,
            peer_addr,
            client_addr,
            stop,
            core: Some(core),
            ticker: Some(ticker),
        })
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// How it started.
    pub fn mode(&self) -> &StartMode {
        &self.mode
    }

    /// The peer port's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// The client port's address.
    pub fn client_addr(&self) -> SocketAddr {
        self.client_addr
    }

    /// A handle that stops the node from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Waits until the node stops (a stop request, a signal, or a failure).
    pub fn wait(mut self) -> Result<ServerReport, ServerError> {
        self.join()
    }

    /// Stops the node cleanly and waits for it.
    pub fn shutdown(self) -> Result<ServerReport, ServerError> {
        self.stop.stop();
        self.wait()
    }

    fn join(&mut self) -> Result<ServerReport, ServerError> {
        let outcome = match self.core.take() {
            Some(core) => core.join().unwrap_or(Err(ServerError::Panicked)),
            None => Err(ServerError::Panicked),
        };
        // The core thread closed the input queue, so the ticker's next push
        // fails and it returns.
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
        outcome
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.core.is_some() {
            self.stop.stop();
            let _ = self.join();
        }
    }
}

/// After the core thread: close the network and release the directory.
fn finish(
    id: NodeId,
    end: core::CoreEnd,
    port: Arc<ClientPort<Command, Response>>,
    transport: Arc<Transport<Message<KvStore>>>,
    dir: DataDir,
) -> Result<ServerReport, ServerError> {
    // The pipeline has stopped and dropped its sink, so these are the last
    // handles; if not, dropping them shuts them down all the same.
    if let Ok(mut port) = Arc::try_unwrap(port) {
        port.shutdown();
    }
    if let Ok(mut transport) = Arc::try_unwrap(transport) {
        transport.shutdown();
    }
    drop(dir);
    match (end.error, end.pipeline) {
        (Some(e), _) => {
            tracing::error!(node = id, error = %e, "node stopped on a failure");
            Err(ServerError::Pipeline(e))
        }
        (None, Some(pipeline)) => {
            tracing::info!(node = id, "node stopped cleanly");
            Ok(ServerReport {
                pipeline,
                status: end.status,
            })
        }
        (None, None) => Err(ServerError::Panicked),
    }
}

fn run_ticker(stop: &StopHandle, tick: Duration, stop_on_signal: bool) {
    loop {
        std::thread::sleep(tick);
        if stop.requested.load(Ordering::Acquire) || (stop_on_signal && signal::requested()) {
            if stop_on_signal && signal::requested() {
                tracing::info!("signal received: shutting down");
            }
            // Blocks while the queue is full; fails once the core stopped.
            let _ = stop.inputs.push(Event::Stop);
            return;
        }
        match stop.inputs.try_push(Event::Tick) {
            Ok(()) | Err(PushError::Full(_)) => {}
            Err(PushError::Closed(_)) => return,
        }
    }
}
