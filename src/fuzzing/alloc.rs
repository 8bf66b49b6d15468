//! A global allocator that remembers the largest single allocation made on
//! each thread, so a target can check that a decoder never allocates more
//! than its limit for a hostile length field. Installed by the fuzz crate
//! (`#[global_allocator]`); without it [`largest`] stays 0 and the check is
//! vacuous (the replay tests run the bodies without it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| {
        if size > c.get() {
            c.set(size);
        }
    });
}

/// Forgets the largest allocation seen so far on this thread.
pub fn reset() {
    let _ = LARGEST.try_with(|c| c.set(0));
}

/// The largest allocation on this thread since [`reset`] (0 if [`Tracking`]
/// is not the global allocator).
pub fn largest() -> usize {
    LARGEST.try_with(Cell::get).unwrap_or(0)
}

/// The system allocator, noting each request's size.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracking;

// SAFETY: every method forwards to `System` unchanged; `note` only touches a
// const-initialized thread-local `Cell` (no allocation, no destructor).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
