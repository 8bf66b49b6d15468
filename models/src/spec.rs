//! The reference semantics for linearizability: one register, written with
//! put, append and cas and read with get. Written from the KV commands'
//! documented meaning, independently of `synod::kv`, so the models check the
//! store against a spec and not against itself.
//!
//! Every value written is unique and is written as its element `"v;"`: a put
//! sets the register to one element, an append adds one, so a read shows
//! which writes took effect, in which order, and how many times (a lost
//! update, a stale read and a double apply all change what a read sees).

use stateright::semantics::SequentialSpec;
use synod::kv::{Command, Response};

/// The key every model client uses: one register.
pub const KEY: &str = "k";

/// The text a written value `v` stands for in the register: one element.
pub fn element(v: u8) -> String {
    format!("{v};")
}

/// The value of an element's text (`"v;"`).
fn parse_element(s: &str) -> Option<u8> {
    s.strip_suffix(';')?.parse().ok()
}

/// An operation on the register, as a client invokes it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegisterOp {
    /// Write a value (the register becomes that one element).
    Put(u8),
    /// Read the value.
    Get,
    /// Write `new` if the value is exactly the element `expected` (`None`:
    /// absent).
    Cas {
        /// The value required.
        expected: Option<u8>,
        /// The value written.
        new: u8,
    },
    /// Add one element to the end of the value (absent counts as empty).
    Append(u8),
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegisterRet {
    /// A put took effect.
    PutOk,
    /// A get saw this value (`None`: absent).
    GetOk(Option<String>),
    /// A cas took effect.
    CasOk,
    /// A cas found another value and changed nothing.
    CasMismatch,
    /// An append took effect.
    AppendOk,
    /// An answer the register cannot give (a rejection, a wrong shape): never
    /// valid, so it shows up as a linearizability violation.
    Invalid(String),
}

/// The sequential register.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RegisterSpec {
    value: Option<String>,
}

impl RegisterSpec {
    /// The register's value (`None`: absent).
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

impl SequentialSpec for RegisterSpec {
    type Op = RegisterOp;
    type Ret = RegisterRet;

    fn invoke(&mut self, op: &RegisterOp) -> RegisterRet {
        match op {
            RegisterOp::Put(v) => {
                self.value = Some(element(*v));
                RegisterRet::PutOk
            }
            RegisterOp::Get => RegisterRet::GetOk(self.value.clone()),
            RegisterOp::Cas { expected, new } => {
                if self.value == expected.map(element) {
                    self.value = Some(element(*new));
                    RegisterRet::CasOk
                } else {
                    RegisterRet::CasMismatch
                }
            }
            RegisterOp::Append(v) => {
                self.value
                    .get_or_insert_with(String::new)
                    .push_str(&element(*v));
                RegisterRet::AppendOk
            }
        }
    }
}

/// Which operations the clients invoke ([`RegisterOp::schedule`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Workload {
    /// Puts, gets and cas from absent, rotating per client (the first CI
    /// configurations'; with one operation per client any replies
    /// linearize).
    #[default]
    Classic,
    /// Appends, a cas that must fail, a cas whose success depends on order,
    /// and reads after writes: a lost update, a stale read, a double apply
    /// or a cas that ignores its expected value each make the history
    /// non-linearizable (see [`RegisterOp::revealing`]).
    Revealing,
}

impl RegisterOp {
    /// The KV command that performs this operation on [`KEY`].
    pub fn command(&self) -> Command {
        let key = KEY.to_string();
        match self {
            RegisterOp::Put(v) => Command::Put {
                key,
                value: element(*v),
            },
            RegisterOp::Get => Command::Get { key },
            RegisterOp::Cas { expected, new } => Command::Cas {
                key,
                expected: expected.map(element),
                new: element(*new),
            },
            RegisterOp::Append(v) => Command::Append {
                key,
                value: element(*v),
            },
        }
    }

    /// The operation a KV command performs, if it is one of the register's.
    pub fn from_command(command: &Command) -> Option<RegisterOp> {
        match command {
            Command::Put { key, value } if key == KEY => parse_element(value).map(RegisterOp::Put),
            Command::Get { key } if key == KEY => Some(RegisterOp::Get),
            Command::Cas { key, expected, new } if key == KEY => {
                let expected = match expected {
                    None => None,
                    Some(e) => Some(parse_element(e)?),
                };
                Some(RegisterOp::Cas {
                    expected,
                    new: parse_element(new)?,
                })
            }
            Command::Append { key, value } if key == KEY => {
                parse_element(value).map(RegisterOp::Append)
            }
            _ => None,
        }
    }

    /// The register's reading of the store's answer to this operation.
    pub fn ret(&self, response: &Response) -> RegisterRet {
        match (self, response) {
            (RegisterOp::Put(_), Response::Ok) => RegisterRet::PutOk,
            (RegisterOp::Get, Response::NotFound) => RegisterRet::GetOk(None),
            (RegisterOp::Get, Response::Value(v)) => RegisterRet::GetOk(Some(v.clone())),
            (RegisterOp::Cas { .. }, Response::Ok) => RegisterRet::CasOk,
            (RegisterOp::Cas { .. }, Response::CasMismatch { .. }) => RegisterRet::CasMismatch,
            (RegisterOp::Append(_), Response::Ok) => RegisterRet::AppendOk,
            (op, r) => RegisterRet::Invalid(format!("{op:?} answered {r:?}")),
        }
    }

    /// The `k`-th operation of client `c` (0-based) under `workload`.
    pub fn schedule(workload: Workload, c: usize, k: usize) -> RegisterOp {
        match workload {
            Workload::Classic => RegisterOp::classic(c, k),
            Workload::Revealing => RegisterOp::revealing(c, k),
        }
    }

    /// The classic schedule: puts, gets and cas from absent. Client 0 writes
    /// then reads (a stale read shows up); client 1 starts with a cas, so
    /// two clients race two writes for the first slot; client 2 starts with
    /// a read.
    pub fn classic(c: usize, k: usize) -> RegisterOp {
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

    /// The order-revealing schedule; values are unique (`10 (c + 1) + k`).
    ///
    /// - client 0: append 10; cas absent to 11, which must fail (its own
    ///   append returned first); get, at a third server. A double apply
    ///   shows `10;10;`, a cas ignoring its expected value `11;`, a stale
    ///   read nothing.
    /// - client 1: cas `10;` to 20, which succeeds only if client 0's append
    ///   and nothing else came first; get, which shows every write before
    ///   it in order; append 21.
    /// - client 2 and beyond: get; append; get.
    ///
    /// Operations past the third are gets.
    pub fn revealing(c: usize, k: usize) -> RegisterOp {
        let v = (10 * (c + 1) + k) as u8;
        match (c, k) {
            (0, 0) => RegisterOp::Append(v),
            (0, 1) => RegisterOp::Cas {
                expected: None,
                new: v,
            },
            (1, 0) => RegisterOp::Cas {
                expected: Some(10),
                new: v,
            },
            (1, 2) => RegisterOp::Append(v),
            (1, 1) => RegisterOp::Get,
            (_, 1) => RegisterOp::Append(v),
            _ => RegisterOp::Get,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_spec_follows_put_get_cas_append() {
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
        assert_eq!(
            r.invoke(&RegisterOp::Get),
            RegisterRet::GetOk(Some("5;".into()))
        );
        assert_eq!(r.invoke(&RegisterOp::Append(6)), RegisterRet::AppendOk);
        assert_eq!(
            r.invoke(&RegisterOp::Cas {
                expected: Some(5),
                new: 7
            }),
            RegisterRet::CasMismatch,
            "a cas compares the whole value"
        );
        assert_eq!(r.value(), Some("5;6;"));
    }

    #[test]
    fn an_append_to_an_absent_register_creates_it() {
        let mut r = RegisterSpec::default();
        assert_eq!(r.invoke(&RegisterOp::Append(1)), RegisterRet::AppendOk);
        assert_eq!(
            r.invoke(&RegisterOp::Get),
            RegisterRet::GetOk(Some("1;".into()))
        );
    }

    #[test]
    fn commands_round_trip_through_the_register_op() {
        for workload in [Workload::Classic, Workload::Revealing] {
            for c in 0..3 {
                for k in 0..4 {
                    let op = RegisterOp::schedule(workload, c, k);
                    assert_eq!(RegisterOp::from_command(&op.command()), Some(op));
                }
            }
        }
    }

    /// The revealing schedule's values are unique: every write names its
    /// own element, so a read tells the writes apart.
    #[test]
    fn revealing_writes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for c in 0..4 {
            for k in 0..4 {
                if let RegisterOp::Put(v) | RegisterOp::Append(v) | RegisterOp::Cas { new: v, .. } =
                    RegisterOp::revealing(c, k)
                {
                    assert!(seen.insert(v), "value {v} written twice");
                }
            }
        }
    }
}
