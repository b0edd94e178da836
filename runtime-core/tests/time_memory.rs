//! Feature `net`: the heap that pending timers cost, counted by a global
//! allocator that tracks live bytes: 100 000 `Sleep`s created and polled
//! once (each then holds its wheel entry), the `Sleep`s themselves counted
//! (they live in one `Vec`, as a task's future would hold them). The budget
//! is 100 bytes per pending timer. Alone in its binary: the allocator counts
//! every thread of the process.
#![cfg(all(feature = "net", not(miri), not(loom)))]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicIsize, Ordering},
    task::{Context, Waker},
    time::Duration,
};

use queue_flume::FlumeQueue;
use runtime_core::{Handle, Runtime, time};

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counter has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TIMERS: usize = 100_000;

#[test]
fn bytes_per_pending_timer() {
    let rt = Runtime::<FlumeQueue>::builder().worker_threads(1).build().unwrap();
    rt.block_on(async {
        // Warm up: the first poll of a sleep may allocate once per thread.
        let mut warm = time::sleep(Duration::from_secs(3600));
        assert!(Pin::new(&mut warm).poll(&mut Context::from_waker(Waker::noop())).is_pending());
        drop(warm);

        let before = LIVE.load(Ordering::SeqCst);
        let mut sleeps = Vec::with_capacity(TIMERS);
        for i in 0..TIMERS as u64 {
            let mut sleep = time::sleep(Duration::from_secs(3600 + i));
            assert!(Pin::new(&mut sleep).poll(&mut Context::from_waker(Waker::noop())).is_pending());
            sleeps.push(sleep);
        }
        let grown = LIVE.load(Ordering::SeqCst) - before;
        assert_eq!(Handle::current().metrics().timers, TIMERS);
        let per_timer = grown as f64 / TIMERS as f64;
        println!(
            "{TIMERS} pending sleeps: {grown} bytes of heap, {per_timer:.1} bytes each \
             ({} for the Sleep itself, the rest its wheel entry and the wheel's pages)",
            std::mem::size_of::<time::Sleep>()
        );
        assert!(per_timer <= 100.0, "{per_timer:.1} bytes per pending timer; the budget is 100");
        drop(sleeps);
        assert_eq!(Handle::current().metrics().timers, 0);
    });
}
