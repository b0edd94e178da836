//! A source's registration with its runtime's driver, and [`PollEvented`]:
//! a mio source with the operations every socket type is built from.

use std::{
    io::{self, IoSlice, Read, Write},
    task::{Context, Poll, ready},
};

use super::{
    driver::Driver,
    ready::{Direction, ReadyEvent},
    scheduled_io::{Readiness, ScheduledIo},
};
use crate::{coop, sync::Arc};

/// A source's place in its driver: its shared state, and the driver that
/// dispatches its events. Dropping it frees the slab entry; the owner
/// deregisters the source from the OS poller first ([`Registration::deregister`]).
#[derive(Debug)]
pub(crate) struct Registration {
    driver: Arc<Driver>,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `source` with `driver`, for both directions.
    pub(crate) fn new(driver: Arc<Driver>, source: &mut impl mio::event::Source) -> io::Result<Self> {
        let io = driver.register(source)?;
        Ok(Self { driver, io })
    }

    pub(crate) fn driver(&self) -> &Arc<Driver> {
        &self.driver
    }

    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.driver.deregister(source)
    }

    /// Polls for readiness through `direction`'s one slot (see
    /// [`ScheduledIo::poll_ready`]).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.io.poll_ready(cx, direction)
    }

    /// A future that any number of tasks may await at once.
    pub(crate) fn readiness(&self, direction: Direction) -> Readiness<'_> {
        self.io.readiness(direction)
    }

    /// The source is drained in `event`'s direction (a short read or write):
    /// clears its readiness unless a newer event came in.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.io.clear_readiness(event);
    }

    /// The syscall returned `WouldBlock`: counted, and cleared as above.
    pub(crate) fn clear_would_block(&self, event: ReadyEvent) {
        self.driver.count_would_block();
        self.io.clear_readiness(event);
    }

    /// Runs `op` once the source is ready in `direction`, through that
    /// direction's one slot, until it does not return `WouldBlock`: the
    /// operation protocol of the module docs. `drained` says whether a
    /// result shows the source drained (a short stream read or write); it
    /// then clears the readiness the same way. Spends one unit of the budget
    /// if it completes.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let proceed = ready!(coop::poll_proceed(cx));
        loop {
            let event = ready!(self.poll_ready(cx, direction))?;
            match op() {
                Ok(result) => {
                    if drained(&result) {
                        self.clear_readiness(event);
                    }
                    proceed.made_progress();
                    return Poll::Ready(Ok(result));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.clear_would_block(event),
                Err(error) => {
                    proceed.made_progress();
                    return Poll::Ready(Err(error));
                }
            }
        }
    }

    /// As [`poll_io`](Self::poll_io) for operations through `&self`, where
    /// any number of tasks may wait at once (`accept`, `recv_from`...).
    pub(crate) async fn async_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let event = self.readiness(direction).await?;
            match op() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => self.clear_would_block(event),
                result => return result,
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.driver.release(&self.io);
    }
}

/// A mio source registered with a driver: what `TcpStream`, `UdpSocket` and
/// the others wrap. Dropping it deregisters the source, then closes it.
#[derive(Debug)]
pub(crate) struct PollEvented<E: mio::event::Source> {
    /// `None` only after [`into_inner`](Self::into_inner) took it.
    io: Option<E>,
    registration: Registration,
}

impl<E: mio::event::Source> PollEvented<E> {
    /// Registers `io` with `driver` (an accepted stream, with its listener's).
    pub(crate) fn with_driver(driver: Arc<Driver>, mut io: E) -> io::Result<Self> {
        let registration = Registration::new(driver, &mut io)?;
        Ok(Self { io: Some(io), registration })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io.as_ref().expect("taken only by into_inner, which consumes self")
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Deregisters the source and hands it back (still nonblocking).
    pub(crate) fn into_inner(mut self) -> io::Result<E> {
        let mut io = self.io.take().expect("taken only here, which consumes self");
        self.registration.deregister(&mut io)?;
        Ok(io)
    }

    /// An operation through `&self` that any number of tasks may wait in.
    pub(crate) async fn async_io<R>(
        &self,
        direction: Direction,
        mut op: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get_ref();
        self.registration.async_io(direction, || op(io)).await
    }
}

/// The stream operations, for the one reader and the one writer of a
/// stream (`&mut`, or a split half): a read or write that comes back short
/// found the socket drained, and clears its readiness (module docs).
impl<E> PollEvented<E>
where
    E: mio::event::Source,
    for<'a> &'a E: Read + Write,
{
    pub(crate) fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let (io, len) = (self.get_ref(), buf.len());
        self.registration.poll_io(cx, Direction::Read, || (&*io).read(buf), |&n| short(n, len))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.registration.poll_io(cx, Direction::Write, || (&*io).write(buf), |&n| short(n, buf.len()))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        let len = bufs.iter().map(|b| b.len()).sum::<usize>();
        self.registration.poll_io(cx, Direction::Write, || (&*io).write_vectored(bufs), |&n| short(n, len))
    }
}

/// Reads into uninitialised memory (for hyper's read buffer), through
/// socket2's `recv`, which takes `&mut [MaybeUninit<u8>]` and only writes.
#[cfg(feature = "hyper")]
impl<E> PollEvented<E>
where
    E: mio::event::Source,
    for<'a> socket2::SockRef<'a>: From<&'a E>,
{
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let (io, len) = (self.get_ref(), buf.len());
        self.registration.poll_io(
            cx,
            Direction::Read,
            || socket2::SockRef::from(io).recv(buf),
            |&n| short(n, len),
        )
    }
}

/// Whether a stream read or write of `n` bytes out of `len` came back
/// short, which shows the socket drained (receive buffer empty, send buffer
/// full). `n == 0` is EOF (or an empty buffer), which changes nothing.
fn short(n: usize, len: usize) -> bool {
    n > 0 && n < len
}

impl<E: mio::event::Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Out of the OS poller before the descriptor closes (with `io`,
            // right after). An error here (the descriptor was already gone)
            // leaves nothing to undo.
            let _ = self.registration.deregister(&mut io);
        }
    }
}
