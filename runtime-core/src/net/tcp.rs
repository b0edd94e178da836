//! [`TcpListener`] and [`TcpStream`].

use std::{
    fmt, io,
    net::SocketAddr,
    task::{Context, Poll, ready},
};

use super::{
    addr::{ToSocketAddrs, no_address, resolve},
    split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf},
};
use crate::io::{Direction, PollEvented};

/// A TCP socket listening for connections, on the runtime's driver.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use runtime_core::net::{TcpListener, TcpStream};
///
/// let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::builder().worker_threads(2).build()?;
/// let echoed = rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     runtime_core::spawn(async move {
///         let (mut stream, _) = listener.accept().await?;
///         let mut buf = [0u8; 5];
///         stream.read_exact(&mut buf).await?;
///         stream.write_all(&buf).await
///     })
///     .detach();
///     let mut stream = TcpStream::connect(addr).await?;
///     stream.write_all(b"hello").await?;
///     let mut buf = Vec::new();
///     stream.read_to_end(&mut buf).await?;
///     Ok::<_, std::io::Error>(buf)
/// })?;
/// assert_eq!(echoed, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` (the first of its addresses that binds),
    /// with `SO_REUSEADDR` on Unix and a backlog of 1024, as tokio's (std and
    /// mio use 128, which a burst of connections fills). A host name is
    /// resolved on the blocking pool ([`ToSocketAddrs`]).
    ///
    /// # Panics
    /// When polled outside a task or `Runtime::block_on` of a runtime-core
    /// runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match listen(addr) {
                Ok(listener) => return Ok(TcpListener { io: PollEvented::new(listener)? }),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Waits for a connection. Any number of tasks may wait at once. The
    /// stream is registered with this listener's runtime.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = self.io.async_io(Direction::Read, mio::net::TcpListener::accept).await?;
        Ok((self.stream(stream)?, addr))
    }

    /// Polls for a connection; only the task of the last call is woken.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let listener = self.io.get_ref();
        let (stream, addr) =
            ready!(self.io.registration().poll_io(cx, Direction::Read, || listener.accept(), |_| false))?;
        Poll::Ready(Ok((self.stream(stream)?, addr)))
    }

    fn stream(&self, stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let io = PollEvented::with_driver(self.io.registration().driver().clone(), stream)?;
        Ok(TcpStream { io })
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
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener { io: PollEvented::new(mio::net::TcpListener::from_std(listener))? })
    }

    /// Deregisters the listener and hands it back, still nonblocking.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner().map(Into::into)
    }
}

/// A nonblocking listener on `addr`, built with socket2 for the backlog.
fn listen(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener").field("local_addr", &self.local_addr().ok()).finish()
    }
}

/// A TCP connection on the runtime's driver: `futures_io::AsyncRead` and
/// `AsyncWrite` (vectored writes too; `poll_close` shuts the write side
/// down), and with feature `hyper` hyper's `Read` and `Write`.
///
/// Reads and writes make no syscall while the driver says the socket is
/// not ready; a read that returns less than its buffer, or a write that
/// writes less than it was given, marks the socket drained, so the next one
/// waits for the driver's event instead of making a syscall that would
/// return `EAGAIN` (see [`crate::io`]). It splits into halves for two tasks
/// ([`into_split`](Self::into_split)) or two futures of one task
/// ([`split`](Self::split)). Once the runtime shut down, every operation
/// fails with an error that says so.
pub struct TcpStream {
    pub(super) io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr` (each of its addresses in turn, until one
    /// connects): a nonblocking connect, then a wait until the socket is
    /// writable, then its pending error if any. A host name is resolved on
    /// the blocking pool ([`ToSocketAddrs`]).
    ///
    /// # Panics
    /// When polled outside a task or `Runtime::block_on` of a runtime-core
    /// runtime.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match Self::connect_to(addr).await {
                Ok(stream) => return Ok(stream),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    async fn connect_to(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream { io: PollEvented::new(mio::net::TcpStream::connect(addr)?)? };
        loop {
            let event = stream.io.registration().readiness(Direction::Write).await?;
            if let Some(error) = stream.io.get_ref().take_error()? {
                return Err(error);
            }
            // Writable and no error: connected, unless the event was for
            // something else (mio's advice: check the peer address).
            match stream.io.get_ref().peer_addr() {
                Ok(_) => return Ok(stream),
                Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                    stream.io.registration().clear_readiness(event);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Waits until the stream is readable (a read would not block), without
    /// reading. Any number of tasks may wait at once.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Read).await.map(drop)
    }

    /// Waits until the stream is writable. Any number of tasks may wait at once.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Write).await.map(drop)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay on small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The address of the peer.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address of the connection.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
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
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream { io: PollEvented::new(mio::net::TcpStream::from_std(stream))? })
    }

    /// Deregisters the stream and hands it back, still nonblocking.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner().map(Into::into)
    }

    /// Splits the stream into halves that two tasks may own: see
    /// [`OwnedWriteHalf`] for what dropping the write half does.
    pub fn into_split(self) -> (OwnedReadHalf<TcpStream>, OwnedWriteHalf<TcpStream>) {
        split::into_split(self)
    }

    /// Splits the stream into borrowed halves, for two futures of one task
    /// (a read and a write at once).
    pub fn split(&mut self) -> (ReadHalf<'_, TcpStream>, WriteHalf<'_, TcpStream>) {
        split::split(self)
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

split::stream_impls!(TcpStream);
