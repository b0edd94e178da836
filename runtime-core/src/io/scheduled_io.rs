//! One registered source's shared state: its readiness word and the wakers
//! waiting on it (the protocol is in the module docs of [`crate::io`]).

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use slab::Slab;

use super::ready::{Direction, Ready, ReadyEvent, word};
use crate::{
    coop,
    sync::{AtomicUsize, Mutex, Ordering},
};

/// A registered source, shared by the driver (through its slab) and the
/// socket's [`Registration`](super::registration::Registration).
#[derive(Debug)]
pub(crate) struct ScheduledIo {
    /// Readiness bits, the shutdown bit and the tick (see [`word`]). Written
    /// by the driver ([`set_readiness`](Self::set_readiness), an RMW that
    /// bumps the tick) and by operations ([`clear_readiness`](Self::clear_readiness),
    /// a compare-exchange on the tick they observed).
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
    /// The token the source is registered with: the driver checks it so
    /// that an event for a slab key that has since been reused by another
    /// source is dropped rather than delivered to the wrong one.
    pub(crate) token: usize,
}

/// Who waits for which direction.
#[derive(Debug, Default)]
struct Waiters {
    /// The one task that reads through `&mut` (`AsyncRead`, a read half):
    /// one slot, overwritten by each poll.
    reader: Option<Waker>,
    /// Likewise for writes.
    writer: Option<Waker>,
    /// Waits through `&self` (`readable()`, `accept`, `recv_from`...), where
    /// any number of tasks may wait at once: one entry per waiting
    /// [`Readiness`] future, removed when it completes or drops.
    list: Slab<Waiter>,
}

#[derive(Debug)]
struct Waiter {
    direction: Direction,
    /// `None` once the driver took it (the future then re-checks).
    waker: Option<Waker>,
}

/// The error every operation returns once the driver shut down.
pub(crate) fn shut_down_error() -> io::Error {
    io::Error::other(
        "the runtime-core runtime this I/O source was registered with has shut down: \
         its driver dispatches no more events",
    )
}

impl ScheduledIo {
    pub(crate) fn new(token: usize) -> Self {
        Self { readiness: AtomicUsize::new(0), waiters: Mutex::new(Waiters::default()), token }
    }

    /// The driver: an event for this source says `ready`. Adds the bits and
    /// bumps the tick in one RMW (`AcqRel`: it pairs with the `Acquire`
    /// loads of operations, and the waiters lock that the driver takes next
    /// orders it before a waiter's re-check).
    pub(crate) fn set_readiness(&self, ready: Ready) {
        let _ = self.readiness.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            Some((current | ready.bits()).wrapping_add(word::TICK_ONE))
        });
    }

    /// The driver shut down: every operation fails from now on.
    pub(crate) fn shut_down(&self) {
        self.readiness.fetch_or(word::SHUTDOWN, Ordering::AcqRel);
    }

    /// An operation found the source drained in `event`'s direction (its
    /// syscall returned `WouldBlock`, or a stream read or write came back
    /// short): clears the bits it observed, unless an event came in since it
    /// looked (the tick moved on), which may have brought new readiness.
    /// Returns whether it cleared.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) -> bool {
        let clear = event.ready.clearable().bits();
        self.readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (word::tick(current) == event.tick).then_some(current & !clear)
            })
            .is_ok()
    }

    /// What an operation in `direction` may do given the word `current`:
    /// fail (shut down), try its syscall (ready), or wait (`None`).
    fn check(current: usize, direction: Direction) -> Option<io::Result<ReadyEvent>> {
        if current & word::SHUTDOWN != 0 {
            return Some(Err(shut_down_error()));
        }
        let ready = word::ready(current) & direction.mask();
        (!ready.is_empty()).then_some(Ok(ReadyEvent { tick: word::tick(current), ready }))
    }

    /// The driver, after [`set_readiness`](Self::set_readiness): moves the
    /// wakers of every direction that `ready` concerns into `out` (woken by
    /// the caller once no lock is held). `None` as `ready`: every waker
    /// (shutdown).
    pub(crate) fn take_wakers(&self, ready: Option<Ready>, out: &mut Vec<Waker>) {
        let wants = |direction: Direction| ready.is_none_or(|ready| ready.intersects(direction.mask()));
        let (read, write) = (wants(Direction::Read), wants(Direction::Write));
        let mut waiters = self.waiters.lock();
        if read {
            out.extend(waiters.reader.take());
        }
        if write {
            out.extend(waiters.writer.take());
        }
        for (_, waiter) in waiters.list.iter_mut() {
            let wanted = match waiter.direction {
                Direction::Read => read,
                Direction::Write => write,
            };
            if wanted {
                out.extend(waiter.waker.take());
            }
        }
    }

    /// Polls for readiness in `direction` through the one slot of that
    /// direction (the caller holds the source by `&mut`, or is its only
    /// reader or writer). Spends no budget: the operation does.
    ///
    /// Not ready: stores the waker, then re-checks under the waiters lock,
    /// so that an event the driver set between the first check and the
    /// store is seen now (the driver sets readiness before it takes the
    /// lock to take the wakers: either it finds this waker, or this re-check
    /// finds its readiness).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(ready) = Self::check(self.readiness.load(Ordering::Acquire), direction) {
            return Poll::Ready(ready);
        }
        let mut waiters = self.waiters.lock();
        let slot = match direction {
            Direction::Read => &mut waiters.reader,
            Direction::Write => &mut waiters.writer,
        };
        let replaced = match slot {
            Some(waker) if waker.will_wake(cx.waker()) => None,
            _ => slot.replace(cx.waker().clone()),
        };
        let ready = Self::check(self.readiness.load(Ordering::Acquire), direction);
        drop(waiters);
        // Dropped with no lock held: it may be the last reference to a task.
        drop(replaced);
        match ready {
            Some(ready) => Poll::Ready(ready),
            None => Poll::Pending,
        }
    }

    /// A future that resolves once the source is ready in `direction` (or
    /// shut down); any number of them may wait at once. Spends one unit of
    /// the budget when it resolves.
    pub(crate) fn readiness(&self, direction: Direction) -> Readiness<'_> {
        Readiness { io: self, direction, key: None }
    }
}

/// See [`ScheduledIo::readiness`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Readiness<'a> {
    io: &'a ScheduledIo,
    direction: Direction,
    /// Its entry in the waiters list, while it waits.
    key: Option<usize>,
}

impl Readiness<'_> {
    /// Removes this future's entry from the list, if it has one.
    fn leave(&mut self) {
        if let Some(key) = self.key.take() {
            let removed = self.io.waiters.lock().list.remove(key);
            // Dropped with no lock held.
            drop(removed);
        }
    }
}

impl Future for Readiness<'_> {
    type Output = io::Result<ReadyEvent>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let proceed = std::task::ready!(coop::poll_proceed(cx));
        if let Some(ready) = ScheduledIo::check(this.io.readiness.load(Ordering::Acquire), this.direction) {
            this.leave();
            proceed.made_progress();
            return Poll::Ready(ready);
        }
        let mut waiters = this.io.waiters.lock();
        let replaced = match this.key {
            Some(key) => {
                let waiter = &mut waiters.list[key];
                match &waiter.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => None,
                    _ => waiter.waker.replace(cx.waker().clone()),
                }
            }
            None => {
                let key = waiters
                    .list
                    .insert(Waiter { direction: this.direction, waker: Some(cx.waker().clone()) });
                this.key = Some(key);
                None
            }
        };
        // The re-check, as in `poll_ready`.
        let ready = ScheduledIo::check(this.io.readiness.load(Ordering::Acquire), this.direction);
        let removed = match (ready.is_some(), this.key) {
            (true, Some(key)) => {
                this.key = None;
                Some(waiters.list.remove(key))
            }
            _ => None,
        };
        drop(waiters);
        drop((replaced, removed));
        match ready {
            Some(ready) => {
                proceed.made_progress();
                Poll::Ready(ready)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for Readiness<'_> {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::{
        pin::pin,
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering::SeqCst},
        },
        task::Wake,
    };

    use super::*;

    #[derive(Default)]
    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn wake_all(wakers: &mut Vec<Waker>) {
        for waker in wakers.drain(..) {
            waker.wake();
        }
    }

    /// A wake from an older event never clears a newer readiness: an
    /// operation that observed tick `t` and then found the socket drained
    /// clears nothing once an event bumped the tick.
    #[test]
    fn a_stale_tick_clears_nothing() {
        let io = ScheduledIo::new(0);
        let mut cx = Context::from_waker(Waker::noop());
        io.set_readiness(Ready::READABLE);
        let Poll::Ready(Ok(seen)) = io.poll_ready(&mut cx, Direction::Read) else {
            panic!("readable after an event")
        };
        // A new event lands between the operation's look and its clear.
        io.set_readiness(Ready::READABLE);
        assert!(!io.clear_readiness(seen), "a clear with a stale tick went through");
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready(), "the newer readiness was lost");
        // With the current tick it clears.
        let Poll::Ready(Ok(now)) = io.poll_ready(&mut cx, Direction::Read) else { unreachable!() };
        assert!(io.clear_readiness(now));
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
    }

    /// Clearing one direction leaves the other's readiness alone, and the
    /// closed states are final.
    #[test]
    fn one_direction_never_clears_the_other() {
        let io = ScheduledIo::new(0);
        let mut cx = Context::from_waker(Waker::noop());
        io.set_readiness(Ready::READABLE | Ready::WRITABLE);
        let Poll::Ready(Ok(read)) = io.poll_ready(&mut cx, Direction::Read) else { unreachable!() };
        assert_eq!(read.ready, Ready::READABLE);
        assert!(io.clear_readiness(read));
        assert!(io.poll_ready(&mut cx, Direction::Write).is_ready(), "clearing reads cleared writes");
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());

        io.set_readiness(Ready::READ_CLOSED);
        let Poll::Ready(Ok(closed)) = io.poll_ready(&mut cx, Direction::Read) else { unreachable!() };
        assert!(io.clear_readiness(closed));
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready(), "EOF was cleared");
    }

    /// The slot's waker is taken by an event of its direction only, and a
    /// shut-down source fails every operation.
    #[test]
    fn wakers_by_direction_and_shutdown() {
        let io = ScheduledIo::new(0);
        let (reader, writer) = (Arc::new(CountWakes::default()), Arc::new(CountWakes::default()));
        let (reader_waker, writer_waker) = (Waker::from(reader.clone()), Waker::from(writer.clone()));
        assert!(io.poll_ready(&mut Context::from_waker(&reader_waker), Direction::Read).is_pending());
        assert!(io.poll_ready(&mut Context::from_waker(&writer_waker), Direction::Write).is_pending());
        let mut wakers = Vec::new();
        io.set_readiness(Ready::WRITABLE);
        io.take_wakers(Some(Ready::WRITABLE), &mut wakers);
        wake_all(&mut wakers);
        assert_eq!((reader.0.load(SeqCst), writer.0.load(SeqCst)), (0, 1));

        io.shut_down();
        io.take_wakers(None, &mut wakers);
        wake_all(&mut wakers);
        assert_eq!(reader.0.load(SeqCst), 1, "shutdown wakes every waiter");
        let Poll::Ready(Err(error)) =
            io.poll_ready(&mut Context::from_waker(Waker::noop()), Direction::Write)
        else {
            panic!("an operation on a shut-down source did not fail")
        };
        assert!(error.to_string().contains("shut down"), "{error}");
    }

    /// Several `Readiness` futures wait at once; each is woken, and one that
    /// drops leaves nothing behind.
    #[test]
    fn many_readiness_waiters() {
        let io = ScheduledIo::new(0);
        let counts: Vec<_> = (0..3).map(|_| Arc::new(CountWakes::default())).collect();
        let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(c.clone())).collect();
        let mut first = pin!(io.readiness(Direction::Read));
        let mut second = pin!(io.readiness(Direction::Read));
        {
            let mut dropped = pin!(io.readiness(Direction::Read));
            assert!(dropped.as_mut().poll(&mut Context::from_waker(&wakers[2])).is_pending());
        }
        assert!(first.as_mut().poll(&mut Context::from_waker(&wakers[0])).is_pending());
        assert!(second.as_mut().poll(&mut Context::from_waker(&wakers[1])).is_pending());
        assert_eq!(io.waiters.lock().list.len(), 2, "the dropped future left its entry");
        let mut taken = Vec::new();
        io.set_readiness(Ready::READABLE);
        io.take_wakers(Some(Ready::READABLE), &mut taken);
        wake_all(&mut taken);
        let woken: Vec<usize> = counts.iter().map(|c| c.0.load(SeqCst)).collect();
        assert_eq!(woken, [1, 1, 0]);
        assert!(first.as_mut().poll(&mut Context::from_waker(&wakers[0])).is_ready());
        assert!(second.as_mut().poll(&mut Context::from_waker(&wakers[1])).is_ready());
        assert_eq!(io.waiters.lock().list.len(), 0, "completed futures left their entries");
    }
}
