//! The search: Wing & Gong's algorithm as Lowe refined it ("Testing for
//! linearizability", 2017), on one partition.
//!
//! The history is a doubly linked list of call and return entries in real
//! time order. Walking it from the front, a call may be linearized if the
//! model accepts it in the current state: it is lifted out of the list and
//! the walk restarts at the front. Reaching the return of an operation not
//! yet linearized means the choices so far cannot be extended: backtrack to
//! the last choice and try the next call after it. Lowe's cache of
//! (linearized set, state) pairs cuts every branch that reaches a
//! configuration seen before: from equal configurations the futures are
//! equal.
//!
//! Pending operations (`info`, or never completed) have a call and no
//! return: they may be linearized at any point after their call, or never.
//! The search succeeds once every `ok` operation is linearized.
//!
//! Identical pending operations are interchangeable: if two equal pending
//! operations A (called first) and B exist, any linearization using B and
//! not A stays valid with A in B's place. So members of a group of equal
//! pending operations are linearized in call order only, which turns the
//! 2^k subsets of k equal `info` writes into k+1 prefixes.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Instant;

use hashbrown::HashTable;

use super::hash::FxHasher;
use super::model::Model;

/// One operation of a partition, prepared for the search.
#[derive(Debug, Clone)]
pub struct SearchOp<O> {
    /// The model's operation.
    pub op: O,
    /// Position of the invoke in the history.
    pub call: usize,
    /// Position of the `ok`; `None` for a pending operation.
    pub ret: Option<usize>,
}

/// Limits shared by the partitions of one check.
#[derive(Debug, Default)]
pub struct Budget {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up when the caches of all partitions hold more bytes than this.
    pub memory_bytes: Option<usize>,
    /// Bytes held by the caches now.
    pub used_bytes: AtomicUsize,
    /// Set (to 1 + the `Exhausted` variant's index) to make every search
    /// give up: a limit was hit elsewhere.
    pub stop: AtomicU8,
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exhausted {
    /// `--time-limit` was reached.
    TimeLimit,
    /// `--memory-limit` was reached.
    MemoryLimit,
}

impl std::fmt::Display for Exhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exhausted::TimeLimit => "time limit reached",
            Exhausted::MemoryLimit => "memory limit reached",
        })
    }
}

/// The result of searching one partition; operations are indices into the
/// partition's `SearchOp`s.
#[derive(Debug, Clone)]
pub enum Outcome<S> {
    /// A linearization: every `ok` operation and the pending ones it uses,
    /// in order.
    Valid(Vec<usize>),
    /// No linearization exists.
    Invalid {
        /// The longest linearizable prefix found.
        prefix: Vec<usize>,
        /// The operation that could not be linearized after it.
        op: usize,
        /// The model states possible after that prefix's operations.
        states: Vec<S>,
    },
    /// A limit was reached first.
    Unknown(Exhausted),
}

/// Counters of one search, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Steps of the model tried.
    pub steps: u64,
    /// Configurations in the cache at the end.
    pub configurations: u64,
    /// Backtracks.
    pub backtracks: u64,
}

/// Toggles of the search's optimizations, so that each can be measured.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Linearize equal pending operations in call order only.
    pub group_identical_pending: bool,
    /// Drop the pending operations the model calls needless.
    pub prune_needless_pending: bool,
    /// Take a read-only operation the state satisfies without branching.
    pub greedy_reads: bool,
    /// Abandon a configuration where a callable read can no longer be
    /// satisfied before its return ([`Model::satisfiable`]).
    pub prune_hopeless_reads: bool,
    /// Try the operation whose return comes next first, then those that
    /// enable it (just-in-time linearization).
    pub due_first: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            group_identical_pending: true,
            prune_needless_pending: true,
            greedy_reads: true,
            prune_hopeless_reads: true,
            due_first: true,
        }
    }
}

const NONE: u32 = u32::MAX;
const HEAD: u32 = 0;

/// The deepest dead end met: the evidence of an invalid partition.
struct DeadEnd {
    /// The operations linearized, in order.
    prefix: Vec<u32>,
    /// The operation whose return was reached unlinearized.
    op: u32,
    /// The linearized set.
    bits: Box<[u64]>,
}

/// A cache entry; its linearized set lives in the cache's arena of words
/// (one allocation for all entries, not one each).
struct MemoEntry<S> {
    hash: u64,
    /// Offset of its set in the arena.
    bits: usize,
    state: S,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The doubly linked list of call and return entries (Knuth's dancing
/// links: a lifted entry keeps its own links, so it can be put back).
struct Entries {
    /// Operation of each entry; entry 0 is the head.
    op: Vec<u32>,
    is_call: Vec<bool>,
    next: Vec<u32>,
    prev: Vec<u32>,
    call_of: Vec<u32>,
    ret_of: Vec<u32>,
}

impl Entries {
    fn new<O>(ops: &[SearchOp<O>]) -> Self {
        let mut order: Vec<(usize, u32, bool)> = Vec::with_capacity(ops.len() * 2);
        for (i, o) in ops.iter().enumerate() {
            order.push((o.call, i as u32, true));
            if let Some(r) = o.ret {
                order.push((r, i as u32, false));
            }
        }
        order.sort_unstable_by_key(|e| e.0);
        let n = order.len() + 1;
        let mut e = Entries {
            op: vec![NONE; n],
            is_call: vec![false; n],
            next: (1..=n as u32).collect(),
            prev: (0..n as u32).map(|i| i.wrapping_sub(1)).collect(),
            call_of: vec![NONE; ops.len()],
            ret_of: vec![NONE; ops.len()],
        };
        e.next[n - 1] = NONE;
        e.prev[0] = NONE;
        for (k, &(_, op, call)) in order.iter().enumerate() {
            let idx = k + 1;
            e.op[idx] = op;
            e.is_call[idx] = call;
            if call {
                e.call_of[op as usize] = idx as u32;
            } else {
                e.ret_of[op as usize] = idx as u32;
            }
        }
        e
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.prev[i as usize], self.next[i as usize]);
        self.next[p as usize] = n;
        if n != NONE {
            self.prev[n as usize] = p;
        }
    }

    fn relink(&mut self, i: u32) {
        let (p, n) = (self.prev[i as usize], self.next[i as usize]);
        self.next[p as usize] = i;
        if n != NONE {
            self.prev[n as usize] = i;
        }
    }

    fn lift(&mut self, op: usize) {
        self.unlink(self.call_of[op]);
        if self.ret_of[op] != NONE {
            self.unlink(self.ret_of[op]);
        }
    }

    fn unlift(&mut self, op: usize) {
        if self.ret_of[op] != NONE {
            self.relink(self.ret_of[op]);
        }
        self.relink(self.call_of[op]);
    }
}

fn state_hash<S: Hash>(s: &S) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// One configuration on the search path: the choices left to try from it.
struct Frame<S> {
    /// The operation linearized to reach it, and the state before that;
    /// `None` for the initial configuration.
    via: Option<(u32, S)>,
    /// Its candidates, the operations that may be linearized next in the
    /// order to try them, are `cands[next..end]` of the shared candidate
    /// stack (frames are LIFO, so their candidates are too).
    next: usize,
    /// End of its candidates.
    end: usize,
    /// The operation whose return comes first in what is left of the
    /// history: it must be linearized before anything returns.
    due: u32,
}

/// Buffers reused by every configuration of one search.
struct Scratch<'a, O> {
    /// The operations that may still precede a read.
    before: Vec<&'a O>,
    /// Reads to check in the current walk, by operation.
    marked: Vec<bool>,
    /// Candidates to try first.
    first: Vec<u32>,
    /// The other candidates.
    rest: Vec<u32>,
}

/// Searches one partition for a linearization of `ops` against `model`.
pub fn search<'o, M: Model>(
    model: &M,
    ops: &'o [SearchOp<M::Op>],
    budget: &Budget,
    tuning: Tuning,
) -> (Outcome<M::State>, Stats) {
    let n = ops.len();
    let mut stats = Stats::default();
    let mut entries = Entries::new(ops);
    let words = n.div_ceil(64).max(1);
    let mut bits = vec![0u64; words];
    let zobrist: Vec<u64> = (0..n as u64).map(splitmix).collect();
    let mut zob = 0u64;

    // Equal pending operations: each may only follow its predecessor.
    let mut group_prev = vec![NONE; n];
    if tuning.group_identical_pending {
        let mut last: std::collections::HashMap<&M::Op, u32, super::hash::FxBuild> =
            Default::default();
        let mut by_call: Vec<usize> = (0..n).filter(|&i| ops[i].ret.is_none()).collect();
        by_call.sort_unstable_by_key(|&i| ops[i].call);
        for i in by_call {
            if let Some(p) = last.insert(&ops[i].op, i as u32) {
                group_prev[i] = p;
            }
        }
    }
    let read_only: Vec<bool> = ops.iter().map(|o| model.is_read_only(&o.op)).collect();

    let mut remaining_ok = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut state = model.init();
    // Most histories need about one configuration per operation.
    let mut memo: HashTable<MemoEntry<M::State>> = HashTable::with_capacity(n + 1);
    let mut arena: Vec<u64> = Vec::with_capacity((n + 1) * words);
    // An entry, its set, and the table's control byte and slack.
    let entry_bytes = std::mem::size_of::<MemoEntry<M::State>>() * 8 / 7 + words * 8 + 2;
    let mut unflushed_bytes = 0usize;
    // Everything charged so far, flushed or not: entries plus the heap their
    // states own (a kv append state is a string as long as the history).
    let mut charged_bytes = 0usize;
    let mut deepest: Option<DeadEnd> = None;
    let release = |charged: usize, unflushed: usize| {
        budget
            .used_bytes
            .fetch_sub(charged.saturating_sub(unflushed), Ordering::Relaxed);
    };

    if remaining_ok == 0 {
        return (Outcome::Valid(Vec::new()), stats);
    }

    // The choices at the current configuration. Walking the list from the
    // front, the calls met before the first return are the operations that
    // may go next (Wing & Gong); that return's operation is due.
    //
    // A read-only operation that the current state satisfies is taken
    // alone, without alternatives: in any linearization from here it can
    // be moved to the front (it is minimal, it sees this state, and it
    // changes no state where it was), so no choice is lost.
    //
    // Otherwise the due operation is tried first, then operations after
    // which the due one can follow, then the rest (Lowe's just-in-time
    // linearization: commit to an order only when a return forces it).
    // The candidates are the same as Wing & Gong's; only their order differs.
    let choices = |entries: &Entries,
                   bits: &[u64],
                   state: &M::State,
                   stats: &mut Stats,
                   cands: &mut Vec<u32>,
                   scratch: &mut Scratch<'o, M::Op>|
     -> u32 {
        let start = cands.len();
        let mut due = NONE;
        let mut e = entries.next[HEAD as usize];
        while e != NONE {
            let op = entries.op[e as usize];
            if !entries.is_call[e as usize] {
                due = op;
                break;
            }
            let gp = group_prev[op as usize];
            if gp == NONE || bits[gp as usize / 64] & (1 << (gp % 64)) != 0 {
                cands.push(op);
            }
            e = entries.next[e as usize];
        }
        if tuning.greedy_reads {
            for k in start..cands.len() {
                let c = cands[k];
                if read_only[c as usize] {
                    stats.steps += 1;
                    if model.step(state, &ops[c as usize].op).is_some() {
                        cands.truncate(start);
                        cands.push(c);
                        return due;
                    }
                }
            }
        }
        if tuning.prune_hopeless_reads {
            // Reads the state does not satisfy now, checked in one walk:
            // the operations that may still precede a read are the calls
            // met before its return.
            let mut unsatisfied = 0usize;
            for &c in &cands[start..] {
                let c = c as usize;
                if read_only[c] && entries.ret_of[c] != NONE {
                    stats.steps += 1;
                    if model.step(state, &ops[c].op).is_none() {
                        scratch.marked[c] = true;
                        unsatisfied += 1;
                    }
                }
            }
            let mut dead = NONE;
            scratch.before.clear();
            let mut e = entries.next[HEAD as usize];
            while e != NONE && unsatisfied > 0 {
                let o = entries.op[e as usize] as usize;
                if entries.is_call[e as usize] {
                    if !read_only[o] {
                        scratch.before.push(&ops[o].op);
                    }
                } else if scratch.marked[o] {
                    scratch.marked[o] = false;
                    unsatisfied -= 1;
                    if dead == NONE && !model.satisfiable(state, &ops[o].op, &scratch.before) {
                        dead = o as u32;
                    }
                }
                e = entries.next[e as usize];
            }
            if dead != NONE {
                // A dead end: no choice can work.
                cands.truncate(start);
                return dead;
            }
        }
        if tuning.due_first && due != NONE {
            scratch.first.clear();
            scratch.rest.clear();
            scratch.first.push(due);
            let due_op = &ops[due as usize].op;
            stats.steps += 1;
            let due_now = model.step(state, due_op).is_some();
            for &c in &cands[start..] {
                if c == due {
                    continue;
                }
                let enables = !due_now && {
                    stats.steps += 2;
                    model
                        .step(state, &ops[c as usize].op)
                        .is_some_and(|s| model.step(&s, due_op).is_some())
                };
                if enables {
                    scratch.first.push(c);
                } else {
                    scratch.rest.push(c);
                }
            }
            cands.truncate(start);
            cands.extend_from_slice(&scratch.first);
            cands.extend_from_slice(&scratch.rest);
        }
        due
    };

    let mut cands: Vec<u32> = Vec::new();
    let mut scratch = Scratch {
        before: Vec::new(),
        marked: vec![false; n],
        first: Vec::new(),
        rest: Vec::new(),
    };
    let due = choices(
        &entries,
        &bits,
        &state,
        &mut stats,
        &mut cands,
        &mut scratch,
    );
    let mut frames: Vec<Frame<M::State>> = vec![Frame {
        via: None,
        next: 0,
        end: cands.len(),
        due,
    }];
    let mut tick = 0u32;
    loop {
        tick = tick.wrapping_add(1);
        if tick % 256 == 0 {
            if unflushed_bytes > 0 {
                budget
                    .used_bytes
                    .fetch_add(unflushed_bytes, Ordering::Relaxed);
                unflushed_bytes = 0;
            }
            let stopped = budget.stop.load(Ordering::Relaxed);
            let reason = if stopped != 0 {
                // Another partition hit a limit: this one is unknown too.
                Some(if stopped == 2 {
                    Exhausted::MemoryLimit
                } else {
                    Exhausted::TimeLimit
                })
            } else if budget.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(Exhausted::TimeLimit)
            } else if budget
                .memory_bytes
                .is_some_and(|m| budget.used_bytes.load(Ordering::Relaxed) > m)
            {
                Some(Exhausted::MemoryLimit)
            } else {
                None
            };
            if let Some(r) = reason {
                let code = if r == Exhausted::MemoryLimit { 2 } else { 1 };
                budget.stop.store(code, Ordering::Relaxed);
                stats.configurations = memo.len() as u64;
                release(charged_bytes, unflushed_bytes);
                return (Outcome::Unknown(r), stats);
            }
        }
        let top = frames
            .last_mut()
            .expect("the initial frame is never popped here");
        if top.next < top.end {
            let op = cands[top.next] as usize;
            top.next += 1;
            stats.steps += 1;
            let Some(next) = model.step(&state, &ops[op].op) else {
                continue;
            };
            bits[op / 64] |= 1 << (op % 64);
            zob ^= zobrist[op];
            let h = (zob ^ state_hash(&next).wrapping_mul(0x2545_f491_4f6c_dd1d)).rotate_left(17);
            let seen = memo
                .find(h, |e| {
                    e.hash == h && e.state == next && arena[e.bits..e.bits + words] == *bits
                })
                .is_some();
            if seen {
                bits[op / 64] &= !(1 << (op % 64));
                zob ^= zobrist[op];
                continue;
            }
            memo.insert_unique(
                h,
                MemoEntry {
                    hash: h,
                    bits: arena.len(),
                    state: next.clone(),
                },
                |e| e.hash,
            );
            arena.extend_from_slice(&bits);
            let bytes = entry_bytes + model.state_heap_bytes(&next);
            unflushed_bytes += bytes;
            charged_bytes += bytes;
            entries.lift(op);
            if ops[op].ret.is_some() {
                remaining_ok -= 1;
            }
            let prev = std::mem::replace(&mut state, next);
            if remaining_ok == 0 {
                stats.configurations = memo.len() as u64;
                release(charged_bytes, unflushed_bytes);
                let mut lin: Vec<usize> = frames
                    .iter()
                    .filter_map(|f| f.via.as_ref().map(|v| v.0 as usize))
                    .collect();
                lin.push(op);
                return (Outcome::Valid(lin), stats);
            }
            let next_cand = cands.len();
            let due = choices(
                &entries,
                &bits,
                &state,
                &mut stats,
                &mut cands,
                &mut scratch,
            );
            frames.push(Frame {
                via: Some((op as u32, prev)),
                next: next_cand,
                end: cands.len(),
                due,
            });
            continue;
        }
        // Every choice from this configuration failed: a dead end.
        let due = top.due;
        let depth = frames.len() - 1;
        if due != NONE && deepest.as_ref().is_none_or(|d| depth > d.prefix.len()) {
            deepest = Some(DeadEnd {
                prefix: frames
                    .iter()
                    .filter_map(|f| f.via.as_ref().map(|v| v.0))
                    .collect(),
                op: due,
                bits: bits.clone().into_boxed_slice(),
            });
        }
        stats.backtracks += 1;
        let frame = frames.pop().expect("non-empty");
        cands.truncate(frames.last().map_or(0, |f| f.end));
        let Some((op, prev_state)) = frame.via else {
            break;
        };
        let op = op as usize;
        state = prev_state;
        bits[op / 64] &= !(1 << (op % 64));
        zob ^= zobrist[op];
        entries.unlift(op);
        if ops[op].ret.is_some() {
            remaining_ok += 1;
        }
    }

    stats.configurations = memo.len() as u64;
    release(charged_bytes, unflushed_bytes);
    let (prefix, op, states) = match deepest {
        Some(DeadEnd {
            prefix,
            op,
            bits: dbits,
        }) => {
            let mut states: Vec<M::State> = memo
                .iter()
                .filter(|e| arena[e.bits..e.bits + words] == *dbits)
                .map(|e| e.state.clone())
                .collect();
            if prefix.is_empty() {
                states.push(model.init());
            }
            let prefix = prefix.into_iter().map(|o| o as usize).collect();
            (prefix, op as usize, states)
        }
        // Unreachable with an ok operation left: some frame had one due.
        None => (
            Vec::new(),
            ops.iter().position(|o| o.ret.is_some()).unwrap_or(0),
            vec![model.init()],
        ),
    };
    (Outcome::Invalid { prefix, op, states }, stats)
}
