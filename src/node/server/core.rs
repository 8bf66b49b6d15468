//! The core thread: the only owner of the [`Replica`]. It takes the node's
//! inputs from the one input queue, steps the core, and hands each group of
//! steps' outputs to the persistence pipeline.

use crate::kv::{Command, KvStore, Response};
use crate::node::config::NodeId;
use crate::node::pipeline::{Batch, Pipeline, PipelineError, PipelineStats};
use crate::node::queue::Receiver;
use crate::node::storage::FileStorage;
use crate::node::transport::client_port::{ClientEvent, ClientPort};
use crate::paxos::{ClientReply, Input, Message, Outcome, Ready, Record, Replica, Status};
use crate::sync::Arc;

use super::routes::Routes;
use super::sink::{NodeSink, Outbound};

/// One input of the core thread.
#[derive(Debug)]
pub enum Event {
    /// A message from peer `from` (a transport reader delivered it).
    Peer {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message<KvStore>,
    },
    /// Something on the client port.
    Client(ClientEvent<Command>),
    /// One tick of the core's clock (from the ticker thread).
    Tick,
    /// Stop: shut down cleanly (the ticker saw a signal or a stop request).
    Stop,
}

/// The pipeline as the node uses it.
pub type NodePipeline = Pipeline<Record<KvStore>, Outbound, FileStorage<Record<KvStore>>, NodeSink>;

/// The most inputs stepped before their outputs go to the pipeline as one
/// batch: bounds how long the first one's messages wait for the others.
pub const MAX_INPUTS_PER_BATCH: usize = 256;

/// What the core thread owns.
pub struct CoreThread {
    /// The replica.
    pub replica: Replica<KvStore>,
    /// The persistence stage.
    pub pipeline: NodePipeline,
    /// For status answers and refusals, which need no durability.
    pub port: Arc<ClientPort<Command, Response>>,
    /// Reply routes.
    pub routes: Routes,
    /// Every record submitted since the last compaction (the previous base
    /// first): what a snapshot folds into the next base.
    pub log: Vec<Record<KvStore>>,
}

/// How the core thread ended.
#[derive(Debug)]
pub struct CoreEnd {
    /// The pipeline's counters (none if it failed).
    pub pipeline: Option<PipelineStats>,
    /// Why it stopped abnormally, if it did.
    pub error: Option<PipelineError>,
    /// The replica's last status.
    pub status: Status,
}

/// What the log-worthy parts of the status were, to log their changes.
struct Watched {
    leader: Option<NodeId>,
    voting: bool,
}

impl CoreThread {
    /// Runs until a [`Event::Stop`], the input queue closes, or the pipeline
    /// fails; then closes the input queue (nothing more is accepted), drains
    /// the pipeline (every accepted batch is synced and released) and returns.
    pub fn run(mut self, inputs: Receiver<Event>) -> (CoreEnd, Arc<ClientPort<Command, Response>>) {
        let id = self.replica.status().id;
        let mut watched = Watched {
            leader: None,
            voting: self.replica.status().voting,
        };
        let mut events = Vec::with_capacity(MAX_INPUTS_PER_BATCH);
        let mut failed = false;
        'run: loop {
            events.clear();
            if inputs.pop_batch(MAX_INPUTS_PER_BATCH, &mut events) == 0 {
                break;
            }
            let mut batch = Batch::new(Vec::new(), Vec::new());
            let mut stop = false;
            for event in events.drain(..) {
                let ready = match event {
                    Event::Stop => {
                        stop = true;
                        continue;
                    }
                    Event::Tick => self.replica.step(Input::Tick),
                    Event::Peer { from, message } => {
                        self.replica.step(Input::Message { from, message })
                    }
                    Event::Client(ClientEvent::Request { conn, request }) => {
                        if let Err(full) = self.routes.insert(request.client_id, conn) {
                            let _ = self.port.refuse(
                                conn,
                                request.client_id,
                                request.seq,
                                full.to_string(),
                            );
                            continue;
                        }
                        self.replica.step(Input::Request(request))
                    }
                    Event::Client(ClientEvent::Status { conn }) => {
                        let _ = self.port.status(conn, self.replica.status());
                        continue;
                    }
                    Event::Client(ClientEvent::Closed { conn }) => {
                        self.routes.close(conn);
                        continue;
                    }
                };
                self.absorb(ready, &mut batch);
            }
            self.watch(id, &mut watched);
            if !(batch.records.is_empty() && batch.compact.is_none() && batch.outbound.is_empty())
                && self.pipeline.submit(batch).is_err()
            {
                // Closed under us: storage failed. Its error comes back from
                // `shutdown`; the items of this batch were never sent.
                tracing::error!("persistence stopped; the node stops");
                failed = true;
                break 'run;
            }
            if stop {
                break;
            }
        }
        // Stop accepting: readers and the ticker see a closed queue.
        inputs.close();
        let status = self.replica.status();
        let (pipeline, error) = match self.pipeline.shutdown() {
            Ok(stopped) => (Some(stopped.stats), None),
            Err(e) => (None, Some(e)),
        };
        if failed && error.is_none() {
            tracing::error!("the pipeline refused a batch but stopped without an error");
        }
        (
            CoreEnd {
                pipeline,
                error,
                status,
            },
            self.port,
        )
    }

    /// Adds one step's output to `batch`, keeping the rule's order: every
    /// record of the batch is durable before any of its items leaves. A
    /// snapshot record becomes a compaction: the log so far and the
    /// snapshot fold into a base that replaces the log.
    fn absorb(&mut self, ready: Ready<KvStore>, batch: &mut Batch<Record<KvStore>, Outbound>) {
        for record in ready.persist {
            match record {
                Record::Snapshot(image) => {
                    let base = crate::paxos::compaction_base(&self.log, &image);
                    self.log.clone_from(&base);
                    // The base covers this batch's earlier records too, and
                    // the compaction runs before the batch's records.
                    batch.records.clear();
                    batch.compact = Some(base);
                }
                record => {
                    self.log.push(record.clone());
                    batch.records.push(record);
                }
            }
        }
        for (to, message) in ready.messages {
            batch.outbound.push(Outbound::Peer { to, message });
        }
        for reply in ready.replies {
            match self.routes.get(reply.client_id) {
                Some(conn) => batch.outbound.push(Outbound::Reply { conn, reply }),
                None => log_unrouted(&reply),
            }
        }
    }

    fn watch(&self, id: NodeId, watched: &mut Watched) {
        let status = self.replica.status();
        if status.leader != watched.leader {
            if let Some(leader) = status.leader {
                tracing::info!(
                    node = id,
                    leader,
                    round = status.ballot.round,
                    is_leader = status.is_leader,
                    "leader elected {leader}"
                );
            }
            watched.leader = status.leader;
        }
        if status.voting && !watched.voting {
            tracing::info!(node = id, "voting enabled");
        }
        watched.voting = status.voting;
    }
}

fn log_unrouted(reply: &ClientReply<Response>) {
    // The client's connection closed: it retries, and its session answers.
    let ok = matches!(reply.outcome, Outcome::Ok(_));
    tracing::debug!(
        client = reply.client_id,
        seq = reply.seq,
        ok,
        "reply without a connection"
    );
}
