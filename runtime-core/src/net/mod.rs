//! Sockets on the runtime's own I/O driver (feature `net`): TCP, UDP, and
//! Unix domain streams.
//!
//! Each socket is registered once with the driver of the runtime it is
//! created in (the runtime of the task, or of the `Runtime::block_on`, that
//! creates it; an accepted stream goes to its listener's), edge-triggered,
//! for both directions. How readiness is kept and cleared, and what that
//! saves (no `epoll_ctl` in steady state, no read that returns `EAGAIN`
//! after a short read), is in [`crate::io`]. Every operation spends one unit
//! of the task's cooperative budget, so a task whose socket is always ready
//! still lets the others run.
//!
//! The streams ([`TcpStream`], [`UnixStream`]) are `Send + Sync + Unpin`,
//! implement `futures_io::AsyncRead` and `AsyncWrite` (with vectored writes;
//! `poll_close` shuts the write side down), and split into owned halves
//! ([`OwnedReadHalf`], [`OwnedWriteHalf`]) or borrowed ones ([`ReadHalf`],
//! [`WriteHalf`]). With feature `hyper` they, and their halves, implement
//! hyper's `Read` and `Write` directly: see `runtime_core::hyper`.
//!
//! Creating a socket outside a runtime panics with a message that says so
//! (for `bind` and `connect`, when the future is first polled). A socket
//! whose runtime has shut down fails every operation with an error that
//! says so. Host names are resolved on the runtime's blocking pool
//! ([`ToSocketAddrs`]).

mod addr;
mod split;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use addr::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, SplitStream, WriteHalf};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixListener, UnixStream};

impl<E: mio::event::Source> crate::io::PollEvented<E> {
    /// Registers `io` with the current runtime's driver.
    ///
    /// # Panics
    /// Outside a runtime (see [`current_driver`](crate::handle::current_driver)).
    #[track_caller]
    pub(crate) fn new(io: E) -> std::io::Result<Self> {
        Self::with_driver(crate::handle::current_driver(), io)
    }
}
