//! A lockstep cluster: no randomness, messages delivered in FIFO order until
//! the cluster is quiet, replicas crashed and partitioned by hand. Scripted
//! scenario tests and the core's benchmark drive it.

use std::collections::{BTreeSet, VecDeque};

use crate::paxos::{
    ClientReply, ClientRequest, Config, ConfigError, Input, Message, NodeId, Ready, Record,
    RecoverError, Replica, StateMachine,
};

/// Replicas `1..=n` wired by a FIFO network, each with an in-memory disk.
pub struct Lockstep<S: StateMachine> {
    /// The cores (`None` while crashed), index `id - 1`.
    pub replicas: Vec<Option<Replica<S>>>,
    /// What each persisted, in order (unless `keep_disks` is false).
    pub disks: Vec<Vec<Record<S>>>,
    /// The configurations, index `id - 1`.
    pub configs: Vec<Config>,
    /// Messages in flight: (from, to, message).
    pub network: VecDeque<(NodeId, NodeId, Message<S>)>,
    /// Replies sent, with their replica.
    pub replies: Vec<(NodeId, ClientReply<S::Response>)>,
    /// Pairs that cannot talk (both directions).
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Whether to keep records (benches turn it off).
    pub keep_disks: bool,
    /// Whether to keep replies (benches count them instead).
    pub keep_replies: bool,
    /// Replies counted when not kept.
    pub reply_count: u64,
    initial: S,
}

impl<S: StateMachine> Lockstep<S> {
    /// `n` fresh replicas; `tune` adjusts each configuration.
    pub fn new(n: u64, initial: S, tune: impl Fn(&mut Config)) -> Result<Lockstep<S>, ConfigError> {
        let ids: Vec<NodeId> = (1..=n).collect();
        let mut configs = Vec::new();
        let mut replicas = Vec::new();
        for &id in &ids {
            let mut c = Config::new(id, ids.clone())?;
            tune(&mut c);
            c.validate()?;
            replicas.push(Some(Replica::new(c.clone(), initial.clone())?));
            configs.push(c);
        }
        Ok(Lockstep {
            replicas,
            disks: vec![Vec::new(); n as usize],
            configs,
            network: VecDeque::new(),
            replies: Vec::new(),
            cut: BTreeSet::new(),
            keep_disks: true,
            keep_replies: true,
            reply_count: 0,
            initial,
        })
    }

    /// Replica `id`, if up.
    pub fn replica(&self, id: NodeId) -> Option<&Replica<S>> {
        self.replicas[(id - 1) as usize].as_ref()
    }

    /// Steps replica `id` with `input` and routes its output (persist, then
    /// send). Returns the output for inspection.
    pub fn input(&mut self, id: NodeId, input: Input<S>) -> Ready<S> {
        let i = (id - 1) as usize;
        let Some(r) = self.replicas[i].as_mut() else {
            return Ready::default();
        };
        let ready = r.step(input);
        if self.keep_disks {
            self.disks[i].extend(ready.persist.iter().cloned());
        }
        for (to, m) in &ready.messages {
            self.network.push_back((id, *to, m.clone()));
        }
        if self.keep_replies {
            self.replies
                .extend(ready.replies.iter().map(|r| (id, r.clone())));
        } else {
            self.reply_count += ready.replies.len() as u64;
        }
        ready
    }

    /// Submits a client request to replica `id`.
    pub fn request(&mut self, id: NodeId, request: ClientRequest<S::Command>) -> Ready<S> {
        self.input(id, Input::Request(request))
    }

    /// Delivers one message; false if none is in flight.
    pub fn deliver_one(&mut self) -> bool {
        let Some((from, to, message)) = self.network.pop_front() else {
            return false;
        };
        let blocked = self.cut.contains(&(from.min(to), from.max(to)));
        if !blocked && self.replicas[(to - 1) as usize].is_some() {
            self.input(to, Input::Message { from, message });
        }
        true
    }

    /// Delivers until no message is in flight (at most `limit`); returns how
    /// many were delivered.
    pub fn deliver_all(&mut self, limit: usize) -> usize {
        let mut n = 0;
        while n < limit && self.deliver_one() {
            n += 1;
        }
        n
    }

    /// Ticks replica `id` `times` times, delivering everything after each.
    pub fn tick(&mut self, id: NodeId, times: u64) {
        for _ in 0..times {
            self.input(id, Input::Tick);
            self.deliver_all(1_000_000);
        }
    }

    /// Ticks every live replica once, then delivers everything.
    pub fn tick_all(&mut self) {
        for id in 1..=self.replicas.len() as u64 {
            self.input(id, Input::Tick);
        }
        self.deliver_all(1_000_000);
    }

    /// Ticks `id` alone until it leads (bounded); true if it does.
    pub fn elect(&mut self, id: NodeId) -> bool {
        for _ in 0..1000 {
            if self.replica(id).is_some_and(|r| r.status().is_leader) {
                return true;
            }
            self.tick(id, 1);
        }
        false
    }

    /// Crashes replica `id` (its disk survives).
    pub fn crash(&mut self, id: NodeId) {
        self.replicas[(id - 1) as usize] = None;
    }

    /// Restarts replica `id` from its disk.
    pub fn restart(&mut self, id: NodeId) -> Result<(), RecoverError> {
        let i = (id - 1) as usize;
        let r = Replica::recover(
            self.configs[i].clone(),
            self.initial.clone(),
            self.disks[i].iter().cloned(),
        )?;
        self.replicas[i] = Some(r);
        Ok(())
    }

    /// Restarts replica `id` with its disk lost.
    pub fn restart_amnesiac(&mut self, id: NodeId) -> Result<(), ConfigError> {
        let i = (id - 1) as usize;
        self.disks[i].clear();
        self.replicas[i] = Some(Replica::amnesiac(
            self.configs[i].clone(),
            self.initial.clone(),
        )?);
        Ok(())
    }

    /// Cuts (or, with `false`, heals) the link between `a` and `b`.
    pub fn set_cut(&mut self, a: NodeId, b: NodeId, cut: bool) {
        let key = (a.min(b), a.max(b));
        if cut {
            self.cut.insert(key);
        } else {
            self.cut.remove(&key);
        }
    }
}
