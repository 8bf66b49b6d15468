//! A remembered hash, for the actor states and disks the search hashes
//! over and over.
//!
//! Why: stateright fingerprints a whole state at every step, and a state
//! holds every server's replica and disk, deep structures of which a step
//! changes at most one. Profiled, that hashing was the largest single cost
//! once the network's messages carried their own hash ([`crate::msg`]).
//!
//! How it stays right: the memo is filled on the first hash and a *clone
//! does not copy it*. The actors never change a state in place: stateright
//! hands them a copy-on-write view, and the first write clones. So a value
//! that changes is a fresh clone with an empty memo, and a filled memo
//! always belongs to the value it was computed from. The memo takes no part
//! in equality.

use std::fmt;
use std::hash::Hash;
use std::sync::OnceLock;

/// The hash function of the memos and of [`crate::msg::Msg`]: aHash with
/// fixed seeds, so the same in every thread (stateright's fingerprints need
/// that) and several times faster than SipHash on these deep structures.
/// Nothing orders by it, so a search visits states in the same order on
/// any machine.
pub fn fixed_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    ahash::RandomState::with_seeds(
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    )
    .hash_one(value)
}

/// The memo of one value's hash ([`fixed_hash`]).
#[derive(Default)]
pub struct HashMemo(OnceLock<u64>);

impl HashMemo {
    /// The hash of `value`, computed on the first call.
    pub fn hash_of<T: Hash + ?Sized>(&self, value: &T) -> u64 {
        *self.0.get_or_init(|| fixed_hash(value))
    }
}

impl Clone for HashMemo {
    /// Empty: the clone is about to be changed, or will hash the same.
    fn clone(&self) -> HashMemo {
        HashMemo::default()
    }
}

impl PartialEq for HashMemo {
    /// Always: the memo is no part of the value.
    fn eq(&self, _: &HashMemo) -> bool {
        true
    }
}

impl Eq for HashMemo {}

impl fmt::Debug for HashMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_forgets_the_hash_so_a_changed_clone_hashes_anew() {
        let memo = HashMemo::default();
        let a = memo.hash_of(&1u32);
        assert_eq!(memo.hash_of(&2u32), a, "remembered, not recomputed");
        let copy = memo.clone();
        assert_ne!(copy.hash_of(&2u32), a);
    }
}
