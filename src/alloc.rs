//! The binary's allocator: glibc's, with mimalloc for `fleet`'s small blocks.
//!
//! `fleet` reads thousands of reports, each thousands of small allocations (typed findings,
//! strings, JSON evidence). With glibc's malloc, allocating and freeing was a quarter of its
//! time; mimalloc takes a third off its CPU time (BENCHMARKS.md). A scan keeps glibc's: its
//! largest blocks are a hostile endpoint's capped bodies, which glibc grows in place
//! (`mremap`) and returns to the kernel when freed, where mimalloc's copies of each doubling
//! took a scan past the hostile suite's peak-RSS bound. So mimalloc is switched on by the
//! command that gains from it ([`small_blocks_from_mimalloc`]), and only for blocks under
//! [`LARGE`].
//!
//! Each block returns to the allocator that gave it: a large one is always glibc's (its size,
//! which `GlobalAlloc`'s contract gives again at `dealloc` and `realloc`, says so), and a small
//! one is mimalloc's exactly when it lies in mimalloc's reserved memory (its page map, the
//! check `mi_is_in_heap_region` makes), which a block from glibc never does. Blocks allocated
//! before the switch (the runtime's, the parsed arguments) are glibc's and freed by glibc.
//! Hand-written because no crate combines two allocators by size and by a switch; it is the
//! only `unsafe` of the binary's own.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

use mimalloc::MiMalloc;

/// From this size up, a block is always glibc's.
pub const LARGE: usize = 256 * 1024;

/// Whether new small blocks come from mimalloc. Never switched off: a block's owner is read
/// from where it lies, not from this.
static MIMALLOC: AtomicBool = AtomicBool::new(false);

/// New blocks under [`LARGE`] come from mimalloc from now on (in a binary whose global
/// allocator is [`Allocator`]; elsewhere nothing changes).
pub fn small_blocks_from_mimalloc() {
    // mimalloc sets itself up (its page map included) on its first allocation; the lookup in
    // `dealloc` must not come first.
    let layout = Layout::new::<u64>();
    // SAFETY: a non-zero size, freed by the allocator that gave it.
    unsafe {
        let first = MiMalloc.alloc(layout);
        if first.is_null() {
            return;
        }
        MiMalloc.dealloc(first, layout);
    }
    MIMALLOC.store(true, Ordering::Relaxed);
}

/// The global allocator (`src/main.rs`).
pub struct Allocator;

impl Allocator {
    /// Whether new blocks of `size` come from mimalloc.
    fn mimalloc_for(size: usize) -> bool {
        size < LARGE && MIMALLOC.load(Ordering::Relaxed)
    }

    /// Whether the block at `ptr` of `size` is mimalloc's.
    fn owned_by_mimalloc(ptr: *mut u8, size: usize) -> bool {
        // SAFETY: a read-only lookup in mimalloc's page map, valid for any address.
        size < LARGE && MIMALLOC.load(Ordering::Relaxed) && unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
    }
}

// SAFETY: every block is freed or resized by the allocator that gave it (see the module
// docs); a block that changes allocator in `realloc` is allocated by the new one, copied, and
// freed by the old.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees (a non-zero size) pass through.
        unsafe {
            if Self::mimalloc_for(layout.size()) {
                MiMalloc.alloc(layout)
            } else {
                System.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if Self::mimalloc_for(layout.size()) {
                MiMalloc.alloc_zeroed(layout)
            } else {
                System.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated with `layout` (the caller's guarantee), by the allocator
        // the lookup names.
        unsafe {
            if Self::owned_by_mimalloc(ptr, layout.size()) {
                MiMalloc.dealloc(ptr, layout)
            } else {
                System.dealloc(ptr, layout)
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let from = Self::owned_by_mimalloc(ptr, layout.size());
        let to = Self::mimalloc_for(new_size);
        // SAFETY: the caller's guarantees (`layout` is the block's, `new_size` is valid for its
        // alignment) pass through; a block that changes allocator is copied before the old
        // one frees it.
        unsafe {
            match (from, to) {
                (true, true) => MiMalloc.realloc(ptr, layout, new_size),
                (false, false) => System.realloc(ptr, layout, new_size),
                _ => {
                    let moved = Layout::from_size_align_unchecked(new_size, layout.align());
                    let new = self.alloc(moved);
                    if !new.is_null() {
                        std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The allocator's rules, called directly (the test binary's own allocator is glibc's):
    /// blocks of every size, before and after the switch, resized across [`LARGE`] both
    /// ways, keep their bytes and go back to their owner (a wrong owner aborts the process).
    #[test]
    fn every_block_returns_to_its_allocator() {
        let a = Allocator;
        let fill = |p: *mut u8, n: usize| {
            for i in 0..n {
                // SAFETY: `p` holds at least `n` bytes.
                unsafe { p.add(i).write(i as u8) };
            }
        };
        let holds = |p: *mut u8, n: usize| (0..n).all(|i| unsafe { p.add(i).read() } == i as u8);
        let sizes = [1, 24, 4096, LARGE - 1, LARGE, 4 * LARGE];
        let mut before = Vec::new();
        for &size in &sizes {
            let layout = Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u8>());
            // SAFETY: non-zero sizes.
            let p = unsafe { a.alloc(layout) };
            assert!(!p.is_null());
            fill(p, size);
            before.push((p, layout));
        }
        small_blocks_from_mimalloc();
        for &(p, layout) in &before {
            assert!(
                !Allocator::owned_by_mimalloc(p, layout.size()),
                "a block from before is glibc's"
            );
        }
        for &size in &sizes {
            let layout = Layout::from_size_align(size, 16).unwrap_or(Layout::new::<u8>());
            // SAFETY: non-zero size; every resize below keeps the block's alignment.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(Allocator::owned_by_mimalloc(p, size), size < LARGE, "{size}");
                fill(p, size);
                let big = 2 * size + LARGE;
                let grown = a.realloc(p, layout, big);
                assert!(!grown.is_null() && holds(grown, size));
                assert!(!Allocator::owned_by_mimalloc(grown, big));
                let shrunk = a.realloc(grown, Layout::from_size_align_unchecked(big, 16), 100);
                assert!(!shrunk.is_null() && holds(shrunk, size.min(100)));
                assert!(Allocator::owned_by_mimalloc(shrunk, 100));
                a.dealloc(shrunk, Layout::from_size_align_unchecked(100, 16));
            }
        }
        for (p, layout) in before {
            assert!(holds(p, layout.size()));
            // SAFETY: allocated above with this layout.
            unsafe { a.dealloc(p, layout) };
        }
    }
}
