//! A reference model of the kv store, written the obvious way: a plain map, a
//! lock table scanned in full, a transaction run on a copy that is thrown away
//! on error. `KvStore` must answer every command exactly as this does.

use std::collections::BTreeMap;

use crate::kv::{Command, KvLimits, KvStore, Lease, MicroOp, Rejection, Response};
use crate::paxos::StateMachine;

/// What the comparison observes of a store: its data, its leases, its counter.
pub type Observed = (BTreeMap<String, String>, BTreeMap<String, Lease>, u64);

/// Anything the model can be compared with: the real store, or a planted bug.
pub trait Subject {
    /// Applies a command at log time `now`.
    fn apply_at(&mut self, now: u64, command: &Command) -> Response;
    /// The expiries the leader would propose at `now`.
    fn expiries_at(&self, now: u64) -> Vec<Command>;
    /// The observable state.
    fn observe(&self) -> Observed;
}

impl Subject for KvStore {
    fn apply_at(&mut self, now: u64, command: &Command) -> Response {
        StateMachine::apply(self, now, command)
    }
    fn expiries_at(&self, now: u64) -> Vec<Command> {
        StateMachine::tick_commands(self, now)
    }
    fn observe(&self) -> Observed {
        (
            self.data().clone(),
            self.leases().clone(),
            self.next_token(),
        )
    }
}

/// The reference model.
#[derive(Clone, Debug)]
pub struct Model {
    limits: KvLimits,
    map: BTreeMap<String, String>,
    locks: BTreeMap<String, Lease>,
    next_token: u64,
}

impl Model {
    /// An empty store under `limits`.
    pub fn new(limits: KvLimits) -> Self {
        Model {
            limits,
            map: BTreeMap::new(),
            locks: BTreeMap::new(),
            next_token: 1,
        }
    }

    /// The observable state.
    pub fn observe(&self) -> Observed {
        (self.map.clone(), self.locks.clone(), self.next_token)
    }

    fn key_ok(&self, key: &str) -> Result<(), Rejection> {
        if key.len() > self.limits.max_key_bytes {
            return Err(Rejection::KeyTooLong {
                len: key.len(),
                max: self.limits.max_key_bytes,
            });
        }
        Ok(())
    }

    fn value_ok(&self, len: usize) -> Result<(), Rejection> {
        if len > self.limits.max_value_bytes {
            return Err(Rejection::ValueTooLong {
                len,
                max: self.limits.max_value_bytes,
            });
        }
        Ok(())
    }

    fn room_for(&self, key: &str) -> Result<(), Rejection> {
        if !self.map.contains_key(key) && self.map.len() >= self.limits.max_keys {
            return Err(Rejection::TooManyKeys {
                max: self.limits.max_keys,
            });
        }
        Ok(())
    }

    fn names_ok(&self, lock: &str, owner: &str) -> Result<(), Rejection> {
        let max = self.limits.max_key_bytes;
        if lock.len() > max {
            return Err(Rejection::LockNameTooLong {
                len: lock.len(),
                max,
            });
        }
        if owner.len() > max {
            return Err(Rejection::OwnerTooLong {
                len: owner.len(),
                max,
            });
        }
        Ok(())
    }

    fn holder(&self, lock: &str, owner: &str, token: u64) -> Option<Response> {
        match self.locks.get(lock) {
            None => Some(Response::NotHeld),
            Some(l) if l.owner != owner => Some(Response::NotOwner {
                owner: l.owner.clone(),
            }),
            Some(l) if l.token != token => Some(Response::StaleToken { current: l.token }),
            Some(_) => None,
        }
    }

    /// Applies `command` at log time `now`, as `KvStore` must.
    pub fn apply(&mut self, now: u64, command: &Command) -> Response {
        match self.apply_inner(now, command) {
            Ok(r) => r,
            Err(e) => Response::Rejected(e),
        }
    }

    fn apply_inner(&mut self, now: u64, command: &Command) -> Result<Response, Rejection> {
        Ok(match command {
            Command::Get { key } => {
                self.key_ok(key)?;
                match self.map.get(key) {
                    Some(v) => Response::Value(v.clone()),
                    None => Response::NotFound,
                }
            }
            Command::Put { key, value } => {
                self.key_ok(key)?;
                self.value_ok(value.len())?;
                self.room_for(key)?;
                self.map.insert(key.clone(), value.clone());
                Response::Ok
            }
            Command::Cas { key, expected, new } => {
                self.key_ok(key)?;
                self.value_ok(new.len())?;
                if self.map.get(key) != expected.as_ref() {
                    return Ok(Response::CasMismatch {
                        current: self.map.get(key).cloned(),
                    });
                }
                self.room_for(key)?;
                self.map.insert(key.clone(), new.clone());
                Response::Ok
            }
            Command::Append { key, value } => {
                self.key_ok(key)?;
                let new = format!(
                    "{}{}",
                    self.map.get(key).cloned().unwrap_or_default(),
                    value
                );
                self.value_ok(new.len())?;
                self.room_for(key)?;
                self.map.insert(key.clone(), new);
                Response::Ok
            }
            Command::Delete { key } => {
                self.key_ok(key)?;
                match self.map.remove(key) {
                    Some(_) => Response::Ok,
                    None => Response::NotFound,
                }
            }
            Command::Txn(ops) => {
                if ops.len() > self.limits.max_txn_ops {
                    return Err(Rejection::TxnTooLong {
                        len: ops.len(),
                        max: self.limits.max_txn_ops,
                    });
                }
                // Run on a copy; keep it only if every micro-op passed.
                let mut copy = self.clone();
                let mut results = Vec::new();
                for (index, op) in ops.iter().enumerate() {
                    let step = match op {
                        MicroOp::Read { key } => {
                            copy.key_ok(key).map(|()| copy.map.get(key).cloned())
                        }
                        MicroOp::Write { key, value } => copy
                            .key_ok(key)
                            .and_then(|()| copy.value_ok(value.len()))
                            .and_then(|()| copy.room_for(key))
                            .map(|()| {
                                copy.map.insert(key.clone(), value.clone());
                                Some(value.clone())
                            }),
                    };
                    match step {
                        Ok(v) => results.push(v),
                        Err(cause) => {
                            return Err(Rejection::InTxn {
                                index,
                                cause: Box::new(cause),
                            })
                        }
                    }
                }
                *self = copy;
                Response::Txn(results)
            }
            Command::Acquire {
                lock,
                owner,
                ttl_ticks,
            } => {
                self.names_ok(lock, owner)?;
                if *ttl_ticks == 0 || *ttl_ticks > self.limits.max_ttl_ticks {
                    return Err(Rejection::TtlOutOfRange {
                        ttl_ticks: *ttl_ticks,
                        max: self.limits.max_ttl_ticks,
                    });
                }
                if let Some(l) = self.locks.get(lock) {
                    return Ok(Response::Held {
                        owner: l.owner.clone(),
                        token: l.token,
                    });
                }
                if self.locks.len() >= self.limits.max_locks {
                    return Err(Rejection::TooManyLocks {
                        max: self.limits.max_locks,
                    });
                }
                let token = self.next_token;
                self.next_token += 1;
                self.locks.insert(
                    lock.clone(),
                    Lease {
                        owner: owner.clone(),
                        token,
                        ttl_ticks: *ttl_ticks,
                        deadline_ticks: now + ttl_ticks,
                    },
                );
                Response::Token(token)
            }
            Command::Renew { lock, owner, token } => {
                self.names_ok(lock, owner)?;
                if let Some(answer) = self.holder(lock, owner, *token) {
                    return Ok(answer);
                }
                let l = self.locks.get_mut(lock).expect("holder checked");
                l.deadline_ticks = now + l.ttl_ticks;
                Response::Ok
            }
            Command::Release { lock, owner, token } => {
                self.names_ok(lock, owner)?;
                if let Some(answer) = self.holder(lock, owner, *token) {
                    return Ok(answer);
                }
                self.locks.remove(lock);
                Response::Ok
            }
            Command::Expire {
                lock,
                token,
                deadline_ticks,
            } => match self.locks.get(lock) {
                Some(l)
                    if l.token == *token
                        && l.deadline_ticks == *deadline_ticks
                        && l.deadline_ticks <= now =>
                {
                    self.locks.remove(lock);
                    Response::Expired
                }
                _ => Response::NotExpired,
            },
        })
    }

    /// Every lease past its deadline, earliest deadline first (then by name),
    /// at most `max_expiries_per_tick`.
    pub fn tick_commands(&self, now: u64) -> Vec<Command> {
        let mut due: Vec<(u64, String, u64)> = self
            .locks
            .iter()
            .filter(|(_, l)| l.deadline_ticks <= now)
            .map(|(name, l)| (l.deadline_ticks, name.clone(), l.token))
            .collect();
        due.sort();
        due.truncate(self.limits.max_expiries_per_tick);
        due.into_iter()
            .map(|(deadline_ticks, lock, token)| Command::Expire {
                lock,
                token,
                deadline_ticks,
            })
            .collect()
    }
}

/// Limits small enough that every limit is reached often: keys up to 4 bytes
/// (the generators' names include one of 5), values up to 6 (two appends of
/// 3 fit, three do not), 3 keys, 3-op transactions, 2 held locks, leases up
/// to 5 ticks, 1 expiry per tick.
pub fn small_limits() -> KvLimits {
    KvLimits {
        max_key_bytes: 4,
        max_value_bytes: 6,
        max_keys: 3,
        max_txn_ops: 3,
        max_locks: 2,
        max_ttl_ticks: 5,
        max_expiries_per_tick: 1,
    }
}

/// One step of a run: a command, time passing, or the leader proposing and
/// applying what `tick_commands` asks for.
#[derive(Clone, Debug)]
pub enum Step {
    /// Apply a command at the current log time.
    Apply(Command),
    /// Log time advances by this many ticks.
    Advance(u64),
    /// Apply every command `tick_commands` returns now.
    Tick,
}

/// Runs `steps` on `subject` and on the model (under [`small_limits`]); the
/// first difference in an answer, in the leader's expiries or in the state
/// after a step, as an error.
pub fn compare_with_model<S: Subject>(subject: &mut S, steps: &[Step]) -> Result<(), String> {
    let mut model = Model::new(small_limits());
    let mut now = 0u64;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Apply(command) => {
                let got = subject.apply_at(now, command);
                let want = model.apply(now, command);
                if got != want {
                    return Err(format!(
                        "step {i}, {command:?} at tick {now}: store answered {got:?}, model {want:?}"
                    ));
                }
            }
            Step::Advance(ticks) => now = now.saturating_add(*ticks),
            Step::Tick => {
                let got = subject.expiries_at(now);
                let want = model.tick_commands(now);
                if got != want {
                    return Err(format!(
                        "step {i}, tick {now}: store proposes {got:?}, model {want:?}"
                    ));
                }
                for command in &want {
                    let (got, want) = (subject.apply_at(now, command), model.apply(now, command));
                    if got != want || got != Response::Expired {
                        return Err(format!(
                            "step {i}, leader's {command:?} at tick {now}: store {got:?}, model {want:?}"
                        ));
                    }
                }
            }
        }
        let (got, want): (Observed, Observed) = (subject.observe(), model.observe());
        if got != want {
            return Err(format!(
                "step {i}: state differs\n store {got:?}\n model {want:?}"
            ));
        }
    }
    Ok(())
}
