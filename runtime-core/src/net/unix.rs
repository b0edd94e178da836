//! [`UnixListener`] and [`UnixStream`] (Unix only).

use std::{
    fmt, io,
    os::unix::net::SocketAddr,
    path::Path,
    task::{Context, Poll, ready},
};

use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::io::{Direction, PollEvented};

/// A Unix domain socket listening for connections, on the runtime's driver.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use runtime_core::net::{UnixListener, UnixStream};
///
/// let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::builder().worker_threads(1).build()?;
/// let path = std::env::temp_dir().join(format!("runtime-core-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let text = rt.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hello").await?;
///     client.close().await?;
///     let mut text = String::new();
///     server.read_to_string(&mut text).await?;
///     Ok::<_, std::io::Error>(text)
/// })?;
/// assert_eq!(text, "hello");
/// std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path` (which must not exist).
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        Ok(UnixListener { io: PollEvented::new(mio::net::UnixListener::bind(path)?)? })
    }

    /// Waits for a connection. Any number of tasks may wait at once.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.io.async_io(Direction::Read, mio::net::UnixListener::accept).await?;
        Ok((self.stream(stream)?, addr))
    }

    /// Polls for a connection; only the task of the last call is woken.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let listener = self.io.get_ref();
        let (stream, addr) =
            ready!(self.io.registration().poll_io(cx, Direction::Read, || listener.accept(), |_| false))?;
        Poll::Ready(Ok((self.stream(stream)?, addr)))
    }

    fn stream(&self, stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        let io = PollEvented::with_driver(self.io.registration().driver().clone(), stream)?;
        Ok(UnixStream { io })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Registers a std listener with the current runtime's driver, after
    /// setting it nonblocking.
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener { io: PollEvented::new(mio::net::UnixListener::from_std(listener))? })
    }

    /// Deregisters the listener and hands it back, still nonblocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io.into_inner().map(Into::into)
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener").field("local_addr", &self.local_addr().ok()).finish()
    }
}

/// A Unix domain stream socket on the runtime's driver: the same
/// operations, traits and readiness rules as [`TcpStream`](super::TcpStream).
pub struct UnixStream {
    pub(super) io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket file `path`: a nonblocking connect, then a
    /// wait until the socket is writable, then its pending error if any.
    ///
    /// # Panics
    /// When polled outside a task or `Runtime::block_on` of a runtime-core
    /// runtime.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream { io: PollEvented::new(mio::net::UnixStream::connect(path)?)? };
        stream.io.registration().readiness(Direction::Write).await?;
        match stream.io.get_ref().take_error()? {
            Some(error) => Err(error),
            None => Ok(stream),
        }
    }

    /// A pair of connected streams (`socketpair`).
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        let a = UnixStream { io: PollEvented::new(a)? };
        let b = UnixStream { io: PollEvented::with_driver(a.io.registration().driver().clone(), b)? };
        Ok((a, b))
    }

    /// Waits until the stream is readable, without reading. Any number of
    /// tasks may wait at once.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Read).await.map(drop)
    }

    /// Waits until the stream is writable. Any number of tasks may wait at once.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Write).await.map(drop)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Registers a connected std stream with the current runtime's driver,
    /// after setting it nonblocking.
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream { io: PollEvented::new(mio::net::UnixStream::from_std(stream))? })
    }

    /// Deregisters the stream and hands it back, still nonblocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_inner().map(Into::into)
    }

    /// Splits the stream into halves that two tasks may own.
    pub fn into_split(self) -> (OwnedReadHalf<UnixStream>, OwnedWriteHalf<UnixStream>) {
        split::into_split(self)
    }

    /// Splits the stream into borrowed halves, for two futures of one task.
    pub fn split(&mut self) -> (ReadHalf<'_, UnixStream>, WriteHalf<'_, UnixStream>) {
        split::split(self)
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

split::stream_impls!(UnixStream);
