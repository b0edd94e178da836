//! The cooperative budget: a task whose sockets are always ready cannot hold
//! its worker (feature `net`).
//!
//! An edge-triggered driver keeps a socket's readiness until an operation
//! finds it drained, so a task that reads a socket that a peer floods (or
//! accepts from a listener that connections keep reaching) may never see
//! `Pending`: without a limit it would keep its worker forever, and every
//! other task queued there would wait behind it. As in tokio's `task/coop`,
//! each poll of a task by a worker gets a budget of [`BUDGET`] units; every
//! operation of the driver (a read, a write, an accept, a `recv`/`send`, a
//! readiness wait) that completes spends one, and once none is left every
//! such operation wakes its task (`wake_by_ref`) and returns `Pending`: the
//! task is rescheduled like one that yielded, behind the others.
//!
//! # Who sets it
//! The worker, around each `Runnable::run` ([`budget`]): the previous value is
//! restored when the guard drops, so the budget is per poll. Everywhere else
//! (`Runtime::block_on`, a plain thread, another executor) there is no
//! budget: operations never yield for it.
//!
//! # What counts
//! An operation spends its unit only if it completes ([`Proceed::made_progress`]);
//! one that returns `Pending` because its socket is not ready gives the unit
//! back when its [`Proceed`] drops, so a task that only waits spends nothing.
//!
//! The state is one thread-local `Cell`, touched only by the thread that owns
//! it: no atomics, nothing shared.

use std::{
    cell::Cell,
    task::{Context, Poll},
};

/// Units per poll, as in tokio.
pub(crate) const BUDGET: u8 = 128;

std::thread_local! {
    /// The units left in the current poll; `None`: no budget (not inside a
    /// worker's poll).
    static LEFT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Gives the task this worker is about to poll a full budget, until the
/// guard drops (which restores the previous value: nested polls, such as a
/// `block_on` inside a blocking closure, keep their own).
pub(crate) fn budget() -> BudgetGuard {
    let previous = LEFT.try_with(|left| left.replace(Some(BUDGET))).ok().flatten();
    BudgetGuard { previous }
}

/// Restores the budget that was current before [`budget`].
#[derive(Debug)]
pub(crate) struct BudgetGuard {
    previous: Option<u8>,
}

impl BudgetGuard {
    /// Whether the poll spent the whole budget (its task was made to yield,
    /// or its last operation took the last unit): the worker then polls
    /// the I/O driver before it runs the task again, so that the others'
    /// readiness is not left uncollected behind a task that is always ready
    /// (tokio defers such a task until its driver is polled, for the same
    /// reason).
    pub(crate) fn exhausted(&self) -> bool {
        LEFT.try_with(|left| left.get() == Some(0)).unwrap_or(false)
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let _ = LEFT.try_with(|left| left.set(self.previous));
    }
}

/// Before an operation of the driver: spends a unit and returns a
/// [`Proceed`], or, with the budget spent, wakes the task and returns
/// `Pending`. Call [`Proceed::made_progress`] once the operation completed;
/// dropping the `Proceed` without it gives the unit back.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<Proceed> {
    let spent = LEFT
        .try_with(|left| match left.get() {
            None => Some(false),
            Some(0) => None,
            Some(n) => {
                left.set(Some(n - 1));
                Some(true)
            }
        })
        // The thread is exiting: no budget.
        .unwrap_or(Some(false));
    match spent {
        Some(spent) => Poll::Ready(Proceed { spent }),
        None => {
            // Rescheduled behind the others: this is a yield.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A unit spent on an operation in progress: see [`poll_proceed`].
#[derive(Debug)]
#[must_use = "dropping it gives the unit back at once"]
pub(crate) struct Proceed {
    /// A unit was taken (there is a budget); `false` outside a worker's poll.
    spent: bool,
}

impl Proceed {
    /// The operation completed: the unit stays spent.
    pub(crate) fn made_progress(mut self) {
        self.spent = false;
    }
}

impl Drop for Proceed {
    fn drop(&mut self) {
        if self.spent {
            let _ = LEFT.try_with(|left| {
                if let Some(n) = left.get() {
                    left.set(Some(n.saturating_add(1).min(BUDGET)));
                }
            });
        }
    }
}

/// The units left in this thread's current poll (`None`: no budget).
#[cfg(test)]
pub(crate) fn left() -> Option<u8> {
    LEFT.try_with(Cell::get).ok().flatten()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::task::Waker;

    use super::*;

    #[test]
    fn no_budget_outside_a_poll() {
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..1000 {
            match poll_proceed(&mut cx) {
                Poll::Ready(proceed) => proceed.made_progress(),
                Poll::Pending => panic!("an operation outside a worker's poll yielded"),
            }
        }
        assert_eq!(left(), None);
    }

    #[test]
    fn spent_units_run_out_and_pending_gives_back() {
        let mut cx = Context::from_waker(Waker::noop());
        let guard = budget();
        // An operation that did not complete gives its unit back.
        drop(poll_proceed(&mut cx));
        assert_eq!(left(), Some(BUDGET));
        for _ in 0..BUDGET {
            match poll_proceed(&mut cx) {
                Poll::Ready(proceed) => proceed.made_progress(),
                Poll::Pending => panic!("the budget ran out early"),
            }
        }
        assert_eq!(left(), Some(0));
        assert!(poll_proceed(&mut cx).is_pending(), "an operation past the budget completed");
        drop(guard);
        assert_eq!(left(), None, "the guard restores the previous budget");
    }
}
