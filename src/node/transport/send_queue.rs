//! A bounded queue of encoded frames for one peer, dropping the oldest frame
//! when full.
//!
//! A slow or dead peer must cost memory only up to a limit. Blocking the
//! producer (the core thread) would let one peer stall the cluster, so the
//! queue drops instead, which Paxos tolerates as message loss. It drops the
//! oldest frame: the newest carry the highest ballots and slots, the ones a
//! peer that comes back needs.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::sync::{Condvar, Mutex, MutexGuard};

/// Frames waiting for one peer's sender thread.
#[derive(Debug)]
pub struct SendQueue {
    state: Mutex<State>,
    changed: Condvar,
    max_frames: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    dropped: u64,
    closed: bool,
}

/// What [`SendQueue::push`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Queued, `dropped` older frames were discarded to make room.
    Queued {
        /// Older frames dropped by this push.
        dropped: usize,
    },
    /// The queue is closed; the frame was discarded.
    Closed,
}

impl SendQueue {
    /// A queue holding at most `max_frames` frames and `max_bytes` bytes
    /// (each at least 1).
    pub fn new(max_frames: usize, max_bytes: usize) -> SendQueue {
        SendQueue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            max_frames: max_frames.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves the queue consistent (every
        // mutation is a single push or pop), so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `frame`, dropping the oldest frames until both bounds hold. A
    /// frame larger than `max_bytes` on its own empties the queue and is then
    /// dropped too (counted), so the byte bound is never exceeded.
    pub fn push(&self, frame: Vec<u8>) -> Pushed {
        let mut s = self.lock();
        if s.closed {
            return Pushed::Closed;
        }
        let mut dropped = 0;
        while !s.frames.is_empty()
            && (s.frames.len() + 1 > self.max_frames || s.bytes + frame.len() > self.max_bytes)
        {
            if let Some(old) = s.frames.pop_front() {
                s.bytes -= old.len();
                dropped += 1;
            }
        }
        if frame.len() > self.max_bytes {
            dropped += 1;
        } else {
            s.bytes += frame.len();
            s.frames.push_back(frame);
        }
        s.dropped += dropped as u64;
        drop(s);
        self.changed.notify_all();
        Pushed::Queued { dropped }
    }

    /// Blocks until a frame is queued (true) or the queue is closed (false).
    pub fn wait_nonempty(&self) -> bool {
        let mut s = self.lock();
        loop {
            if s.closed {
                return false;
            }
            if !s.frames.is_empty() {
                return true;
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Moves up to `max` queued frames into `out` without blocking; returns
    /// how many.
    pub fn drain_into(&self, out: &mut Vec<Vec<u8>>, max: usize) -> usize {
        let mut s = self.lock();
        let n = s.frames.len().min(max);
        for frame in s.frames.drain(..n) {
            out.push(frame);
        }
        s.bytes = s.frames.iter().map(Vec::len).sum();
        n
    }

    /// Sleeps for `delay` or until the queue is closed; true if closed.
    pub fn sleep_unless_closed(&self, delay: Duration) -> bool {
        // A loop over `wait_timeout` (loom has no `wait_timeout_while`);
        // pushes also wake it, so it re-checks the deadline each time.
        let deadline = Instant::now() + delay;
        let mut s = self.lock();
        while !s.closed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.closed
    }

    /// Closes the queue: pending frames are discarded, waiters wake.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.frames.clear();
        s.bytes = 0;
        drop(s);
        self.changed.notify_all();
    }

    /// Frames queued now.
    pub fn len(&self) -> usize {
        self.lock().frames.len()
    }

    /// True if no frame is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes queued now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Frames dropped for want of room since the queue was made.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_oldest_and_keeps_both_bounds() {
        let q = SendQueue::new(3, 10);
        for i in 0..5u8 {
            q.push(vec![i; 2]);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        let mut out = Vec::new();
        q.drain_into(&mut out, 10);
        assert_eq!(out, vec![vec![2; 2], vec![3; 2], vec![4; 2]]);
        // The byte bound: 4 + 4 + 4 > 10 drops the first.
        for i in 0..3u8 {
            q.push(vec![i; 4]);
        }
        assert_eq!((q.len(), q.bytes()), (2, 8));
        assert_eq!(q.push(vec![9; 11]), Pushed::Queued { dropped: 3 });
        assert_eq!((q.len(), q.bytes()), (0, 0));
    }

    #[test]
    fn closed_queue_refuses_and_wakes() {
        let q = SendQueue::new(3, 10);
        q.push(vec![1]);
        q.close();
        assert!(!q.wait_nonempty());
        assert_eq!(q.push(vec![1]), Pushed::Closed);
        assert!(q.sleep_unless_closed(Duration::from_secs(60)));
    }
}
