//! A bounded, blocking, multi-producer single-consumer queue.
//!
//! Built only from [`crate::sync`] (`Mutex` + `Condvar`), so loom checks this
//! very code in `tests/loom_*.rs`. Bounded because every queue in the node is a
//! place where a slow consumer (a dead peer, a slow disk) would otherwise cost
//! unbounded memory: [`Sender::try_push`] reports a full queue instead of
//! growing it, and [`Sender::push`] blocks.
//!
//! Closing: either side may [`Sender::close`] / [`Receiver::close`]; dropping
//! the last sender or the receiver closes it too. After close, pushes fail
//! with [`PushError::Closed`] (the item is handed back), and the receiver
//! still drains what was queued before it sees the end (`None` / `0`), so
//! nothing accepted before the close is lost silently.

use std::collections::VecDeque;
use std::fmt;
use std::num::NonZeroUsize;

use crate::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Why a push did not enqueue its item; the item is handed back.
#[derive(PartialEq, Eq)]
pub enum PushError<T> {
    /// The queue holds `capacity` items (only from [`Sender::try_push`]).
    Full(T),
    /// The queue was closed, by either side or by dropping it.
    Closed(T),
}

impl<T> PushError<T> {
    /// The item that was not enqueued.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(item) | PushError::Closed(item) => item,
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("Full(..)"),
            PushError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => f.write_str("queue full"),
            PushError::Closed(_) => f.write_str("queue closed"),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
    senders: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when an item arrives or the queue closes.
    not_empty: Condvar,
    /// Signalled when an item leaves or the queue closes.
    not_full: Condvar,
    capacity: usize,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves `State` consistent (every
        // mutation is a single VecDeque/bool/usize operation), so a poisoned
        // lock is still safe to use: recover it rather than cascade panics.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        drop(state);
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }
}

/// Creates a queue holding at most `capacity` items.
pub fn channel<T>(capacity: NonZeroUsize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            closed: false,
            senders: 1,
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
        capacity: capacity.get(),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

/// The producing side; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Enqueues `item` unless the queue is full or closed; never blocks.
    pub fn try_push(&self, item: T) -> Result<(), PushError<T>> {
        let mut state = self.shared.lock();
        if state.closed {
            return Err(PushError::Closed(item));
        }
        if state.items.len() >= self.shared.capacity {
            return Err(PushError::Full(item));
        }
        state.items.push_back(item);
        drop(state);
        self.shared.not_empty.notify_one();
        Ok(())
    }

    /// Enqueues `item`, waiting while the queue is full.
    ///
    /// Fails only with [`PushError::Closed`].
    pub fn push(&self, item: T) -> Result<(), PushError<T>> {
        let mut state = self.shared.lock();
        loop {
            if state.closed {
                return Err(PushError::Closed(item));
            }
            if state.items.len() < self.shared.capacity {
                break;
            }
            state = self
                .shared
                .not_full
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
        }
        state.items.push_back(item);
        drop(state);
        self.shared.not_empty.notify_one();
        Ok(())
    }

    /// Closes the queue for everyone: pushes fail from now on, the receiver
    /// drains what is queued and then sees the end.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether the queue is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    /// Whether no item is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most items the queue holds.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if crate::sync::skip_sync_in_drop() {
            return;
        }
        let mut state = self.shared.lock();
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            // No producer is left: the receiver must not wait forever.
            self.shared.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

/// The consuming side (exactly one).
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the oldest item, waiting while the queue is empty and open.
    /// `None` once the queue is closed and drained.
    pub fn pop(&self) -> Option<T> {
        let mut state = self.shared.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                drop(state);
                self.shared.not_full.notify_one();
                return Some(item);
            }
            if state.closed {
                return None;
            }
            state = self
                .shared
                .not_empty
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
        }
    }

    /// Takes the oldest item if there is one; never blocks.
    pub fn try_pop(&self) -> Option<T> {
        let mut state = self.shared.lock();
        let item = state.items.pop_front();
        drop(state);
        if item.is_some() {
            self.shared.not_full.notify_one();
        }
        item
    }

    /// Group commit's intake: waits until at least one item is queued (or the
    /// queue is closed and drained), then moves up to `max` items, oldest
    /// first, onto the end of `out`. Returns how many it moved; 0 means closed
    /// and drained (or `max` is 0).
    pub fn pop_batch(&self, max: usize, out: &mut Vec<T>) -> usize {
        if max == 0 {
            return 0;
        }
        let mut state = self.shared.lock();
        loop {
            if !state.items.is_empty() {
                let n = state.items.len().min(max);
                out.extend(state.items.drain(..n));
                drop(state);
                // Several slots may have freed: wake every blocked producer.
                self.shared.not_full.notify_all();
                return n;
            }
            if state.closed {
                return 0;
            }
            state = self
                .shared
                .not_empty
                .wait(state)
                .unwrap_or_else(|poison| poison.into_inner());
        }
    }

    /// Closes the queue for everyone; queued items can still be popped.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether the queue is closed (items may still be queued).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Items queued now.
    pub fn len(&self) -> usize {
        self.shared.lock().items.len()
    }

    /// Whether no item is queued now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if crate::sync::skip_sync_in_drop() {
            return;
        }
        // Nobody will ever pop again: blocked and future pushers must fail.
        self.shared.close();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::thread;

    fn cap(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).expect("test capacity is non-zero")
    }

    #[test]
    fn try_push_reports_full_at_capacity() {
        let (tx, rx) = channel(cap(2));
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        assert_eq!(tx.try_push(3), Err(PushError::Full(3)));
        assert_eq!(rx.pop(), Some(1));
        tx.try_push(3).unwrap();
        assert_eq!(rx.len(), 2);
    }

    #[test]
    fn close_rejects_pushes_but_drains_queued_items() {
        let (tx, rx) = channel(cap(4));
        tx.push(1).unwrap();
        tx.push(2).unwrap();
        rx.close();
        assert_eq!(tx.push(3), Err(PushError::Closed(3)));
        assert_eq!(tx.try_push(4), Err(PushError::Closed(4)));
        assert_eq!(rx.pop(), Some(1));
        assert_eq!(rx.pop(), Some(2));
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn dropping_last_sender_ends_the_receiver() {
        let (tx, rx) = channel::<u32>(cap(1));
        let tx2 = tx.clone();
        drop(tx);
        assert!(!rx.is_closed());
        drop(tx2);
        assert_eq!(rx.pop(), None);
    }

    #[test]
    fn dropping_receiver_fails_blocked_push() {
        let (tx, rx) = channel(cap(1));
        tx.push(0).unwrap();
        let pusher = thread::spawn(move || tx.push(1));
        drop(rx);
        assert_eq!(pusher.join().unwrap(), Err(PushError::Closed(1)));
    }

    #[test]
    fn pop_batch_takes_at_most_max_in_order() {
        let (tx, rx) = channel(cap(8));
        for i in 0..5 {
            tx.push(i).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(rx.pop_batch(3, &mut out), 3);
        assert_eq!(rx.pop_batch(3, &mut out), 2);
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
        tx.close();
        assert_eq!(rx.pop_batch(3, &mut out), 0);
    }

    #[test]
    fn blocking_push_and_pop_deliver_every_item_in_order() {
        let (tx, rx) = channel(cap(2));
        let producer = thread::spawn(move || {
            for i in 0..1000 {
                tx.push(i).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(i) = rx.pop() {
            got.push(i);
        }
        producer.join().unwrap();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }
}
