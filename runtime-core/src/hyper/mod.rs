//! hyper 1.x on this runtime with no adaptor (feature `hyper`).
//!
//! - [`TcpStream`](crate::net::TcpStream) and `UnixStream`, and their owned
//!   and borrowed halves, implement [`hyper::rt::Read`]
//!   and [`hyper::rt::Write`]: reads go straight into
//!   hyper's uninitialised buffer (socket2's `recv` into `MaybeUninit`
//!   bytes: nothing is zeroed first), writes are vectored
//!   (`is_write_vectored` is `true`: hyper hands headers and body to one
//!   `writev`), and `poll_shutdown` shuts the write side down.
//! - [`Executor`] implements [`hyper::rt::Executor`]:
//!   what hyper spawns (HTTP/2 streams, a client connection's background
//!   task) runs as a detached task of this runtime.
//! - [`Timer`] implements [`hyper::rt::Timer`] on the runtime's own timers
//!   ([`crate::time`]): hyper's timeouts (`header_read_timeout`, keep-alive
//!   timers) with `http1::Builder::new().timer(Timer::default())`.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use runtime_core::net::{TcpListener, TcpStream};
//!
//! let rt = runtime_core::Runtime::<queue_flume::FlumeQueue>::builder().worker_threads(2).build()?;
//! let body = rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     runtime_core::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let hello = |_: hyper::Request<hyper::body::Incoming>| async {
//!             Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
//!         };
//!         hyper::server::conn::http1::Builder::new()
//!             .serve_connection(stream, hyper::service::service_fn(hello))
//!             .await
//!             .map_err(std::io::Error::other)
//!     })
//!     .detach();
//!     let (mut sender, connection) = hyper::client::conn::http1::handshake(TcpStream::connect(addr).await?)
//!         .await
//!         .map_err(std::io::Error::other)?;
//!     runtime_core::spawn(connection).detach();
//!     let request = hyper::Request::get("/").body(Full::new(Bytes::new())).map_err(std::io::Error::other)?;
//!     let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
//!     let body = response.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
//!     Ok::<_, std::io::Error>(body)
//! })?;
//! assert_eq!(&body[..], b"Hello, World!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{
    future::Future,
    io,
    mem::MaybeUninit,
    task::{Context, Poll, ready},
};

use crate::Handle;

mod timer;

pub use timer::Timer;

/// Spawns what hyper hands it as a detached task: on the runtime given to
/// [`Executor::on`], else on the current one (the runtime of the task or
/// `block_on` that hyper's connection is polled in).
///
/// On a runtime that has shut down the future is dropped at once (the spawn
/// is refused, as every spawn after shutdown is), never a panic inside
/// hyper.
///
/// # Panics
/// `execute` without a handle, outside a task or `Runtime::block_on` of a
/// runtime-core runtime: there is nowhere to spawn.
#[derive(Clone, Debug, Default)]
pub struct Executor {
    handle: Option<Handle>,
}

impl Executor {
    /// An executor that spawns on the current runtime.
    pub fn new() -> Self {
        Self::default()
    }

    /// An executor that spawns on `handle`'s runtime, wherever hyper calls it.
    pub fn on(handle: Handle) -> Self {
        Self { handle: Some(handle) }
    }
}

impl<F> ::hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        match &self.handle {
            Some(handle) => handle.spawn(future).detach(),
            None => match Handle::try_current() {
                Some(handle) => handle.spawn(future).detach(),
                None => panic!(
                    "runtime_core::hyper::Executor::execute called outside a runtime: poll hyper's \
                     connection from a task or inside Runtime::block_on, or build the executor with \
                     Executor::on(handle)"
                ),
            },
        }
    }
}

/// `hyper::rt::Read::poll_read` for the streams: `read` fills the cursor's
/// unfilled part, which is handed over as uninitialised bytes.
pub(crate) fn poll_read_cursor(
    cx: &mut Context<'_>,
    mut buf: ::hyper::rt::ReadBufCursor<'_>,
    read: impl FnOnce(&mut Context<'_>, &mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `as_mut` requires that no initialised byte be de-initialised
    // through the slice. `read` only hands it to socket2's `recv`, which
    // takes `&mut [MaybeUninit<u8>]` in a safe API and only ever writes
    // received bytes into it (the kernel copies into the buffer); nothing
    // writes `MaybeUninit::uninit()` into it.
    let n = ready!(read(cx, unsafe { buf.as_mut() }))?;
    // SAFETY: `recv` returned `n`: the kernel wrote the first `n` bytes of
    // the unfilled part, so they are initialised (and `n` is at most the
    // slice's length, as `recv` never reports more than the buffer held).
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}
