//! [`yield_now`]: let the other tasks run.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

/// Yields once: the task goes to the back of its worker's queue so that
/// others run first.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}
