//! A kv history generator with a known verdict, after
//! `/work/shared/tools/gen_kv.py`: get, put and append on per-key string
//! values (every key starts as `""`), each operation taking effect at a
//! seeded random instant inside its interval, so the history is
//! linearizable by construction.
//!
//! A share of operations ends `info` (indeterminate): some of them took
//! effect, some did not, and the process that ran one is, as in Jepsen,
//! crashed: its client continues as a new process (`process + clients`).
//!
//! With `invalid`, one get returns a *stale* value, its key's value from
//! before a write `W` that completed before the get was invoked. Why no
//! linearization explains it: every written value is a unique segment
//! `x C N y`; `W` is linearized before the get; the key's state at the get
//! starts with the segment of the last put linearized before the get and
//! contains every append after it. If that put is `W` or earlier, the state
//! contains `W`'s segment, which the stale value lacks. If it is a later put
//! `X`, the state starts with `X`'s segment, and the get is only chosen when
//! no such `X` (one that could be linearized between `W` and the get) has a
//! segment in the stale value. When no get in the history qualifies, a put
//! `W1`, a put `W2` and a get reading `W1`'s value are appended at the end:
//! `W1`'s fresh segment cannot be the state after `W2`.

use std::fmt;

mod cli;

pub use cli::{run, GenHistoryArgs, OutputFormat};

use super::types::{Event, EventKind, History, Process, Value};

/// The largest history the generator makes, in operations.
pub const MAX_OPS: usize = 50_000_000;
/// The most clients the generator simulates.
pub const MAX_CLIENTS: usize = 100_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenOptions {
    /// Operations (each an invoke and a completion).
    pub ops: usize,
    /// Keys, named `"0"` to `"K-1"`.
    pub keys: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// The share of operations that end `info`, in `[0, 1]`.
    pub info_share: f64,
    /// Plant one stale read (module documentation).
    pub invalid: bool,
}

/// Invalid generator options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenError(pub String);

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenError {}

/// SplitMix64: a tiny, well-mixed generator whose output never changes with
/// a dependency's version, so a seed names one history forever.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Get,
    Put,
    Append,
}

impl Func {
    fn name(self) -> &'static str {
        match self {
            Func::Get => "get",
            Func::Put => "put",
            Func::Append => "append",
        }
    }
}

/// One planned operation.
struct Op {
    effect: f64,
    start: f64,
    end: f64,
    process: i64,
    f: Func,
    key: usize,
    /// The written value (put, append).
    written: String,
    info: bool,
    took_effect: bool,
    /// What a get read.
    read: Option<String>,
}

/// Generates a kv history (module documentation).
///
/// # Errors
/// [`GenError`] when an option is out of range.
pub fn generate_kv(opts: &GenOptions) -> Result<History, GenError> {
    if opts.ops > MAX_OPS {
        return Err(GenError(format!(
            "--ops {} is above the limit {MAX_OPS}",
            opts.ops
        )));
    }
    if opts.keys == 0 {
        return Err(GenError("--keys must be at least 1".to_string()));
    }
    if opts.clients == 0 || opts.clients > MAX_CLIENTS {
        return Err(GenError(format!(
            "--clients must be between 1 and {MAX_CLIENTS}, not {}",
            opts.clients
        )));
    }
    if !(0.0..=1.0).contains(&opts.info_share) {
        return Err(GenError(format!(
            "--info-share must be between 0 and 1, not {}",
            opts.info_share
        )));
    }
    let mut rng = SplitMix64(opts.seed);
    let clients = opts.clients;
    let mut t = vec![0.0f64; clients];
    let mut process: Vec<i64> = (0..clients as i64).collect();
    let mut counters = vec![0u64; clients];
    let mut plan = Vec::with_capacity(opts.ops);
    for _ in 0..opts.ops {
        // The least busy client, as gen_kv.py does (a random one when many).
        let c = if clients <= 64 {
            (0..clients).fold(0, |best, x| if t[x] < t[best] { x } else { best })
        } else {
            rng.below(clients)
        };
        let start = t[c] + rng.unit() * 0.2;
        let duration = 0.5 + rng.unit() * 2.0;
        let effect = start + rng.unit() * duration;
        let end = start + duration;
        t[c] = end;
        let key = rng.below(opts.keys);
        let f = [Func::Get, Func::Get, Func::Put, Func::Append, Func::Append][rng.below(5)];
        let written = if f == Func::Get {
            String::new()
        } else {
            counters[c] += 1;
            format!("x {} {} y", c, counters[c] - 1)
        };
        let info = rng.unit() < opts.info_share;
        let took_effect = !info || rng.below(2) == 0;
        plan.push(Op {
            effect,
            start,
            end,
            process: process[c],
            f,
            key,
            written,
            info,
            took_effect,
            read: None,
        });
        if info {
            // Jepsen: a process whose operation is indeterminate has crashed.
            process[c] += clients as i64;
        }
    }
    plan.sort_by(|a, b| a.effect.total_cmp(&b.effect));
    apply(&mut plan, opts.keys, opts.invalid);
    // Events in time order (an invoke before a completion at the same
    // instant); sorting small keys, not the events, keeps this fast.
    let mut order: Vec<(f64, bool, usize)> = Vec::with_capacity(plan.len() * 2);
    for (i, op) in plan.iter().enumerate() {
        order.push((op.start, false, i));
        order.push((op.end, true, i));
    }
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut events = Vec::with_capacity(order.len());
    for (line, &(time, completion, i)) in order.iter().enumerate() {
        let op = &plan[i];
        let (kind, value) = match (completion, op.f) {
            (false, Func::Get) => (EventKind::Invoke, Value::Null),
            (false, _) => (EventKind::Invoke, Value::String(op.written.clone())),
            (true, f) => {
                let kind = if op.info {
                    EventKind::Info
                } else {
                    EventKind::Ok
                };
                let value = match f {
                    Func::Get => op.read.clone().map_or(Value::Null, Value::String),
                    _ => Value::String(op.written.clone()),
                };
                (kind, value)
            }
        };
        events.push(Event {
            process: Process::Client(op.process),
            kind,
            f: op.f.name().to_string(),
            key: Some(Value::String(op.key.to_string())),
            value,
            time: Some((time * 1e9) as i64),
            index: None,
            line: line + 1,
        });
    }
    Ok(History { events })
}

/// Applies the operations in effect order, recording what gets read, and
/// plants the stale read when asked.
fn apply(plan: &mut Vec<Op>, keys: usize, invalid: bool) {
    let mut state = vec![String::new(); keys];
    // Per key: the plan index of the last write applied, and the state before it.
    let mut last_write: Vec<Option<(usize, String)>> = vec![None; keys];
    // Per key: the plan indexes of its puts.
    let mut puts: Vec<Vec<usize>> = vec![Vec::new(); keys];
    for (i, op) in plan.iter().enumerate() {
        if op.f == Func::Put {
            puts[op.key].push(i);
        }
    }
    let middle = plan.len() / 2;
    let mut planted = !invalid;
    for i in 0..plan.len() {
        let k = plan[i].key;
        match plan[i].f {
            Func::Get => {
                if plan[i].info {
                    continue;
                }
                let mut read = state[k].clone();
                if !planted && i >= middle {
                    if let Some((w, prev)) = &last_write[k] {
                        if stale_read_unexplainable(plan, &puts[k], *w, i, prev) {
                            read = prev.clone();
                            planted = true;
                        }
                    }
                }
                plan[i].read = Some(read);
            }
            Func::Put | Func::Append => {
                if !plan[i].took_effect {
                    continue;
                }
                let prev = state[k].clone();
                if plan[i].f == Func::Put {
                    state[k] = plan[i].written.clone();
                } else {
                    state[k].push_str(&plan[i].written);
                }
                last_write[k] = Some((i, prev));
            }
        }
    }
    if !planted {
        append_stale_read(plan);
    }
}

/// Whether get `g` reading `prev`, the state before write `w`, is a read no
/// linearization explains (module documentation).
fn stale_read_unexplainable(plan: &[Op], puts: &[usize], w: usize, g: usize, prev: &str) -> bool {
    let (write, get) = (&plan[w], &plan[g]);
    if write.info || write.end >= get.start {
        return false;
    }
    puts.iter().all(|&x| {
        let put = &plan[x];
        let may_follow_w = put.info || put.end > write.start;
        let may_precede_g = put.start < get.end;
        x == w || !(may_follow_w && may_precede_g) || !prev.contains(&put.written)
    })
}

/// Appends put `W1`, put `W2` and a get reading `W1`'s value, on key 0,
/// after everything else, by a fresh process.
fn append_stale_read(plan: &mut Vec<Op>) {
    let after = plan.iter().map(|op| op.end).fold(0.0, f64::max) + 1.0;
    let process = plan.iter().map(|op| op.process).max().map_or(0, |p| p + 1);
    let op = |n: f64, f, written: String, read| Op {
        effect: after + n + 0.5,
        start: after + n,
        end: after + n + 1.0,
        process,
        f,
        key: 0,
        written,
        info: false,
        took_effect: true,
        read,
    };
    let first = format!("x stale {process} y");
    plan.push(op(0.0, Func::Put, first.clone(), None));
    plan.push(op(
        2.0,
        Func::Put,
        format!("x stale {} y", process + 1),
        None,
    ));
    plan.push(op(4.0, Func::Get, String::new(), Some(first)));
}
