//! The `block_on` loop: poll, and park the calling thread until woken. A
//! panic of the future resumes in the caller, with the hint for its cause
//! appended if it has a known one (`panic_policy.rs`).

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    pin::pin,
    task::{Context, Poll, Wake, Waker},
};

use crate::sync::Parker;

/// Wakes the thread in `block_on` through the facade's parker (so that loom
/// can model `block_on` too, which `futures_lite::future::block_on` cannot).
struct BlockOnWaker {
    parker: Parker,
}

impl Wake for BlockOnWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.parker.unpark();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.parker.unpark();
    }
}

/// Polls `future` on this thread until it is ready, parking in between.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker_state = std::sync::Arc::new(BlockOnWaker { parker: Parker::new() });
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx))) {
            Ok(Poll::Ready(output)) => return output,
            Ok(Poll::Pending) => {}
            Err(payload) => resume_unwind(crate::panic_policy::with_hint(payload)),
        }
        waker_state.parker.park();
    }
}
