//! The data directory: its exclusive lock, the node's identity file, and the
//! decision how the node starts.
//!
//! A node whose durable state is gone (no identity without `--bootstrap`, an
//! identity of another node or cluster, a directory the operator wiped) must
//! not vote as if it remembered its promises: it starts the core as
//! *amnesiac* (the core's rule: no vote until safe) and catches up.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::node::storage::StorageError;

/// The lock file; held with `flock` while a node uses the directory.
pub const LOCK_FILE: &str = "LOCK";
/// The identity file, written on bootstrap and after an amnesiac start.
pub const IDENTITY_FILE: &str = "IDENTITY";
/// The WAL and snapshot directory inside the data directory.
pub const STORAGE_DIR: &str = "wal";
/// Where an amnesiac start moves storage it must not use.
pub const STALE_STORAGE_DIR: &str = "wal.stale";

/// Who a data directory belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The cluster's id from the configuration.
    pub cluster_id: String,
    /// This node's id.
    pub node_id: u64,
}

/// Why a node starts amnesiac.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmnesiaReason {
    /// No identity file and no `--bootstrap`: the directory is new or was
    /// wiped, so whatever this node promised before is forgotten.
    NoIdentity,
    /// The identity file names another node or cluster: its state is not
    /// this node's.
    Mismatch {
        /// The identity found in the directory.
        found: Identity,
    },
    /// `--bootstrap --recover-amnesiac` on a directory holding state but no
    /// identity: someone removed the identity, so the state cannot be
    /// trusted as this node's.
    StateWithoutIdentity,
    /// `--recover-amnesiac` on this node's own directory: the operator
    /// distrusts its state (damaged storage, say).
    Requested,
}

impl std::fmt::Display for AmnesiaReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AmnesiaReason::NoIdentity => f.write_str(
                "no identity file and no --bootstrap: the data directory is new or was wiped",
            ),
            AmnesiaReason::Mismatch { found } => write!(
                f,
                "the identity file names cluster {:?} node {}, not this node",
                found.cluster_id, found.node_id
            ),
            AmnesiaReason::StateWithoutIdentity => {
                f.write_str("--bootstrap on a data directory that holds state but no identity file")
            }
            AmnesiaReason::Requested => f.write_str("--recover-amnesiac"),
        }
    }
}

/// How the node starts its core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartMode {
    /// A new cluster member (`--bootstrap`, empty directory): it has promised
    /// nothing, so it may vote at once.
    Fresh,
    /// The identity matches: recover the core from the storage.
    Recover,
    /// State is lost: start the core amnesiac, with empty storage.
    Amnesiac(AmnesiaReason),
}

/// Why a node refuses to start on a data directory (exit 3), leaving it
/// untouched: as etcd refuses a member-ID mismatch, a node never starts as
/// someone else, and `--bootstrap` never resets or adopts existing state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartRefusal {
    /// The identity file names another node or cluster.
    #[error(
        "it belongs to cluster {:?} node {}, not cluster {:?} node {}: left untouched \
         (check --id and --data-dir; --recover-amnesiac discards that state and joins amnesiac)",
        found.cluster_id, found.node_id, expected.cluster_id, expected.node_id
    )]
    Mismatch {
        /// The identity found in the directory.
        found: Identity,
        /// This node's.
        expected: Identity,
    },
    /// `--bootstrap` on a directory that already holds state.
    #[error(
        "--bootstrap on a data directory that already holds state ({}): left untouched \
         (drop --bootstrap to recover it; --recover-amnesiac discards it and joins amnesiac)",
        match found { Some(i) => format!("identity of cluster {:?} node {}", i.cluster_id, i.node_id), None => "no identity file".to_string() }
    )]
    BootstrapOverState {
        /// The identity found, if any.
        found: Option<Identity>,
    },
}

/// Decides the start mode from what the directory holds. Pure, so every
/// case is tested directly.
///
/// `found` is the identity file's content; `has_state` whether anything
/// besides the lock and identity files is in the directory;
/// `recover_amnesiac` the operator's `--recover-amnesiac` (start without
/// this directory's state, whatever it holds).
///
/// # Errors
/// [`StartRefusal`] for another node's directory, or `--bootstrap` over
/// existing state, unless `recover_amnesiac`.
pub fn decide_start_mode(
    found: Option<&Identity>,
    has_state: bool,
    expected: &Identity,
    bootstrap: bool,
    recover_amnesiac: bool,
) -> Result<StartMode, StartRefusal> {
    let amnesiac = |reason| Ok(StartMode::Amnesiac(reason));
    match found {
        Some(f) if f != expected && recover_amnesiac => {
            amnesiac(AmnesiaReason::Mismatch { found: f.clone() })
        }
        Some(f) if f != expected => Err(StartRefusal::Mismatch {
            found: f.clone(),
            expected: expected.clone(),
        }),
        Some(_) if recover_amnesiac => amnesiac(AmnesiaReason::Requested),
        Some(f) if bootstrap => Err(StartRefusal::BootstrapOverState {
            found: Some(f.clone()),
        }),
        Some(_) => Ok(StartMode::Recover),
        None if !bootstrap => amnesiac(AmnesiaReason::NoIdentity),
        None if has_state && recover_amnesiac => amnesiac(AmnesiaReason::StateWithoutIdentity),
        None if has_state => Err(StartRefusal::BootstrapOverState { found: None }),
        None => Ok(StartMode::Fresh),
    }
}

/// The operator's start flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StartFlags {
    /// `--bootstrap`: a new member of a new cluster, on an empty directory.
    pub bootstrap: bool,
    /// `--recover-amnesiac`: start without this directory's state (moved
    /// aside, never read), amnesiac: no vote until safe.
    pub recover_amnesiac: bool,
}

/// Why the data directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another process holds the directory's lock.
    #[error("data directory {path} is in use by another process (lock file {lock} is held)")]
    Locked {
        /// The data directory.
        path: PathBuf,
        /// Its lock file.
        lock: PathBuf,
    },
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The identity file exists but cannot be read as an identity.
    #[error("identity file {path} is damaged: {reason} (remove the data directory to restart this node amnesiac)")]
    CorruptIdentity {
        /// The identity file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing the identity durably failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The directory is another node's, or `--bootstrap` over state.
    #[error("data directory {path}: {refusal}")]
    Refused {
        /// The data directory.
        path: PathBuf,
        /// Why.
        refusal: StartRefusal,
    },
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DataDirError {
    let path = path.to_path_buf();
    move |source| DataDirError::Io { op, path, source }
}

/// A locked data directory. The lock is held until this value is dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    /// Holds the `flock`; closing the descriptor releases it.
    _lock: File,
}

impl DataDir {
    /// Creates `path` if needed and takes its exclusive lock; fails with
    /// [`DataDirError::Locked`] if another process (or another `DataDir` in
    /// this one) holds it.
    pub fn lock(path: &Path) -> Result<DataDir, DataDirError> {
        let created = !path.exists();
        std::fs::create_dir_all(path).map_err(io_err("create directory", path))?;
        if created {
            // The directory's own entry must survive a crash too.
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::node::storage::sync_dir(parent)?;
            }
        }
        let lock_path = path.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        // SAFETY: flock on a descriptor we own; it only reads its arguments.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(DataDirError::Locked {
                    path: path.to_path_buf(),
                    lock: lock_path,
                });
            }
            return Err(DataDirError::Io {
                op: "flock",
                path: lock_path,
                source: err,
            });
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Locks `path`, reads it, decides the start mode and prepares the
    /// directory for it: on `Fresh` and `Amnesiac` it writes `expected` as
    /// the identity (durably, before any record is written), and on
    /// `Amnesiac` it moves existing storage aside to [`STALE_STORAGE_DIR`]
    /// (kept for the operator, never read).
    ///
    /// A node should use [`DataDir::open_with`]: with this one, a crash
    /// between the identity's write and the core's first durable record
    /// leaves a matching identity over an empty log, which recovers as a
    /// voting replica that promised nothing: the state loss amnesia exists
    /// to prevent.
    pub fn open(
        path: &Path,
        expected: &Identity,
        start: StartFlags,
    ) -> Result<(DataDir, StartMode), DataDirError> {
        Self::open_with(path, expected, start, |_| Ok(()))
    }

    /// [`DataDir::open`], calling `mark_amnesia` with the (new, empty)
    /// storage directory on an amnesiac start, after the old storage is
    /// moved aside and BEFORE the identity is written. The node makes the
    /// core's amnesia record durable there, so a crash at any point restarts
    /// amnesiac again: before the identity is written its absence or
    /// mismatch says so, after it the durable mark does. If `mark_amnesia`
    /// fails, the identity is not written and the error is returned.
    pub fn open_with(
        path: &Path,
        expected: &Identity,
        start: StartFlags,
        mark_amnesia: impl FnOnce(&Path) -> Result<(), StorageError>,
    ) -> Result<(DataDir, StartMode), DataDirError> {
        let dir = DataDir::lock(path)?;
        let found = dir.read_identity()?;
        let has_state = dir.has_state()?;
        let mode = decide_start_mode(
            found.as_ref(),
            has_state,
            expected,
            start.bootstrap,
            start.recover_amnesiac,
        )
        .map_err(|refusal| DataDirError::Refused {
            path: path.to_path_buf(),
            refusal,
        })?;
        match &mode {
            StartMode::Recover => {}
            StartMode::Fresh => {
                // The storage exists before the identity does: a matching
                // identity over a missing WAL directory is then lost state,
                // never a crash during the first start.
                crate::node::storage::create_storage_dir(&dir.storage_dir())?;
                dir.write_identity(expected)?
            }
            StartMode::Amnesiac(reason) => {
                tracing::warn!(dir = %path.display(), %reason, "starting amnesiac");
                let storage = dir.storage_dir();
                if storage.exists() {
                    let stale = path.join(STALE_STORAGE_DIR);
                    if stale.exists() {
                        std::fs::remove_dir_all(&stale).map_err(io_err("remove", &stale))?;
                    }
                    std::fs::rename(&storage, &stale).map_err(io_err("rename", &storage))?;
                }
                mark_amnesia(&storage)?;
                dir.write_identity(expected)?;
            }
        }
        Ok((dir, mode))
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where [`crate::node::storage::FileStorage`] keeps the WAL.
    pub fn storage_dir(&self) -> PathBuf {
        self.path.join(STORAGE_DIR)
    }

    /// The identity file's content, if there is one.
    pub fn read_identity(&self) -> Result<Option<Identity>, DataDirError> {
        let path = self.path.join(IDENTITY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| DataDirError::CorruptIdentity {
                path,
                reason: e.to_string(),
            })
    }

    /// Writes the identity file atomically and durably.
    pub fn write_identity(&self, identity: &Identity) -> Result<(), DataDirError> {
        let mut text =
            serde_json::to_string(identity).map_err(|e| DataDirError::CorruptIdentity {
                path: self.path.join(IDENTITY_FILE),
                reason: e.to_string(),
            })?;
        text.push('\n');
        crate::node::storage::write_atomic(&self.path.join(IDENTITY_FILE), text.as_bytes())?;
        Ok(())
    }

    /// Whether the directory holds anything besides the lock and identity.
    fn has_state(&self) -> Result<bool, DataDirError> {
        let entries =
            std::fs::read_dir(&self.path).map_err(io_err("list directory", &self.path))?;
        for entry in entries {
            let entry = entry.map_err(io_err("list directory", &self.path))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name != LOCK_FILE && name != IDENTITY_FILE && name != format!("{IDENTITY_FILE}.tmp")
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
