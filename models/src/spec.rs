//! The reference semantics for linearizability: one register, written with
//! put and cas and read with get. Written from the KV commands' documented
//! meaning, independently of `synod::kv`, so the models check the store
//! against a spec and not against itself.

use stateright::semantics::SequentialSpec;
use synod::kv::{Command, Response};

/// The key every model client uses: one register.
pub const KEY: &str = "k";

/// An operation on the register, as a client invokes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegisterOp {
    /// Write a value.
    Put(u8),
    /// Read the value.
    Get,
    /// Write `new` if the value is `expected` (`None`: absent).
    Cas {
        /// The value required.
        expected: Option<u8>,
        /// The value written.
        new: u8,
    },
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegisterRet {
    /// A put took effect.
    PutOk,
    /// A get saw this value (`None`: absent).
    GetOk(Option<u8>),
    /// A cas took effect.
    CasOk,
    /// A cas found another value and changed nothing.
    CasMismatch,
    /// An answer the register cannot give (a rejection, a wrong shape): never
    /// valid, so it shows up as a linearizability violation.
    Invalid(String),
}

/// The sequential register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RegisterSpec {
    value: Option<u8>,
}

impl SequentialSpec for RegisterSpec {
    type Op = RegisterOp;
    type Ret = RegisterRet;

    fn invoke(&mut self, op: &RegisterOp) -> RegisterRet {
        match op {
            RegisterOp::Put(v) => {
                self.value = Some(*v);
                RegisterRet::PutOk
            }
            RegisterOp::Get => RegisterRet::GetOk(self.value),
            RegisterOp::Cas { expected, new } => {
                if self.value == *expected {
                    self.value = Some(*new);
                    RegisterRet::CasOk
                } else {
                    RegisterRet::CasMismatch
                }
            }
        }
    }
}

impl RegisterOp {
    /// The KV command that performs this operation on [`KEY`].
    pub fn command(&self) -> Command {
        let key = KEY.to_string();
        match self {
            RegisterOp::Put(v) => Command::Put {
                key,
                value: v.to_string(),
            },
            RegisterOp::Get => Command::Get { key },
            RegisterOp::Cas { expected, new } => Command::Cas {
                key,
                expected: expected.map(|e| e.to_string()),
                new: new.to_string(),
            },
        }
    }

    /// The operation a KV command performs, if it is one of the register's.
    pub fn from_command(command: &Command) -> Option<RegisterOp> {
        let value = |s: &str| s.parse::<u8>().ok();
        match command {
            Command::Put { key, value: v } if key == KEY => value(v).map(RegisterOp::Put),
            Command::Get { key } if key == KEY => Some(RegisterOp::Get),
            Command::Cas { key, expected, new } if key == KEY => {
                let expected = match expected {
                    None => None,
                    Some(e) => Some(value(e)?),
                };
                Some(RegisterOp::Cas {
                    expected,
                    new: value(new)?,
                })
            }
            _ => None,
        }
    }

    /// The register's reading of the store's answer to this operation.
    pub fn ret(&self, response: &Response) -> RegisterRet {
        match (self, response) {
            (RegisterOp::Put(_), Response::Ok) => RegisterRet::PutOk,
            (RegisterOp::Get, Response::NotFound) => RegisterRet::GetOk(None),
            (RegisterOp::Get, Response::Value(v)) => match v.parse::<u8>() {
                Ok(v) => RegisterRet::GetOk(Some(v)),
                Err(_) => RegisterRet::Invalid(format!("get returned {v:?}")),
            },
            (RegisterOp::Cas { .. }, Response::Ok) => RegisterRet::CasOk,
            (RegisterOp::Cas { .. }, Response::CasMismatch { .. }) => RegisterRet::CasMismatch,
            (op, r) => RegisterRet::Invalid(format!("{op:?} answered {r:?}")),
        }
    }

    /// The `k`-th operation of client `c` (0-based): a fixed schedule mixing
    /// writes, reads and cas. Client 0 writes then reads (a stale read shows
    /// up); client 1 starts with a cas, so two clients race two writes for
    /// the first slot; client 2 starts with a read.
    pub fn schedule(c: usize, k: usize) -> RegisterOp {
        let v = (10 * (c + 1) + k) as u8;
        match (k + 2 * c) % 3 {
            0 => RegisterOp::Put(v),
            1 => RegisterOp::Get,
            _ => RegisterOp::Cas {
                expected: None,
                new: v,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_spec_follows_put_get_cas() {
        let mut r = RegisterSpec::default();
        assert_eq!(r.invoke(&RegisterOp::Get), RegisterRet::GetOk(None));
        assert_eq!(
            r.invoke(&RegisterOp::Cas {
                expected: None,
                new: 3
            }),
            RegisterRet::CasOk
        );
        assert_eq!(
            r.invoke(&RegisterOp::Cas {
                expected: None,
                new: 4
            }),
            RegisterRet::CasMismatch
        );
        assert_eq!(r.invoke(&RegisterOp::Put(5)), RegisterRet::PutOk);
        assert_eq!(r.invoke(&RegisterOp::Get), RegisterRet::GetOk(Some(5)));
    }

    #[test]
    fn commands_round_trip_through_the_register_op() {
        for c in 0..3 {
            for k in 0..3 {
                let op = RegisterOp::schedule(c, k);
                assert_eq!(RegisterOp::from_command(&op.command()), Some(op));
            }
        }
    }
}
