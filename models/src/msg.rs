//! The model's network messages, shared and carrying their hash.
//!
//! Why: stateright keeps every message of the duplicating network in a hash
//! set inside each state, clones that set with the state at every step,
//! hashes it for every fingerprint, and compares messages when it looks
//! one up. Replica messages hold commands, accepted lists and learned
//! values, so each of those was a deep copy, hash or comparison. A [`Msg`]
//! is an `Arc` of its payload with the payload's hash computed once: a
//! clone is a reference count, a hash is one word, and equality is a
//! pointer or hash comparison before it is a deep one.
//!
//! The hash is [`fixed_hash`], the same in every thread, as stateright's
//! fingerprints need. The order (used to sort actions) is the payload's
//! own, so it does not depend on the hash function.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use synod::kv::{Command, KvStore, Response};
use synod::paxos::{ClientReply, ClientRequest, Message};

use crate::memo::fixed_hash;

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Payload {
    /// Between replicas.
    Peer(Message<KvStore>),
    /// A client's request to a replica.
    Request(ClientRequest<Command>),
    /// A replica's reply to a client.
    Reply(ClientReply<Response>),
}

struct Shared {
    hash: u64,
    payload: Payload,
}

/// What travels on the model's network: a shared [`Payload`] with its hash.
#[derive(Clone)]
pub struct Msg(Arc<Shared>);

impl Msg {
    /// Wraps `payload`, hashing it once.
    pub fn new(payload: Payload) -> Msg {
        Msg(Arc::new(Shared {
            hash: fixed_hash(&payload),
            payload,
        }))
    }

    /// What the message says.
    pub fn payload(&self) -> &Payload {
        &self.0.payload
    }
}

impl From<Payload> for Msg {
    fn from(payload: Payload) -> Msg {
        Msg::new(payload)
    }
}

impl Hash for Msg {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
            || self.0.hash == other.0.hash && self.0.payload == other.0.payload
    }
}

impl Eq for Msg {}

impl PartialOrd for Msg {
    fn partial_cmp(&self, other: &Msg) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Msg {
    fn cmp(&self, other: &Msg) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return Ordering::Equal;
        }
        self.0.payload.cmp(&other.0.payload)
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.payload.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::DefaultHasher;
    use synod::paxos::Ballot;

    fn prepare(round: u64) -> Payload {
        Payload::Peer(Message::Prepare {
            ballot: Ballot { round, node: 1 },
            first_slot: 0,
            recovery: None,
        })
    }

    #[test]
    fn equal_payloads_make_equal_messages_with_equal_hashes() {
        let (a, b) = (Msg::new(prepare(1)), Msg::new(prepare(1)));
        assert_eq!(a, b);
        let hash = |m: &Msg| {
            let mut h = DefaultHasher::new();
            m.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(a, Msg::new(prepare(2)));
    }

    #[test]
    fn messages_order_as_their_payloads() {
        assert!(Msg::new(prepare(1)) < Msg::new(prepare(2)));
        assert_eq!(
            Msg::new(prepare(2)).cmp(&Msg::new(prepare(2))),
            Ordering::Equal
        );
    }
}
