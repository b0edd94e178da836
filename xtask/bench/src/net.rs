//! The network stacks of the I/O rows, behind one small interface so that
//! `tcp_echo` and `http_plaintext` are written once: [`NetStack`] binds,
//! accepts and connects; its [`Stream`] reads and writes; and
//! [`NetStack::hyper_io`] hands a stream to hyper.
//!
//! Each contender runs on its native stack, the one its users would pick:
//! tokio on `tokio::net` ([`TokioNet`], hyper through hyper-util's
//! `TokioIo`); everyone else on `async-net` ([`AsyncNet`], hyper through
//! [`FuturesIo`], this crate's adaptor); and, in a build with this crate's
//! feature `native`, this runtime's backends on its own sockets
//! ([`NativeNet`], hyper with no adaptor), run as `flume/native` and so on
//! (see `native.rs`). Every socket gets `TCP_NODELAY`, on
//! both stacks alike.

use std::{
    future::{Future, poll_fn},
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use futures_lite::io::{AsyncRead, AsyncWrite};

/// A connected TCP stream: the two calls the echo workload needs.
pub trait Stream: Send + Unpin + 'static {
    /// Reads into `buf`, like `AsyncRead::poll_read`.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `buf`, like `AsyncWrite::poll_write`.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
}

/// Reads exactly `buf.len()` bytes; an early end of stream is `UnexpectedEof`.
pub async fn read_exact<S: Stream>(stream: &mut S, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, &mut buf[filled..])).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
    Ok(())
}

/// Writes all of `buf`.
pub async fn write_all<S: Stream>(stream: &mut S, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, buf)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
    }
    Ok(())
}

/// A contender's sockets; see the module docs.
pub trait NetStack: Send + Sync + 'static {
    /// A listening socket.
    type Listener: Send + Sync + 'static;
    /// A connected socket.
    type Stream: Stream;
    /// What hyper reads and writes through.
    type HyperIo: hyper::rt::Read + hyper::rt::Write + Send + Unpin + 'static;

    /// Binds a listener to `127.0.0.1`, on a port the kernel picks.
    fn bind() -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// The address a listener got.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// Accepts one connection (with `TCP_NODELAY` set).
    fn accept(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Connects to `addr` (with `TCP_NODELAY` set).
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Wraps a stream for hyper.
    fn hyper_io(stream: Self::Stream) -> Self::HyperIo;
}

const LOOPBACK: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 0));

// --- tokio::net -----------------------------------------------------------

/// tokio's own sockets; must be used inside the tokio runtime.
#[derive(Debug)]
pub struct TokioNet;

impl Stream for tokio::net::TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut buf = tokio::io::ReadBuf::new(buf);
        match tokio::io::AsyncRead::poll_read(self, cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(self, cx, buf)
    }
}

impl NetStack for TokioNet {
    type Listener = tokio::net::TcpListener;
    type Stream = tokio::net::TcpStream;
    type HyperIo = hyper_util::rt::TokioIo<tokio::net::TcpStream>;

    async fn bind() -> io::Result<Self::Listener> {
        tokio::net::TcpListener::bind(LOOPBACK).await
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn hyper_io(stream: Self::Stream) -> Self::HyperIo {
        hyper_util::rt::TokioIo::new(stream)
    }
}

// --- async-net ------------------------------------------------------------

/// async-net's sockets (async-io's reactor), for every contender but tokio.
#[derive(Debug)]
pub struct AsyncNet;

impl Stream for async_net::TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        AsyncRead::poll_read(self, cx, buf)
    }

    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }
}

impl NetStack for AsyncNet {
    type Listener = async_net::TcpListener;
    type Stream = async_net::TcpStream;
    type HyperIo = FuturesIo<async_net::TcpStream>;

    async fn bind() -> io::Result<Self::Listener> {
        async_net::TcpListener::bind(LOOPBACK).await
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = async_net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn hyper_io(stream: Self::Stream) -> Self::HyperIo {
        FuturesIo::new(stream)
    }
}

// --- runtime_core::net -----------------------------------------------------

/// This runtime's own sockets (feature `native` of this crate: runtime-core
/// with `net` and `hyper`), hyper on them with no adaptor: what an
/// application on the facade's default features gets.
#[cfg(feature = "native")]
#[derive(Debug)]
pub struct NativeNet;

#[cfg(feature = "native")]
impl Stream for runtime_core::net::TcpStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        AsyncRead::poll_read(self, cx, buf)
    }

    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }
}

#[cfg(feature = "native")]
impl NetStack for NativeNet {
    type Listener = runtime_core::net::TcpListener;
    type Stream = runtime_core::net::TcpStream;
    // hyper's `Read` / `Write` are implemented on the stream itself.
    type HyperIo = runtime_core::net::TcpStream;

    async fn bind() -> io::Result<Self::Listener> {
        runtime_core::net::TcpListener::bind(LOOPBACK).await
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept(listener: &Self::Listener) -> io::Result<Self::Stream> {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        let stream = runtime_core::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn hyper_io(stream: Self::Stream) -> Self::HyperIo {
        stream
    }
}

// --- hyper over futures-io ------------------------------------------------

/// Bytes read per call through [`FuturesIo`]'s scratch buffer.
const SCRATCH: usize = 4096;

/// hyper's `Read` / `Write` over a futures-io `AsyncRead` / `AsyncWrite`.
///
/// hyper hands `poll_read` an uninitialised buffer, and futures-io's
/// `poll_read` wants an initialised one. smol-hyper's `FuturesIo` zeroes
/// hyper's whole spare buffer (8 KiB and more) before every read. This one
/// reads into a small scratch buffer of its own, zeroed once when the
/// connection starts, and copies what arrived (a request line or two) into
/// hyper's buffer: a copy of the bytes read instead of a memset of the
/// buffer, and no `unsafe`. It never reads more than hyper has room for, so
/// nothing is held back between calls.
///
/// Writes go straight through, vectored ones included (advertised, as
/// tokio's `TcpStream` does through `TokioIo`).
#[derive(Debug)]
pub struct FuturesIo<T> {
    inner: T,
    scratch: Box<[u8; SCRATCH]>,
}

impl<T> FuturesIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self { inner, scratch: Box::new([0; SCRATCH]) }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let room = buf.remaining().min(SCRATCH);
        let scratch = &mut this.scratch[..room];
        match Pin::new(&mut this.inner).poll_read(cx, scratch) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&scratch[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;

    use super::*;

    /// hyper's buffer gets exactly the bytes that arrived, however small its
    /// room: the adaptor never reads more than it can hand over.
    #[test]
    fn futures_io_reads_at_most_what_hyper_has_room_for() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let mut io = FuturesIo::new(futures_lite::io::Cursor::new(data.clone()));
        let mut out = Vec::new();
        for room in [1usize, 7, 100, 5000, 8192].into_iter().cycle() {
            let mut storage = vec![MaybeUninit::<u8>::uninit(); room];
            let mut read_buf = hyper::rt::ReadBuf::uninit(&mut storage);
            let poll = hyper::rt::Read::poll_read(
                Pin::new(&mut io),
                &mut Context::from_waker(std::task::Waker::noop()),
                read_buf.unfilled(),
            );
            assert!(matches!(poll, Poll::Ready(Ok(()))));
            let filled = read_buf.filled();
            assert!(filled.len() <= room);
            if filled.is_empty() {
                break;
            }
            out.extend_from_slice(filled);
        }
        assert_eq!(out, data);
    }
}
