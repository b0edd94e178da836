//! [`TaskGroup`]: many tasks, joined in completion order (tokio's `JoinSet`).
//!
//! # How it knows the order
//! Each task's future is wrapped with a guard that, when the future is
//! dropped (which the task wrapper does right after it completes or panics,
//! and which cancellation does too), pushes the task's key onto the group's
//! `done` list and takes the group's waker out, then wakes it *after*
//! releasing the lock. `join_next` pops keys in that order and polls just
//! that task, which is finished or about to be (its output is stored right
//! after its future is dropped). Keys carry a generation, so a key that
//! arrives after its task left the group (aborted) is recognised and skipped
//! even if its slot was reused. Such stale keys are also pruned when a task
//! is added and they outnumber the tasks in the group by more than
//! [`STALE_KEYS`], so that a group that keeps spawning and aborting holds
//! no more keys than about twice its tasks.

use std::{
    collections::VecDeque,
    fmt,
    future::{Future, poll_fn},
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    pin::Pin,
    task::{Context, Poll, Waker},
};

use futures_lite::FutureExt;
use slab::Slab;

use crate::{
    handle::Handle,
    queue::Priority,
    sync::{Arc, Mutex},
    task::{FallibleTask, Task},
};

/// How many more keys than tasks the `done` list may hold before a spawn
/// prunes the keys of tasks that left the group.
const STALE_KEYS: usize = 64;

/// A set of tasks whose outputs come back in the order the tasks finish.
///
/// ```
/// # use queue_flume::FlumeQueue;
/// use runtime_core::{Runtime, TaskGroup};
///
/// # let rt = Runtime::<FlumeQueue>::builder().worker_threads(2).build()?;
/// let sum = rt.block_on(async {
///     let mut group = TaskGroup::new();
///     for i in 1..=10u64 {
///         group.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(square) = group.join_next().await {
///         sum += square;
///     }
///     sum
/// });
/// assert_eq!(sum, 385);
/// # Ok::<(), runtime_core::BuildError>(())
/// ```
///
/// - A task's panic resumes in `join_next`, as it would when awaiting its
///   [`Task`]; a task cancelled by its runtime's shutdown is skipped.
/// - Dropping the group cancels every task still in it; so does
///   [`abort_all`](TaskGroup::abort_all), and [`shutdown`](TaskGroup::shutdown)
///   also waits until they have stopped.
pub struct TaskGroup<T> {
    /// The tasks still in the group, with the generation of their key.
    tasks: Slab<(u64, FallibleTask<T>)>,
    /// The key `join_next` is waiting on (its task finished or is finishing).
    current: Option<usize>,
    /// The generation the next spawned task gets.
    next_generation: u64,
    done: Arc<Done>,
}

/// Keys of finished tasks, in the order they finished, and the waker of
/// the `join_next` that waits for one.
#[derive(Default)]
struct Done {
    inner: Mutex<DoneInner>,
}

#[derive(Default)]
struct DoneInner {
    keys: VecDeque<(usize, u64)>,
    waker: Option<Waker>,
}

/// Dropped with the task's future: reports the task as finished.
struct Finished {
    done: Arc<Done>,
    key: (usize, u64),
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut inner = self.done.inner.lock();
        inner.keys.push_back(self.key);
        let waker = inner.waker.take();
        drop(inner);
        // Woken with no lock held.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Default for TaskGroup<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for TaskGroup<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup").field("len", &self.len()).finish()
    }
}

impl<T> TaskGroup<T> {
    /// An empty group.
    pub fn new() -> Self {
        Self { tasks: Slab::new(), current: None, next_generation: 0, done: Arc::new(Done::default()) }
    }
}

impl<T: Send + 'static> TaskGroup<T> {
    /// Spawns a `Low`-priority task into the group, on the current runtime.
    ///
    /// # Panics
    /// Outside a runtime, like [`spawn`](crate::spawn); use
    /// [`spawn_on`](TaskGroup::spawn_on) there.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (generation, future) = self.wrap(future);
        let task = crate::spawn(future);
        self.insert(generation, task);
    }

    /// Spawns a task of the given priority into the group, on the current
    /// runtime.
    ///
    /// # Panics
    /// Outside a runtime, like [`spawn_with`](crate::spawn_with).
    #[track_caller]
    pub fn spawn_with<F>(&mut self, priority: Priority, future: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (generation, future) = self.wrap(future);
        let task = crate::spawn_with(priority, future);
        self.insert(generation, task);
    }

    /// Spawns a `Low`-priority task into the group, on `handle`'s runtime:
    /// from anywhere, inside a runtime or not.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, handle: &Handle, future: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let (generation, future) = self.wrap(future);
        let task = handle.spawn(future);
        self.insert(generation, task);
    }

    /// The next task's output, in the order the tasks finish; `None` once
    /// the group is empty.
    ///
    /// # Panics
    /// If the task panicked: its panic resumes here (the task has left the
    /// group).
    pub async fn join_next(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Cancels every task in the group, which is then empty. Their futures
    /// are dropped by their runtime, soon; see [`shutdown`](TaskGroup::shutdown)
    /// to wait for that.
    pub fn abort_all(&mut self) {
        self.current = None;
        // Cancelled by dropping their handles; dropped outside any lock.
        let tasks = std::mem::take(&mut self.tasks);
        drop(tasks);
    }

    /// Cancels every task and waits until each has stopped. Outputs and
    /// panics of tasks that had already finished are dropped.
    pub async fn shutdown(&mut self) {
        self.current = None;
        let tasks = std::mem::take(&mut self.tasks);
        for (_, (_, task)) in tasks {
            let _ = AssertUnwindSafe(task.cancel()).catch_unwind().await;
        }
    }
}

impl<T> TaskGroup<T> {
    /// The number of tasks in the group (spawned, not yet joined or aborted).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the group holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// `future`, reporting to this group when it is dropped, and the
    /// generation of its key. The generation is taken here, so that a spawn
    /// that panics after this (outside a runtime) leaves a key that matches
    /// no later task.
    fn wrap<F: Future + Send + 'static>(
        &mut self,
        future: F,
    ) -> (u64, impl Future<Output = F::Output> + Send + 'static) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let finished = Finished { done: self.done.clone(), key: (self.tasks.vacant_key(), generation) };
        let future = async move {
            let _finished = finished;
            future.await
        };
        (generation, future)
    }

    fn insert(&mut self, generation: u64, task: Task<T>) {
        self.tasks.insert((generation, task.fallible()));
        let mut inner = self.done.inner.lock();
        if inner.keys.len() > 2 * self.tasks.len() + STALE_KEYS {
            // Keys of tasks aborted (or cancelled with the group's handles
            // dropped) arrive after their task left: drop them.
            let tasks = &self.tasks;
            inner.keys.retain(|&(index, generation)| tasks.get(index).is_some_and(|(g, _)| *g == generation));
        }
    }

    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            if let Some(key) = self.current {
                let (_, task) = &mut self.tasks[key];
                let polled = catch_unwind(AssertUnwindSafe(|| Pin::new(task).poll(cx)));
                match polled {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(output)) => {
                        self.current = None;
                        // Finished: its handle has nothing left to give.
                        drop(self.tasks.remove(key));
                        match output {
                            Some(output) => return Poll::Ready(Some(output)),
                            // Cancelled by its runtime's shutdown: skipped.
                            None => continue,
                        }
                    }
                    Err(payload) => {
                        self.current = None;
                        drop(self.tasks.remove(key));
                        resume_unwind(payload);
                    }
                }
            }
            if self.tasks.is_empty() {
                return Poll::Ready(None);
            }
            let mut inner = self.done.inner.lock();
            match inner.keys.pop_front() {
                Some((index, generation)) => {
                    drop(inner);
                    if self.tasks.get(index).is_some_and(|(g, _)| *g == generation) {
                        self.current = Some(index);
                    }
                }
                None => {
                    let old = inner.waker.replace(cx.waker().clone());
                    drop(inner);
                    // Dropped with no lock held.
                    drop(old);
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::TaskGroup;
    use crate::{Runtime, tests::TestQueue};

    /// A group that spawns 500 pending tasks (20 under Miri) and aborts
    /// them, ten times:
    /// the keys of the aborted tasks, which arrive after they left the
    /// group, do not pile up (they used to: 5 000 after ten rounds).
    #[test]
    fn aborted_tasks_keys_do_not_pile_up() {
        let rt = Runtime::<TestQueue>::builder().worker_threads(2).build().unwrap();
        let mut group = TaskGroup::<()>::new();
        let n = crate::testing::size(500, 20) as u64;
        for round in 1..=10u64 {
            for _ in 0..n {
                group.spawn_on(&rt.handle(), std::future::pending());
            }
            group.abort_all();
            crate::testing::wait_until("the aborted tasks were cancelled", || {
                rt.metrics().cancelled == n * round
            });
            let keys = group.done.inner.lock().keys.len();
            assert!(keys as u64 <= 3 * n + super::STALE_KEYS as u64, "round {round}: {keys} keys held");
        }
        let keys = group.done.inner.lock().keys.len();
        assert!(keys as u64 <= 2 * n + super::STALE_KEYS as u64, "{keys} keys held after ten rounds of {n}");
    }
}
