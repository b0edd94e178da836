//! Read and write halves of a stream ([`TcpStream`], and `UnixStream` on
//! Unix): owned ones (`into_split`, for two tasks) and borrowed ones
//! (`split`, for two futures of one task).
//!
//! A stream keeps one waker slot per direction (see "Waiting" in
//! [`crate::io`]): the read half is the only reader and the write half the
//! only writer, so each half has its direction's slot to itself.

use std::{
    fmt,
    io::{self, IoSlice},
    pin::Pin,
    task::{Context, Poll},
};

use futures_lite::io::{AsyncRead, AsyncWrite};

use super::TcpStream;
use crate::sync::Arc;

/// A stream that splits into halves: [`TcpStream`], and `UnixStream` on
/// Unix. Sealed.
pub trait SplitStream: sealed::Split {}

pub(crate) mod sealed {
    use std::{
        io::{self, IoSlice},
        task::{Context, Poll},
    };

    /// The stream operations through `&self`, for the halves. Each direction
    /// must have one caller at a time (the halves guarantee it).
    pub trait Split: Send + Sync + 'static {
        fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
        #[cfg(feature = "hyper")]
        fn poll_read_uninit_priv(
            &self,
            cx: &mut Context<'_>,
            buf: &mut [std::mem::MaybeUninit<u8>],
        ) -> Poll<io::Result<usize>>;
        fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;
        fn poll_write_vectored_priv(
            &self,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>>;
        /// Shuts the write side down (sends FIN on TCP).
        fn shutdown_write_priv(&self) -> io::Result<()>;
    }
}

/// The read half of a stream, from `into_split`: owned, so it may move to
/// another task than the write half's.
pub struct OwnedReadHalf<S: SplitStream = TcpStream> {
    stream: Arc<S>,
}

/// The write half of a stream, from `into_split`. Dropping it shuts the
/// stream's write side down (the peer reads EOF), as `poll_close` does;
/// [`reunite`](OwnedReadHalf::reunite) does not.
pub struct OwnedWriteHalf<S: SplitStream = TcpStream> {
    stream: Arc<S>,
    shutdown_on_drop: bool,
}

/// The read half of a stream, borrowed from `split(&mut stream)`.
pub struct ReadHalf<'a, S: SplitStream = TcpStream>(&'a S);

/// The write half of a stream, borrowed from `split(&mut stream)`. Dropping
/// it changes nothing; `poll_close` shuts the write side down.
pub struct WriteHalf<'a, S: SplitStream = TcpStream>(&'a S);

/// [`OwnedReadHalf::reunite`] was given halves of two different streams:
/// here they are back.
pub struct ReuniteError<S: SplitStream = TcpStream>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

/// Splits `stream` into owned halves (its `into_split`).
pub(crate) fn into_split<S: SplitStream>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let stream = Arc::new(stream);
    (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream, shutdown_on_drop: true })
}

/// Splits `stream` into borrowed halves (its `split`).
pub(crate) fn split<S: SplitStream>(stream: &mut S) -> (ReadHalf<'_, S>, WriteHalf<'_, S>) {
    let stream = &*stream;
    (ReadHalf(stream), WriteHalf(stream))
}

impl<S: SplitStream> OwnedReadHalf<S> {
    /// Puts the stream back together from its two halves; an error (giving
    /// both back) if they are halves of different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        match Arc::try_unwrap(self.stream) {
            Ok(stream) => Ok(stream),
            // Only the two halves ever hold the stream, and the write half
            // was just dropped.
            Err(_) => unreachable!("a stream's halves are its only owners"),
        }
    }
}

impl<S: SplitStream> OwnedWriteHalf<S> {
    /// Puts the stream back together; see [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf<S>) -> Result<S, ReuniteError<S>> {
        other.reunite(self)
    }
}

impl<S: SplitStream> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The stream may already be closed by the peer: nothing to report.
            let _ = self.stream.shutdown_write_priv();
        }
    }
}

macro_rules! halves_common {
    ($($half:ident $(<$lt:lifetime>)?),*) => {$(
        impl<$($lt,)? S: SplitStream> AsRef<S> for $half<$($lt,)? S> {
            fn as_ref(&self) -> &S {
                self.stream_ref()
            }
        }

        impl<$($lt,)? S: SplitStream + fmt::Debug> fmt::Debug for $half<$($lt,)? S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($half)).field(self.stream_ref()).finish()
            }
        }
    )*};
}

halves_common!(OwnedReadHalf, OwnedWriteHalf, ReadHalf<'a>, WriteHalf<'a>);

impl<S: SplitStream> OwnedReadHalf<S> {
    fn stream_ref(&self) -> &S {
        &self.stream
    }
}
impl<S: SplitStream> OwnedWriteHalf<S> {
    fn stream_ref(&self) -> &S {
        &self.stream
    }
}
impl<S: SplitStream> ReadHalf<'_, S> {
    fn stream_ref(&self) -> &S {
        self.0
    }
}
impl<S: SplitStream> WriteHalf<'_, S> {
    fn stream_ref(&self) -> &S {
        self.0
    }
}

macro_rules! read_half {
    ($($half:ident $(<$lt:lifetime>)?),*) => {$(
        impl<$($lt,)? S: SplitStream> AsyncRead for $half<$($lt,)? S> {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.stream_ref().poll_read_priv(cx, buf)
            }
        }

        #[cfg(feature = "hyper")]
        impl<$($lt,)? S: SplitStream> ::hyper::rt::Read for $half<$($lt,)? S> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ::hyper::rt::ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                crate::hyper::poll_read_cursor(cx, buf, |cx, buf| self.stream_ref().poll_read_uninit_priv(cx, buf))
            }
        }
    )*};
}

macro_rules! write_half {
    ($($half:ident $(<$lt:lifetime>)?),*) => {$(
        impl<$($lt,)? S: SplitStream> AsyncWrite for $half<$($lt,)? S> {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.stream_ref().poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream_ref().poll_write_vectored_priv(cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.stream_ref().shutdown_write_priv())
            }
        }

        #[cfg(feature = "hyper")]
        impl<$($lt,)? S: SplitStream> ::hyper::rt::Write for $half<$($lt,)? S> {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.stream_ref().poll_write_priv(cx, buf)
            }
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.stream_ref().poll_write_vectored_priv(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.stream_ref().shutdown_write_priv())
            }
        }
    )*};
}

read_half!(OwnedReadHalf, ReadHalf<'a>);
write_half!(OwnedWriteHalf, WriteHalf<'a>);

impl<S: SplitStream + fmt::Debug> fmt::Debug for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReuniteError").field(&self.0).field(&self.1).finish()
    }
}

impl<S: SplitStream> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl<S: SplitStream + fmt::Debug> std::error::Error for ReuniteError<S> {}

/// The traits every stream type implements over its `io:
/// PollEvented<mio stream>` field: `Split`, `futures_io::AsyncRead` /
/// `AsyncWrite`, and with feature `hyper` hyper's `Read` / `Write`.
macro_rules! stream_impls {
    ($stream:ty) => {
        impl $crate::net::split::SplitStream for $stream {}

        impl $crate::net::split::sealed::Split for $stream {
            fn poll_read_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
            #[cfg(feature = "hyper")]
            fn poll_read_uninit_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [std::mem::MaybeUninit<u8>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read_uninit(cx, buf)
            }
            fn poll_write_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }
            fn poll_write_vectored_priv(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }
            fn shutdown_write_priv(&self) -> std::io::Result<()> {
                self.io.get_ref().shutdown(std::net::Shutdown::Write)
            }
        }

        impl futures_lite::io::AsyncRead for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
        }

        impl futures_lite::io::AsyncWrite for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            /// Shuts the write side down: the peer reads EOF.
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
            }
        }

        #[cfg(feature = "hyper")]
        impl ::hyper::rt::Read for $stream {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: ::hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::hyper::poll_read_cursor(cx, buf, |cx, buf| self.io.poll_read_uninit(cx, buf))
            }
        }

        #[cfg(feature = "hyper")]
        impl ::hyper::rt::Write for $stream {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.io.get_ref().shutdown(std::net::Shutdown::Write))
            }
        }
    };
}
pub(crate) use stream_impls;
