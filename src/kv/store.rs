//! [`KvStore`]: the data, the locks, and the deterministic `apply`.

use std::collections::BTreeMap;

use super::command::{Command, MicroOp};
use super::limits::KvLimits;
use super::locks::{Lease, LockTable};
use super::response::{Rejection, Response};
use super::{snapshot, txn};
use crate::paxos::{RestoreError, StateMachine};

/// The replicated key-value and lock store.
///
/// Deterministic (ordered maps, no clock but the log's, no randomness) and
/// total: [`StateMachine::apply`] answers every command, a bad one with
/// [`Response::Rejected`], and never panics. All replicas must be created with
/// the same [`KvLimits`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KvStore {
    limits: KvLimits,
    data: BTreeMap<String, String>,
    locks: LockTable,
    /// Planted bug (`faults` feature, off by default): a cas writes whatever
    /// the current value is. Not in snapshots: a restored store is correct.
    #[cfg(feature = "faults")]
    cas_ignores_expected: bool,
}

impl KvStore {
    /// An empty store with these limits.
    pub fn new(limits: KvLimits) -> Self {
        KvStore {
            limits,
            data: BTreeMap::new(),
            locks: LockTable::default(),
            #[cfg(feature = "faults")]
            cas_ignores_expected: false,
        }
    }

    /// This store with the planted bug of a cas that ignores its expected
    /// value (the verifiers' teeth; `faults` feature only).
    #[cfg(feature = "faults")]
    pub fn with_cas_ignoring_expected(mut self) -> Self {
        self.cas_ignores_expected = true;
        self
    }

    /// Whether a cas compares (false only with the planted bug).
    fn cas_compares(&self) -> bool {
        #[cfg(feature = "faults")]
        {
            !self.cas_ignores_expected
        }
        #[cfg(not(feature = "faults"))]
        {
            true
        }
    }

    /// A store from validated parts (see [`snapshot`]).
    pub(crate) fn from_parts(
        limits: KvLimits,
        data: BTreeMap<String, String>,
        leases: BTreeMap<String, Lease>,
        next_token: u64,
    ) -> Self {
        KvStore {
            limits,
            data,
            locks: LockTable::from_parts(leases, next_token),
            #[cfg(feature = "faults")]
            cas_ignores_expected: false,
        }
    }

    /// The store's limits.
    pub fn limits(&self) -> &KvLimits {
        &self.limits
    }

    /// Every key and its value, in key order.
    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// Every held lock and its lease, in lock-name order.
    pub fn leases(&self) -> &BTreeMap<String, Lease> {
        self.locks.leases()
    }

    /// The fencing token the next successful acquire will get: every token
    /// below it has been issued.
    pub fn next_token(&self) -> u64 {
        self.locks.next_token()
    }

    fn read(&self, key: &str) -> Result<Response, Rejection> {
        self.limits.check_key(key)?;
        Ok(match self.data.get(key) {
            Some(value) => Response::Value(value.clone()),
            None => Response::NotFound,
        })
    }

    /// Sets `key` to `value` after checking that a new key fits.
    fn write(&mut self, key: &str, value: String) -> Result<(), Rejection> {
        match self.data.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                if self.data.len() >= self.limits.max_keys {
                    return Err(Rejection::TooManyKeys {
                        max: self.limits.max_keys,
                    });
                }
                self.data.insert(key.to_owned(), value);
            }
        }
        Ok(())
    }

    fn put(&mut self, key: &str, value: &str) -> Result<Response, Rejection> {
        self.limits.check_key(key)?;
        self.limits.check_value_len(value.len())?;
        self.write(key, value.to_owned())?;
        Ok(Response::Ok)
    }

    fn cas(&mut self, key: &str, expected: Option<&str>, new: &str) -> Result<Response, Rejection> {
        self.limits.check_key(key)?;
        self.limits.check_value_len(new.len())?;
        let current = self.data.get(key).map(String::as_str);
        if current != expected && self.cas_compares() {
            return Ok(Response::CasMismatch {
                current: current.map(str::to_owned),
            });
        }
        self.write(key, new.to_owned())?;
        Ok(Response::Ok)
    }

    fn append(&mut self, key: &str, suffix: &str) -> Result<Response, Rejection> {
        self.limits.check_key(key)?;
        let current_len = self.data.get(key).map_or(0, String::len);
        // Checked before building the new value: a too-long append allocates nothing.
        self.limits
            .check_value_len(current_len.saturating_add(suffix.len()))?;
        match self.data.get_mut(key) {
            Some(value) => value.push_str(suffix),
            None => self.write(key, suffix.to_owned())?,
        }
        Ok(Response::Ok)
    }

    fn delete(&mut self, key: &str) -> Result<Response, Rejection> {
        self.limits.check_key(key)?;
        Ok(match self.data.remove(key) {
            Some(_) => Response::Ok,
            None => Response::NotFound,
        })
    }

    fn txn(&mut self, ops: &[MicroOp]) -> Result<Response, Rejection> {
        let plan = txn::plan(&self.limits, &self.data, ops)?;
        for (key, value) in plan.writes {
            // The plan counted new keys against the limit, so this cannot be
            // refused; inserting directly keeps the commit infallible.
            self.data.insert(key.to_owned(), value.to_owned());
        }
        Ok(Response::Txn(plan.results))
    }

    fn apply_checked(&mut self, now_ticks: u64, command: &Command) -> Result<Response, Rejection> {
        match command {
            Command::Get { key } => self.read(key),
            Command::Put { key, value } => self.put(key, value),
            Command::Cas { key, expected, new } => self.cas(key, expected.as_deref(), new),
            Command::Append { key, value } => self.append(key, value),
            Command::Delete { key } => self.delete(key),
            Command::Txn(ops) => self.txn(ops),
            Command::Acquire {
                lock,
                owner,
                ttl_ticks,
            } => self
                .locks
                .acquire(&self.limits, now_ticks, lock, owner, *ttl_ticks),
            Command::Renew { lock, owner, token } => {
                self.locks
                    .renew(&self.limits, now_ticks, lock, owner, *token)
            }
            Command::Release { lock, owner, token } => {
                self.locks.release(&self.limits, lock, owner, *token)
            }
            Command::Expire {
                lock,
                token,
                deadline_ticks,
            } => Ok(self.locks.expire(now_ticks, lock, *token, *deadline_ticks)),
        }
    }
}

impl StateMachine for KvStore {
    type Command = Command;
    type Response = Response;

    fn apply(&mut self, now_ticks: u64, command: &Command) -> Response {
        self.apply_checked(now_ticks, command)
            .unwrap_or_else(Response::Rejected)
    }

    fn query(&self, command: &Command) -> Option<Response> {
        let answer = match command {
            Command::Get { key } => self.read(key),
            Command::Txn(ops) if command.is_read_only() => {
                txn::plan(&self.limits, &self.data, ops).map(|plan| Response::Txn(plan.results))
            }
            _ => return None,
        };
        Some(answer.unwrap_or_else(Response::Rejected))
    }

    fn tick_commands(&self, now_ticks: u64) -> Vec<Command> {
        self.locks
            .expiries(now_ticks, self.limits.max_expiries_per_tick)
    }

    fn snapshot(&self) -> Vec<u8> {
        snapshot::encode(self)
    }

    fn restore(bytes: &[u8]) -> Result<Self, RestoreError> {
        snapshot::decode(bytes)
    }
}
