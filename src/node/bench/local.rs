//! A local cluster of real `synod node` processes on loopback: what
//! `synod bench` measures and what the cluster tests break.
//!
//! It writes a config with free loopback ports, starts each node as a child
//! process of the given binary with its own data directory and a log file per
//! start (so a test can read what one incarnation said), stops nodes with
//! SIGTERM or SIGKILL, and restarts them. Dropping a [`LocalCluster`] kills
//! every process it started, also when a test panics: no orphan keeps a port
//! or a data directory lock.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::kv::{Command as KvCommand, Response};
use crate::node::client::{Client, ClientError, ClientOptions};
use crate::node::config::{ClusterConfig, NodeConfig, NodeId, Tuning, MAX_NODES};
use crate::paxos::Status;

/// The signal a node is stopped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: the node shuts down cleanly.
    Term,
    /// SIGKILL: the process dies at once (the page cache survives it).
    Kill,
}

/// Why the local cluster could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The request does not fit this cluster.
    #[error("{0}")]
    Invalid(String),
    /// A bounded wait ran out.
    #[error("timed out after {waited:?}: {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LocalError {
    let what = what.into();
    move |source| LocalError::Io { what, source }
}

/// One member: its data directory and, while it runs, its process.
#[derive(Debug)]
struct Member {
    data_dir: PathBuf,
    child: Option<Child>,
    /// Log files of its starts, oldest first.
    logs: Vec<PathBuf>,
}

/// A cluster of `synod node` processes under one directory.
#[derive(Debug)]
pub struct LocalCluster {
    binary: PathBuf,
    dir: PathBuf,
    config: ClusterConfig,
    config_path: PathBuf,
    members: BTreeMap<NodeId, Member>,
}

/// The ports clusters are given: below Linux's default ephemeral range
/// (32768 and up), so an outgoing connection (a client's, a peer's) never
/// holds the port a node is about to bind.
const PORT_RANGE: std::ops::Range<u32> = 10_000..32_000;

/// Picks `n` distinct loopback ports that are free now: each candidate is
/// bound, and all are held until every one is known. (Another process may
/// still take one before the node binds it; the node then fails to start
/// with a clear error, which the caller sees.)
fn free_ports(n: usize) -> Result<Vec<u16>, LocalError> {
    let span = PORT_RANGE.end - PORT_RANGE.start;
    // A random start (clock, pid, counter), so clusters created at once, in
    // one process or several, almost never probe the same ports.
    let offset = (crate::node::client::random_client_id() % u64::from(span)) as u32;
    let mut held = Vec::with_capacity(n);
    // Bounded: one pass over the whole range at most.
    for k in 0..span {
        if held.len() == n {
            break;
        }
        let port = PORT_RANGE.start + (offset + k) % span;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port as u16)) {
            held.push(listener);
        }
    }
    if held.len() < n {
        return Err(LocalError::Invalid(format!(
            "found only {} free loopback ports of {n} in {PORT_RANGE:?}",
            held.len()
        )));
    }
    held.iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(io("reading a bound port"))
        })
        .collect()
}

impl LocalCluster {
    /// Creates (but does not start) a cluster of `nodes` members with ids
    /// `1..=nodes` under `dir` (created if missing), running `binary`'s
    /// `node` subcommand, with `tuning`.
    pub fn create(
        binary: &Path,
        dir: &Path,
        nodes: usize,
        tuning: Tuning,
    ) -> Result<LocalCluster, LocalError> {
        if nodes == 0 || nodes > MAX_NODES {
            return Err(LocalError::Invalid(format!(
                "a cluster has 1 to {MAX_NODES} nodes, not {nodes}"
            )));
        }
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let ports = free_ports(2 * nodes)?;
        let config = ClusterConfig {
            cluster_id: "local".to_string(),
            nodes: (0..nodes)
                .map(|i| NodeConfig {
                    id: i as NodeId + 1,
                    peer: ([127, 0, 0, 1], ports[2 * i]).into(),
                    client: ([127, 0, 0, 1], ports[2 * i + 1]).into(),
                })
                .collect(),
            tuning,
        };
        let text = config
            .to_toml()
            .map_err(|e| LocalError::Invalid(format!("cannot render the config: {e}")))?;
        let config_path = dir.join("cluster.toml");
        std::fs::write(&config_path, text)
            .map_err(io(format!("writing {}", config_path.display())))?;
        let mut members = BTreeMap::new();
        for node in &config.nodes {
            let data_dir = dir.join(format!("n{}", node.id));
            members.insert(
                node.id,
                Member {
                    data_dir,
                    child: None,
                    logs: Vec::new(),
                },
            );
        }
        Ok(LocalCluster {
            binary: binary.to_path_buf(),
            dir: dir.to_path_buf(),
            config,
            config_path,
            members,
        })
    }

    /// The cluster's configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The config file the nodes read.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The member ids, ascending.
    pub fn ids(&self) -> Vec<NodeId> {
        self.members.keys().copied().collect()
    }

    fn member(&self, id: NodeId) -> Result<&Member, LocalError> {
        self.members
            .get(&id)
            .ok_or_else(|| LocalError::Invalid(format!("node {id} is not a member")))
    }

    fn member_mut(&mut self, id: NodeId) -> Result<&mut Member, LocalError> {
        self.members
            .get_mut(&id)
            .ok_or_else(|| LocalError::Invalid(format!("node {id} is not a member")))
    }

    /// Node `id`'s data directory.
    pub fn data_dir(&self, id: NodeId) -> Result<&Path, LocalError> {
        Ok(&self.member(id)?.data_dir)
    }

    /// The log file (stderr) of node `id`'s latest start.
    pub fn log_path(&self, id: NodeId) -> Result<&Path, LocalError> {
        self.member(id)?
            .logs
            .last()
            .map(PathBuf::as_path)
            .ok_or_else(|| LocalError::Invalid(format!("node {id} was never started")))
    }

    /// The text of node `id`'s latest log (lossily decoded).
    pub fn log(&self, id: NodeId) -> Result<String, LocalError> {
        let path = self.log_path(id)?;
        let bytes = std::fs::read(path).map_err(io(format!("reading {}", path.display())))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Starts node `id` (`bootstrap`: as a new member, `--bootstrap`).
    pub fn start(&mut self, id: NodeId, bootstrap: bool) -> Result<(), LocalError> {
        let flags: &[&str] = if bootstrap { &["--bootstrap"] } else { &[] };
        self.start_with_flags(id, flags)
    }

    /// Starts node `id` with extra `synod node` flags (e.g.
    /// `--recover-amnesiac`).
    pub fn start_with_flags(&mut self, id: NodeId, flags: &[&str]) -> Result<(), LocalError> {
        let binary = self.binary.clone();
        let config_path = self.config_path.clone();
        let dir = self.dir.clone();
        let member = self.member_mut(id)?;
        if member.child.is_some() {
            return Err(LocalError::Invalid(format!("node {id} is already running")));
        }
        std::fs::create_dir_all(&member.data_dir)
            .map_err(io(format!("creating {}", member.data_dir.display())))?;
        let log_path = dir.join(format!("n{id}.{}.log", member.logs.len()));
        let log =
            File::create(&log_path).map_err(io(format!("creating {}", log_path.display())))?;
        let mut cmd = Command::new(&binary);
        cmd.arg("node")
            .arg("--id")
            .arg(id.to_string())
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&member.data_dir);
        cmd.args(flags);
        cmd.env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = cmd
            .spawn()
            .map_err(io(format!("starting {} node --id {id}", binary.display())))?;
        member.child = Some(child);
        member.logs.push(log_path);
        Ok(())
    }

    /// Starts every member that is not running.
    pub fn start_all(&mut self, bootstrap: bool) -> Result<(), LocalError> {
        for id in self.ids() {
            if self.member(id)?.child.is_none() {
                self.start(id, bootstrap)?;
            }
        }
        Ok(())
    }

    /// Whether node `id`'s process is alive (reaps it if it exited).
    pub fn is_running(&mut self, id: NodeId) -> Result<bool, LocalError> {
        let member = self.member_mut(id)?;
        let Some(child) = &mut member.child else {
            return Ok(false);
        };
        match child.try_wait().map_err(io(format!("polling node {id}")))? {
            Some(_) => {
                member.child = None;
                Ok(false)
            }
            None => Ok(true),
        }
    }

    /// Sends `how` to node `id` and waits (up to `wait`) for it to exit;
    /// past that it is SIGKILLed. Returns its exit status.
    pub fn stop(
        &mut self,
        id: NodeId,
        how: Stop,
        wait: Duration,
    ) -> Result<ExitStatus, LocalError> {
        let member = self.member_mut(id)?;
        let mut child = member
            .child
            .take()
            .ok_or_else(|| LocalError::Invalid(format!("node {id} is not running")))?;
        let signal = match how {
            Stop::Term => libc::SIGTERM,
            Stop::Kill => libc::SIGKILL,
        };
        if child
            .try_wait()
            .map_err(io(format!("polling node {id}")))?
            .is_none()
        {
            signal_child(&child, signal);
        }
        match wait_exit(&mut child, wait)? {
            Some(status) => Ok(status),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(LocalError::Timeout {
                    what: format!("node {id} to exit after {how:?} (it was SIGKILLed)"),
                    waited: wait,
                })
            }
        }
    }

    /// Waits (up to `wait`) for node `id` to exit on its own; `None` if it
    /// still runs.
    pub fn wait_exit(
        &mut self,
        id: NodeId,
        wait: Duration,
    ) -> Result<Option<ExitStatus>, LocalError> {
        let member = self.member_mut(id)?;
        let Some(child) = &mut member.child else {
            return Err(LocalError::Invalid(format!("node {id} is not running")));
        };
        let status = wait_exit(child, wait)?;
        if status.is_some() {
            member.child = None;
        }
        Ok(status)
    }

    /// Stops every running node with `how`; returns each node's exit status
    /// (or the error of a node that would not stop).
    pub fn stop_all(
        &mut self,
        how: Stop,
        wait: Duration,
    ) -> Vec<(NodeId, Result<ExitStatus, LocalError>)> {
        let running: Vec<NodeId> = self
            .members
            .iter()
            .filter(|(_, m)| m.child.is_some())
            .map(|(&id, _)| id)
            .collect();
        // Signal all first, so a whole-cluster SIGKILL is (nearly) simultaneous.
        let signal = match how {
            Stop::Term => libc::SIGTERM,
            Stop::Kill => libc::SIGKILL,
        };
        for id in &running {
            if let Some(child) = self.members.get(id).and_then(|m| m.child.as_ref()) {
                signal_child(child, signal);
            }
        }
        running
            .into_iter()
            .map(|id| (id, self.stop(id, how, wait)))
            .collect()
    }

    /// Removes node `id`'s data directory (it must be stopped) and leaves an
    /// empty one: the node lost its disk.
    pub fn wipe(&mut self, id: NodeId) -> Result<(), LocalError> {
        if self.is_running(id)? {
            return Err(LocalError::Invalid(format!(
                "node {id} runs: stop it before wiping"
            )));
        }
        let dir = self.member(id)?.data_dir.clone();
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))
    }

    /// A client of this cluster.
    pub fn client(
        &self,
        options: ClientOptions,
    ) -> Result<Client<KvCommand, Response>, LocalError> {
        Client::new(&self.config, options)
            .map_err(|e| LocalError::Invalid(format!("cannot make a client: {e}")))
    }

    /// Node `id`'s status, one attempt of at most `timeout`.
    pub fn status(&self, id: NodeId, timeout: Duration) -> Result<Status, ClientError> {
        let mut client: Client<KvCommand, Response> = Client::new(
            &self.config,
            ClientOptions {
                timeout,
                attempt_timeout: timeout,
                ..ClientOptions::default()
            },
        )?;
        client.status(id)
    }

    /// Polls the running nodes until one reports that it leads (phase 1
    /// done), for at most `wait`; returns its id.
    pub fn wait_leader(&mut self, wait: Duration) -> Result<NodeId, LocalError> {
        let deadline = Instant::now() + wait;
        loop {
            for id in self.ids() {
                if !self.is_running(id)? {
                    continue;
                }
                if let Ok(status) = self.status(id, Duration::from_millis(300)) {
                    if status.is_leader {
                        return Ok(id);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(LocalError::Timeout {
                    what: "a node to report that it leads".to_string(),
                    waited: wait,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls node `id` until `pred` holds for its status, for at most `wait`;
    /// returns that status.
    pub fn wait_status(
        &self,
        id: NodeId,
        wait: Duration,
        what: &str,
        mut pred: impl FnMut(&Status) -> bool,
    ) -> Result<Status, LocalError> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(status) = self.status(id, Duration::from_millis(300)) {
                if pred(&status) {
                    return Ok(status);
                }
            }
            if Instant::now() >= deadline {
                return Err(LocalError::Timeout {
                    what: format!("node {id}: {what}"),
                    waited: wait,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn signal_child(child: &Child, signal: libc::c_int) {
    // The pid is our own unreaped child, so it cannot have been reused.
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Polls `child` until it exits or `wait` passes.
fn wait_exit(child: &mut Child, wait: Duration) -> Result<Option<ExitStatus>, LocalError> {
    let deadline = Instant::now() + wait;
    loop {
        if let Some(status) = child.try_wait().map_err(io("waiting for a node"))? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for LocalCluster {
    /// Kills every process still running: a panicking test must not leave
    /// nodes behind.
    fn drop(&mut self) {
        for member in self.members.values_mut() {
            if let Some(mut child) = member.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
