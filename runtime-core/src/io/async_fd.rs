//! [`AsyncFd`]: any file descriptor, driven by the runtime's driver (Unix).

use std::{
    fmt, io,
    os::fd::{AsRawFd, RawFd},
    task::{Context, Poll, ready},
};

use super::{
    ready::{Direction, ReadyEvent},
    registration::Registration,
};

/// A file descriptor of your own (a pipe, a socket of another library, a
/// device, an eventfd...) registered with the runtime's driver, so that a
/// task can wait until it is readable or writable.
///
/// The descriptor is registered once, for both directions, edge-triggered:
/// the driver learns of readiness only when it *changes*. So the contract
/// is:
/// - **Set the descriptor nonblocking** before wrapping it (`O_NONBLOCK`):
///   a blocking read would hold the worker thread.
/// - After `readable().await` (or `writable()`), do the I/O until it returns
///   `WouldBlock`, then call [`clear_ready`](AsyncFdReadyGuard::clear_ready)
///   (or let [`try_io`](AsyncFdReadyGuard::try_io) do both). A guard dropped
///   without clearing keeps the readiness: the next `readable()` returns at
///   once. Clearing while data is still there is the one mistake that
///   loses a wake-up: no new edge comes until new data arrives.
/// - A clear never loses readiness that came in after the guard was made:
///   each event for the descriptor bumps a tick, and a guard clears only if
///   the tick is still the one it saw.
///
/// Operations fail with an error once the runtime shut down. Dropping the
/// `AsyncFd` deregisters the descriptor and drops `T` (which closes it, if
/// `T` owns it); [`into_inner`](Self::into_inner) deregisters and hands `T`
/// back.
///
/// ```
/// use std::io::{Read, Write};
/// use runtime_core::io::AsyncFd;
///
/// let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::builder().worker_threads(1).build()?;
/// let (ours, mut theirs) = std::os::unix::net::UnixStream::pair()?;
/// ours.set_nonblocking(true)?;
/// let text = rt.block_on(async move {
///     let ours = AsyncFd::new(ours)?;
///     theirs.write_all(b"hello")?;
///     let mut guard = ours.readable().await?;
///     let mut buf = [0u8; 16];
///     let n = guard.try_io(|fd| fd.get_ref().read(&mut buf)).expect("it was readable")?;
///     Ok::<_, std::io::Error>(buf[..n].to_vec())
/// })?;
/// assert_eq!(text, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsyncFd<T: AsRawFd> {
    /// `None` only after `into_inner` took it.
    inner: Option<T>,
    registration: Registration,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor with the current runtime's driver.
    ///
    /// # Errors
    /// If the OS poller refuses the descriptor (epoll refuses regular files,
    /// for instance: `EPERM`), or the runtime has shut down.
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn new(inner: T) -> io::Result<Self> {
        let driver = crate::handle::current_driver();
        let fd = inner.as_raw_fd();
        let registration = Registration::new(driver, &mut mio::unix::SourceFd(&fd))?;
        Ok(Self { inner: Some(inner), registration })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("taken only by into_inner, which consumes self")
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("taken only by into_inner, which consumes self")
    }

    /// Deregisters the descriptor and hands the value back.
    pub fn into_inner(mut self) -> T {
        let inner = self.inner.take().expect("taken only here, which consumes self");
        // Nothing to undo if the descriptor was already gone from the poller.
        let _ = self.registration.deregister(&mut mio::unix::SourceFd(&inner.as_raw_fd()));
        inner
    }

    /// Waits until the descriptor is readable (or its read side closed, or
    /// it has an error). Any number of tasks may wait at once.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.registration.readiness(Direction::Read).await?;
        Ok(AsyncFdReadyGuard { fd: self, event: Some(event) })
    }

    /// Waits until the descriptor is writable (or its write side closed, or
    /// it has an error). Any number of tasks may wait at once.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = self.registration.readiness(Direction::Write).await?;
        Ok(AsyncFdReadyGuard { fd: self, event: Some(event) })
    }

    /// Polls for read readiness, for `AsyncRead`-style implementations. Only
    /// the task of the last call is woken: one reader at a time.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(cx, Direction::Read)
    }

    /// Polls for write readiness; only the task of the last call is woken.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(cx, Direction::Write)
    }

    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        let proceed = ready!(crate::coop::poll_proceed(cx));
        let event = ready!(self.registration.poll_ready(cx, direction))?;
        proceed.made_progress();
        Poll::Ready(Ok(AsyncFdReadyGuard { fd: self, event: Some(event) }))
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl<T: AsRawFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        if let Some(inner) = &self.inner {
            // Out of the poller before `inner` drops (and may close it).
            let _ = self.registration.deregister(&mut mio::unix::SourceFd(&inner.as_raw_fd()));
        }
    }
}

/// The descriptor was ready in one direction when this guard was made:
/// from [`AsyncFd::readable`] / [`AsyncFd::writable`].
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    fd: &'a AsyncFd<T>,
    /// `None` once cleared.
    event: Option<ReadyEvent>,
}

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Says the descriptor is drained in this direction (an operation
    /// returned `WouldBlock`): the next wait sleeps until the driver sees a
    /// new event. Readiness that arrived since this guard was made is kept.
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.registration.clear_readiness(event);
        }
    }

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)` (wait again), otherwise its result.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if let Some(event) = self.event.take() {
                    self.fd.registration.clear_would_block(event);
                }
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard is for.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", self.fd)
            .field("cleared", &self.event.is_none())
            .finish()
    }
}

/// [`AsyncFdReadyGuard::try_io`]'s closure returned `WouldBlock`: the
/// readiness is cleared, wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block; the readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}
