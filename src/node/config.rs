//! The cluster configuration file (TOML).
//!
//! ```toml
//! cluster_id = "local"
//! [[node]]
//! id = 1
//! peer = "127.0.0.1:7001"
//! client = "127.0.0.1:8001"
//! [tuning]          # optional; every key has a default
//! tick_ms = 10
//! ```
//!
//! The member set is fixed by this file (membership change is out of scope).
//! Unknown keys are rejected with their line and column, as are duplicate node
//! ids and addresses: a typo must not silently fall back to a default.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A node's identity in the cluster, as written in the config file.
pub type NodeId = u64;

/// The longest cluster id accepted: it travels in every frame's header.
pub const MAX_CLUSTER_ID_BYTES: usize = 64;

/// The most members a cluster may have (quorums and threads scale with it).
pub const MAX_NODES: usize = 64;

/// The largest config file read, so a wrong path (a device, a huge log) fails
/// clearly instead of exhausting memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 1 << 20;

/// A parsed and validated cluster configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster's name; peers and clients of another cluster are refused.
    pub cluster_id: String,
    /// The members, one `[[node]]` table each.
    #[serde(rename = "node")]
    pub nodes: Vec<NodeConfig>,
    /// Timing and limits; every key is optional.
    #[serde(default)]
    pub tuning: Tuning,
}

/// One member of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's id: nonzero, unique in the cluster.
    pub id: NodeId,
    /// The address peers connect to (the Paxos transport).
    pub peer: SocketAddr,
    /// The address clients connect to.
    pub client: SocketAddr,
}

/// Timing and limits of a node. Each has a default, so `[tuning]` may be
/// omitted or list only what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tuning {
    /// Wall-clock length of one core tick.
    pub tick_ms: u64,
    /// Ticks without hearing from a leader before a node stands for election.
    pub election_timeout_ticks: u64,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_ticks: u64,
    /// Applied slots between snapshots.
    pub snapshot_interval: u64,
    /// Slots a leader keeps in phase 2 at once (the core's `window`).
    pub window: u64,
    /// Client commands a leader batches into one slot (the core's `max_batch`).
    pub max_batch: usize,
    /// The largest peer frame sent or accepted, header included; larger ones
    /// are refused before their body is allocated.
    pub max_frame_bytes: u32,
    /// Frames queued per peer before the oldest is dropped.
    pub send_queue_frames: usize,
    /// Bytes queued per peer before the oldest frame is dropped.
    pub send_queue_bytes: usize,
    /// First delay before reconnecting to a peer; doubles on each failure.
    pub reconnect_min_ms: u64,
    /// Cap of the reconnect delay.
    pub reconnect_max_ms: u64,
    /// Time allowed to open a TCP connection to a peer.
    pub connect_timeout_ms: u64,
    /// Time a new connection has to complete its handshake.
    pub handshake_timeout_ms: u64,
    /// Time one write to a peer or a client may block before the connection
    /// is dropped (a stopped peer must not hold its sender forever).
    pub write_timeout_ms: u64,
    /// The largest client frame accepted by a node or a client.
    pub max_client_frame_bytes: u32,
    /// Client connections a node serves at once; more are refused (each
    /// costs a reader and a writer thread).
    pub max_client_connections: usize,
    /// Inbound connections (handshaken or not) a node's peer port holds at once.
    pub max_peer_connections: usize,
    /// Replies queued for one client connection; past it the connection is
    /// closed (the client retries), never a reply silently dropped.
    pub client_reply_queue_frames: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            tick_ms: 10,
            election_timeout_ticks: 10,
            heartbeat_ticks: 2,
            snapshot_interval: 10_000,
            window: 64,
            max_batch: 64,
            max_frame_bytes: 16 << 20,
            send_queue_frames: 4096,
            send_queue_bytes: 64 << 20,
            reconnect_min_ms: 10,
            reconnect_max_ms: 1000,
            connect_timeout_ms: 1000,
            handshake_timeout_ms: 2000,
            write_timeout_ms: 5000,
            max_client_frame_bytes: 1 << 20,
            max_client_connections: 256,
            max_peer_connections: 64,
            client_reply_queue_frames: 1024,
        }
    }
}

/// Why a config file was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read config: {source}")]
    Io {
        /// The config file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_FILE_BYTES`].
    #[error("{file}: config file is {len} bytes, over the limit of {MAX_CONFIG_FILE_BYTES}")]
    TooLarge {
        /// The config file.
        file: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The TOML is malformed, or a key is unknown, missing or of the wrong type.
    #[error("{file}:{}: {message}", Position(*.line, *.column))]
    Syntax {
        /// The config file.
        file: PathBuf,
        /// 1-based line of the offending text, if the parser knew it.
        line: Option<usize>,
        /// 1-based column (in characters) of the offending text.
        column: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// The file parsed but describes an impossible cluster.
    #[error("{file}: {message}")]
    Invalid {
        /// The config file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Renders `line:column`, or `?` when the parser gave no position.
struct Position(Option<usize>, Option<usize>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}"),
            _ => write!(f, "?"),
        }
    }
}

/// The 1-based line and column (counted in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    // Step back to a char boundary, so a span inside a multi-byte char is safe.
    let offset = (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

impl ClusterConfig {
    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<ClusterConfig, ConfigError> {
        let io = |source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_CONFIG_FILE_BYTES {
            return Err(ConfigError::TooLarge {
                file: path.to_path_buf(),
                len,
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::parse(&text, path)
    }

    /// Parses and validates config `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<ClusterConfig, ConfigError> {
        let config: ClusterConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_column(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            ConfigError::Syntax {
                file: file.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            file: file.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    /// Checks what serde cannot: ids and addresses unique, limits sane.
    fn validate(&self) -> Result<(), String> {
        if self.cluster_id.is_empty() || self.cluster_id.len() > MAX_CLUSTER_ID_BYTES {
            return Err(format!(
                "cluster_id must be 1 to {MAX_CLUSTER_ID_BYTES} bytes, got {}",
                self.cluster_id.len()
            ));
        }
        if self.nodes.is_empty() {
            return Err("no [[node]]: a cluster needs at least one member".into());
        }
        if self.nodes.len() > MAX_NODES {
            return Err(format!(
                "{} nodes, over the limit of {MAX_NODES}",
                self.nodes.len()
            ));
        }
        let mut ids = BTreeSet::new();
        let mut addrs = BTreeSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let which = format!("[[node]] #{} (id {})", i + 1, node.id);
            if node.id == 0 {
                return Err(format!("{which}: node id 0 is reserved"));
            }
            if !ids.insert(node.id) {
                return Err(format!("{which}: duplicate node id {}", node.id));
            }
            for addr in [node.peer, node.client] {
                if !addrs.insert(addr) {
                    return Err(format!("{which}: duplicate address {addr}"));
                }
            }
        }
        self.tuning.validate()
    }

    /// The member with id `id`, if any.
    pub fn node(&self, id: NodeId) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The ids of all members, ascending.
    pub fn ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.nodes.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        ids
    }

    /// Renders the config as TOML (for harnesses that generate cluster
    /// files). Fails only for a value TOML cannot hold (an integer above
    /// `i64::MAX`), which [`ClusterConfig::parse`] could not have produced.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }
}

impl Tuning {
    fn validate(&self) -> Result<(), String> {
        let positive = [
            ("tick_ms", self.tick_ms),
            ("election_timeout_ticks", self.election_timeout_ticks),
            ("heartbeat_ticks", self.heartbeat_ticks),
            ("snapshot_interval", self.snapshot_interval),
            ("window", self.window),
            ("max_batch", self.max_batch as u64),
            ("send_queue_frames", self.send_queue_frames as u64),
            ("send_queue_bytes", self.send_queue_bytes as u64),
            ("reconnect_min_ms", self.reconnect_min_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("handshake_timeout_ms", self.handshake_timeout_ms),
            ("write_timeout_ms", self.write_timeout_ms),
            ("max_client_connections", self.max_client_connections as u64),
            ("max_peer_connections", self.max_peer_connections as u64),
            (
                "client_reply_queue_frames",
                self.client_reply_queue_frames as u64,
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!("[tuning] {name} must be positive"));
            }
        }
        if self.reconnect_max_ms < self.reconnect_min_ms {
            return Err("[tuning] reconnect_max_ms must be at least reconnect_min_ms".into());
        }
        if self.heartbeat_ticks >= self.election_timeout_ticks {
            return Err("[tuning] heartbeat_ticks must be below election_timeout_ticks".into());
        }
        // A frame must at least hold its header and a small message.
        const MIN_FRAME: u32 = 1024;
        for (name, value) in [
            ("max_frame_bytes", self.max_frame_bytes),
            ("max_client_frame_bytes", self.max_client_frame_bytes),
        ] {
            if value < MIN_FRAME {
                return Err(format!("[tuning] {name} must be at least {MIN_FRAME}"));
            }
        }
        if (self.send_queue_bytes as u64) < u64::from(self.max_frame_bytes) {
            return Err(
                "[tuning] send_queue_bytes must hold at least one max_frame_bytes frame".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_lines_and_chars_from_one() {
        let text = "ab\ncdé\nx";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 8), (3, 1));
        // Offset inside the 2-byte 'é' steps back to its start.
        assert_eq!(line_column(text, 6), (2, 3));
        assert_eq!(line_column(text, 999), (3, 2));
    }
}
