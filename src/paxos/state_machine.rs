//! The interface between the Paxos core and the replicated state machine.

use std::fmt::Debug;
use std::hash::Hash;

/// A snapshot could not be restored (corrupt or from another version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot restore state machine snapshot: {0}")]
pub struct RestoreError(pub String);

/// A deterministic state machine replicated by the Paxos core.
///
/// The core drives it: it applies chosen commands in slot order, answers
/// linearizable reads through [`StateMachine::query`] after a read-index round,
/// takes and installs snapshots, and asks it on the leader's ticks for commands
/// it should propose on its own (lock expiry). Sessions (exactly-once client
/// commands) live in the core, not here: `apply` sees each command once.
///
/// Everything crossing the core's boundary is `Clone + Debug + Eq + Ord + Hash +
/// Send + Sync` (stateright hashes states and orders messages).
pub trait StateMachine:
    Clone + Debug + PartialEq + Eq + Hash + PartialOrd + Ord + Send + Sync + 'static
{
    /// A command, carried in the log.
    type Command: Clone
        + Debug
        + PartialEq
        + Eq
        + Hash
        + PartialOrd
        + Ord
        + Send
        + Sync
        + serde::Serialize
        + serde::de::DeserializeOwned
        + 'static;
    /// The answer to a command.
    type Response: Clone
        + Debug
        + PartialEq
        + Eq
        + Hash
        + PartialOrd
        + Ord
        + Send
        + Sync
        + serde::Serialize
        + serde::de::DeserializeOwned
        + 'static;

    /// Applies a chosen command. `now_ticks` is the log's clock: the leader's
    /// tick count carried in the log entry, made monotonic by the core (it never
    /// goes backwards, whoever leads), so expiry is deterministic on every
    /// replica and never depends on a local clock.
    fn apply(&mut self, now_ticks: u64, command: &Self::Command) -> Self::Response;

    /// Answers `command` without changing the state, if it is read-only
    /// (`get`, a read-only transaction); `None` if it must go through the log.
    fn query(&self, command: &Self::Command) -> Option<Self::Response>;

    /// Commands the leader should propose by itself at log time `now_ticks`
    /// (for example the expiry of a lock whose owner stopped renewing). The
    /// command must be harmless if it is chosen late or twice.
    fn tick_commands(&self, now_ticks: u64) -> Vec<Self::Command>;

    /// A deterministic serialization of the whole state.
    fn snapshot(&self) -> Vec<u8>;

    /// The state a [`StateMachine::snapshot`] was taken of.
    fn restore(snapshot: &[u8]) -> Result<Self, RestoreError>;
}
