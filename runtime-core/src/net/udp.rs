//! [`UdpSocket`].

use std::{fmt, io, net::SocketAddr};

use super::addr::{ToSocketAddrs, no_address, resolve};
use crate::io::{Direction, PollEvented};

/// A UDP socket on the runtime's driver. Every operation takes `&self`, so
/// a socket shared by several tasks (in an `Arc`) may have any number of
/// them waiting in `recv_from` or `send_to` at once.
///
/// Datagram sockets clear their readiness only on `WouldBlock`: a short
/// datagram says nothing about what else is queued.
///
/// ```
/// use runtime_core::net::UdpSocket;
///
/// let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::builder().worker_threads(1).build()?;
/// let (n, text) = rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!(from, a.local_addr()?);
///     Ok::<_, std::io::Error>((n, buf))
/// })?;
/// assert_eq!(&text[..n], b"ping");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (the first of its addresses that binds). A
    /// host name is resolved on the blocking pool ([`ToSocketAddrs`]).
    ///
    /// # Panics
    /// When polled outside a task or `Runtime::block_on` of a runtime-core
    /// runtime.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match mio::net::UdpSocket::bind(addr) {
                Ok(socket) => return Ok(UdpSocket { io: PollEvented::new(socket)? }),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Sets the socket's default peer (the first of `addr`'s addresses that
    /// works): [`send`](Self::send) goes there and [`recv`](Self::recv) takes
    /// only its datagrams.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(no_address))
    }

    /// Sends `buf` as one datagram to `target` (its first address).
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = resolve(&target).await?.into_iter().next().ok_or_else(no_address)?;
        self.io.async_io(Direction::Write, |socket| socket.send_to(buf, target)).await
    }

    /// Waits for a datagram; returns its length and sender. A datagram
    /// longer than `buf` is cut to fit.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.async_io(Direction::Read, |socket| socket.recv_from(buf)).await
    }

    /// Sends `buf` to the peer set by [`connect`](Self::connect).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Write, |socket| socket.send(buf)).await
    }

    /// Waits for a datagram from the peer set by [`connect`](Self::connect).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Read, |socket| socket.recv(buf)).await
    }

    /// Waits until a datagram can be received, without receiving it.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Read).await.map(drop)
    }

    /// Waits until a datagram can be sent.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.registration().readiness(Direction::Write).await.map(drop)
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer set by [`connect`](Self::connect).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Registers a std socket with the current runtime's driver, after
    /// setting it nonblocking.
    ///
    /// # Panics
    /// Outside a task or `Runtime::block_on` of a runtime-core runtime.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket { io: PollEvented::new(mio::net::UdpSocket::from_std(socket))? })
    }

    /// Deregisters the socket and hands it back, still nonblocking.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner().map(Into::into)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket").field("local_addr", &self.local_addr().ok()).finish()
    }
}
