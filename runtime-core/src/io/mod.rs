//! The runtime's own I/O driver (feature `net`), and [`AsyncFd`] for file
//! descriptors of your own.
//!
//! Each runtime has one `Driver`: a `mio::Poll` (epoll on Linux, kqueue on
//! the BSDs and macOS), the slab of registered sources, and a `mio::Waker`
//! that ends its waits. The sockets of [`crate::net`] and [`AsyncFd`] are
//! built on it. The whole of the driver's state lives in this module tree.
//!
//! # Registration: once, both directions, edge-triggered
//! A source is registered when its socket is created (or accepted), for
//! `READABLE | WRITABLE` at once, edge-triggered, and never re-armed: in
//! steady state the driver makes no `epoll_ctl` call. It is deregistered
//! when the socket drops (before its descriptor closes) or is turned back
//! into a std type (`into_std`). Each source has a `ScheduledIo` (its
//! readiness word and its waiters), shared by the socket and the driver's
//! slab; the token given to the OS is the slab key plus a generation, so
//! that an event for a key that a new source reuses is recognised as stale
//! and dropped.
//!
//! # Readiness
//! A source's readiness word (one `AtomicUsize`) holds five bits (readable,
//! writable, read-closed, write-closed, error), a shutdown bit, and a
//! *tick*.
//! - **Who sets it**: only the thread holding the driver's turn, for each
//!   event of a source: one RMW that adds the event's bits and bumps the
//!   tick.
//! - **Who clears it, and when**: an operation (a read, a write, an accept,
//!   a `recv`...) first loads the word (`Acquire`). Not ready in its
//!   direction: it waits (below), with no syscall. Ready: it remembers the
//!   tick and the bits it saw, and makes the syscall. If the syscall returns
//!   `WouldBlock`, the operation clears the bits it saw, with a
//!   compare-exchange that succeeds only if the tick is still the one it
//!   saw, then waits. A stream read that comes back *short* (fewer bytes
//!   than the buffer, but not 0) shows the receive buffer drained, and
//!   clears the read readiness the same way, so the next read waits for an
//!   event instead of making the syscall that would return `EAGAIN` (tokio's
//!   `PollEvented::poll_read` does the same); a short write clears the
//!   write readiness. Datagram sockets and listeners clear on `WouldBlock`
//!   only (a short datagram says nothing).
//! - **What the tick pairs with**: an event that lands between an
//!   operation's load and its clear bumps the tick, so the clear fails and
//!   the newer readiness survives: a wake from an older event never clears
//!   a newer readiness. Edge-triggered epoll reports every new arrival of
//!   data (or of buffer space) as a new event, so once a clear succeeds the
//!   next change brings a new event.
//! - A direction's operations look only at that direction's bits (and
//!   error), and clear only those: reads never clear writability, and the
//!   other way round. The closed bits are final (never cleared); error is
//!   cleared like the direction's own bit (the operation that returned it
//!   consumed the socket's pending error).
//!
//! # Waiting
//! A waiting operation stores its waker, then loads the readiness word
//! again, both under the source's waiters lock; the driver sets readiness
//! *first* and takes the lock *then*, to take the wakers of the directions
//! the event concerns. So either the driver's lock comes after the waiter's
//! (and it finds the waker), or before (and the waiter's re-check, which
//! the lock orders after the driver's RMW, sees the readiness): no event is
//! lost between the check and the sleep. Wakers are kept per direction in
//! one slot for the single reader and the single writer that hold a stream
//! by `&mut` (or a split half), and in a list for operations through
//! `&self` (`readable()`, `accept`, `recv_from`, `AsyncFd::readable`), where
//! any number of tasks may wait at once; an entry leaves the list when its
//! future completes or drops.
//!
//! # The turn
//! `Driver::try_turn` is a try-lock around the `mio::Poll` and its event
//! buffer: one thread at a time waits in the OS poller, and the others get
//! `None` at once. After the wait it locks the slab *once* for the whole
//! batch of events, to collect each event's source (a clone of its `Arc`)
//! and what the event said; then, with the slab unlocked, sets each
//! source's readiness and takes its wakers; then releases the turn and
//! wakes the wakers on its own thread, with no lock held (each inside
//! `catch_unwind`: a waker of another executor that panics kills neither
//! the turn's thread nor the other wakes). `Driver::unpark` writes the
//! `mio::Waker`'s eventfd: the wait in progress returns, or the next one
//! does at once (the event stays pending until a wait collects it).
//!
//! # Who turns it
//! The workers do (`worker/driver.rs`, and `idle.rs` under "The I/O driver
//! (feature net)"): an idle worker waits in the driver instead of on its
//! condvar, and a busy worker polls it without waiting every 61 ticks (at
//! most every 200 µs) and after a poll that spent its whole cooperative
//! budget. Only one thread holds the turn at a time (`try_turn`); the others
//! park as usual. Events are dispatched on the worker that collected them,
//! into its own queues. The same wait also ends when the earliest timer is
//! due (`time/timers.rs`): the turn asks the timers how long it may wait,
//! and fires those that are due once it has let go of the turn.
//!
//! # Shutdown
//! `Driver::shutdown` runs when the runtime closes. Under the slab lock it
//! refuses every later registration and collects every source; then, with
//! no lock held, it sets each source's shutdown bit and wakes all its
//! waiters: every operation from then on fails with an error that says the
//! runtime shut down (so a socket moved to a plain thread fails cleanly,
//! never hangs). Dropping a socket after shutdown still deregisters it (the
//! driver, and its epoll descriptor, live as long as any socket does).
//!
//! # The budget
//! Every operation spends one unit of the task's cooperative budget when it
//! completes (`coop.rs`).

#[cfg(unix)]
mod async_fd;
mod driver;
mod ready;
mod registration;
mod scheduled_io;

#[cfg(unix)]
pub use async_fd::{AsyncFd, AsyncFdReadyGuard, TryIoError};
pub(crate) use driver::Driver;
pub(crate) use ready::Direction;
pub(crate) use registration::PollEvented;
