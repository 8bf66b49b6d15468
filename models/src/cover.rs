//! Covering (subsumption) for depth-first searches of the duplicating
//! network: a state whose actors, storages, history, crashed flags and
//! timers equal those of a state already visited, and whose network is a
//! subset of that state's, is not expanded.
//!
//! Why it is sound: on the duplicating network a delivery takes nothing out
//! and an actor's step does not read the network, so a state with more
//! messages can take every step one with fewer can, to states that again
//! hold more messages (a simulation). Everything the covered state reaches,
//! the visited one reaches too, with the same actors, storages and history:
//! all the properties read. After echo saturation ([`crate::reduce`]),
//! 1,992 of the 3,392 states of 3 servers and 1 client are covered so.
//!
//! How: stateright's depth-first search dedups on the fingerprint of a
//! "representative" (`CheckerBuilder::symmetry_fn`) and continues from the
//! state itself. [`representative`] returns the state itself unless it is
//! covered; then it returns the first state this search thread visited,
//! whose fingerprint is known, so the search skips the covered one. The
//! table of visited networks is per thread: stateright starts new threads
//! for each search, so a search never sees another's table, and a state
//! covered only by another thread's visit is expanded (more work, never
//! less). Which states are covered depends on the order of the search: run
//! it with one thread for a count that repeats.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use stateright::actor::Network;

use crate::properties::SynodState;
use crate::reduce::beside_network;

#[derive(Default)]
struct Visited {
    /// The first state recorded (its fingerprint is in the search's set).
    first: Option<SynodState>,
    /// Per hash of everything but the network: the sorted message hashes of
    /// the maximal networks visited.
    networks: HashMap<u64, Vec<Vec<u64>>>,
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}

fn hash<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Whether sorted `a` is a subset of sorted `b`.
fn subset(a: &[u64], b: &[u64]) -> bool {
    let mut rest = b.iter();
    a.iter().all(|x| rest.any(|y| y == x))
}

/// The representative for `CheckerBuilder::symmetry_fn` with DFS: the state
/// itself, or, when a visited state covers it, a state already visited.
/// Only on stateright's search threads (named `checker-N`): initial states
/// are fingerprinted on the caller's thread, which may run many searches.
pub fn representative(s: &SynodState) -> SynodState {
    let on_search_thread = std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("checker-"));
    let Network::UnorderedDuplicating(set, _) = &s.network else {
        return s.clone();
    };
    if !on_search_thread {
        return s.clone();
    }
    let key = hash(&beside_network(s));
    let mut network: Vec<u64> = set.iter().map(hash).collect();
    network.sort_unstable();
    VISITED.with(|v| {
        let mut v = v.borrow_mut();
        let Visited { first, networks } = &mut *v;
        let known = networks.entry(key).or_default();
        if let Some(first) = first
            .as_ref()
            .filter(|_| known.iter().any(|k| subset(&network, k)))
        {
            return first.clone();
        }
        known.retain(|k| !subset(k, &network));
        known.push(network);
        first.get_or_insert_with(|| s.clone());
        s.clone()
    })
}
