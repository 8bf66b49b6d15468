//! Locks with leases in log time, and fencing tokens.
//!
//! A lease's deadline is counted in the log's clock (`now_ticks` of
//! [`apply`](crate::paxos::StateMachine::apply)), never a local clock, so every
//! replica agrees on it. A lease ends only through a command in the log: a
//! release, or an expire that the leader proposes once the deadline has passed.
//! Until that expire is applied the lease stands (a renew still succeeds, an
//! acquire by another owner still sees `Held`). This keeps the state a function
//! of the log alone, which is what lets [`query`](crate::paxos::StateMachine::query),
//! which has no clock, answer from it; safety never rests on time, only on the
//! fencing tokens (Kleppmann, "How to do distributed locking").
//!
//! Fencing tokens come from one counter for the whole store: a token is larger
//! than every token issued before, on any lock, so it is strictly increasing per
//! lock and never reused even after a release or expiry, and a free lock needs
//! no entry.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::limits::KvLimits;
use super::response::{Rejection, Response};

/// The first fencing token a store issues.
pub const FIRST_TOKEN: u64 = 1;

/// A held lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    /// The holder.
    pub owner: String,
    /// The fencing token of this acquisition.
    pub token: u64,
    /// The lease's length, in ticks: a renew moves the deadline to now + ttl.
    pub ttl_ticks: u64,
    /// When the lease may be expired, in ticks of log time.
    pub deadline_ticks: u64,
}

/// The held locks, and the token counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LockTable {
    leases: BTreeMap<String, Lease>,
    /// `(deadline, lock)` of every lease: so that `tick_commands` finds the
    /// expired ones without scanning every lock. Derived from `leases`.
    by_deadline: BTreeSet<(u64, String)>,
    /// The next token to issue; all tokens below it have been issued.
    next_token: u64,
}

impl Default for LockTable {
    fn default() -> Self {
        LockTable {
            leases: BTreeMap::new(),
            by_deadline: BTreeSet::new(),
            next_token: FIRST_TOKEN,
        }
    }
}

impl LockTable {
    /// A table from its parts (a restored snapshot, already validated).
    pub(crate) fn from_parts(leases: BTreeMap<String, Lease>, next_token: u64) -> Self {
        let by_deadline = leases
            .iter()
            .map(|(lock, lease)| (lease.deadline_ticks, lock.clone()))
            .collect();
        LockTable {
            leases,
            by_deadline,
            next_token,
        }
    }

    /// The held locks.
    pub(crate) fn leases(&self) -> &BTreeMap<String, Lease> {
        &self.leases
    }

    /// The token the next acquire will get.
    pub(crate) fn next_token(&self) -> u64 {
        self.next_token
    }

    pub(crate) fn acquire(
        &mut self,
        limits: &KvLimits,
        now_ticks: u64,
        lock: &str,
        owner: &str,
        ttl_ticks: u64,
    ) -> Result<Response, Rejection> {
        limits.check_lock_name(lock)?;
        limits.check_owner(owner)?;
        limits.check_ttl(ttl_ticks)?;
        if let Some(lease) = self.leases.get(lock) {
            return Ok(Response::Held {
                owner: lease.owner.clone(),
                token: lease.token,
            });
        }
        if self.leases.len() >= limits.max_locks {
            return Err(Rejection::TooManyLocks {
                max: limits.max_locks,
            });
        }
        // u64::MAX is never issued, so that `next_token` stays representable.
        if self.next_token == u64::MAX {
            return Err(Rejection::TokensExhausted);
        }
        let token = self.next_token;
        self.next_token += 1;
        // Saturating: a deadline past the end of u64 time never comes.
        let deadline_ticks = now_ticks.saturating_add(ttl_ticks);
        self.by_deadline.insert((deadline_ticks, lock.to_owned()));
        self.leases.insert(
            lock.to_owned(),
            Lease {
                owner: owner.to_owned(),
                token,
                ttl_ticks,
                deadline_ticks,
            },
        );
        Ok(Response::Token(token))
    }

    /// The lease of `lock` if `owner` holds it under `token`, else the answer.
    fn holder_check(
        &self,
        limits: &KvLimits,
        lock: &str,
        owner: &str,
        token: u64,
    ) -> Result<Result<(), Response>, Rejection> {
        limits.check_lock_name(lock)?;
        limits.check_owner(owner)?;
        Ok(match self.leases.get(lock) {
            None => Err(Response::NotHeld),
            Some(lease) if lease.owner != owner => Err(Response::NotOwner {
                owner: lease.owner.clone(),
            }),
            Some(lease) if lease.token != token => Err(Response::StaleToken {
                current: lease.token,
            }),
            Some(_) => Ok(()),
        })
    }

    pub(crate) fn renew(
        &mut self,
        limits: &KvLimits,
        now_ticks: u64,
        lock: &str,
        owner: &str,
        token: u64,
    ) -> Result<Response, Rejection> {
        if let Err(answer) = self.holder_check(limits, lock, owner, token)? {
            return Ok(answer);
        }
        let Some(lease) = self.leases.get_mut(lock) else {
            return Ok(Response::NotHeld);
        };
        let deadline_ticks = now_ticks.saturating_add(lease.ttl_ticks);
        self.by_deadline
            .remove(&(lease.deadline_ticks, lock.to_owned()));
        self.by_deadline.insert((deadline_ticks, lock.to_owned()));
        lease.deadline_ticks = deadline_ticks;
        Ok(Response::Ok)
    }

    pub(crate) fn release(
        &mut self,
        limits: &KvLimits,
        lock: &str,
        owner: &str,
        token: u64,
    ) -> Result<Response, Rejection> {
        if let Err(answer) = self.holder_check(limits, lock, owner, token)? {
            return Ok(answer);
        }
        self.remove(lock);
        Ok(Response::Ok)
    }

    /// Ends the lease under `token` with deadline `deadline_ticks` if that
    /// deadline has passed; anything else is a late or repeated expiry and
    /// changes nothing.
    pub(crate) fn expire(
        &mut self,
        now_ticks: u64,
        lock: &str,
        token: u64,
        deadline_ticks: u64,
    ) -> Response {
        match self.leases.get(lock) {
            Some(lease)
                if lease.token == token
                    && lease.deadline_ticks == deadline_ticks
                    && deadline_ticks <= now_ticks =>
            {
                self.remove(lock);
                Response::Expired
            }
            _ => Response::NotExpired,
        }
    }

    fn remove(&mut self, lock: &str) {
        if let Some(lease) = self.leases.remove(lock) {
            self.by_deadline
                .remove(&(lease.deadline_ticks, lock.to_owned()));
        }
    }

    /// Expire commands for the leases whose deadline is at or before
    /// `now_ticks`, earliest first, at most `limit` of them.
    pub(crate) fn expiries(&self, now_ticks: u64, limit: usize) -> Vec<Command> {
        self.by_deadline
            .iter()
            .take_while(|(deadline, _)| *deadline <= now_ticks)
            .take(limit)
            .filter_map(|(deadline, lock)| {
                let lease = self.leases.get(lock)?;
                Some(Command::Expire {
                    lock: lock.clone(),
                    token: lease.token,
                    deadline_ticks: *deadline,
                })
            })
            .collect()
    }
}
