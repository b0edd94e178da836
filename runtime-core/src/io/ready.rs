//! Readiness bits, the two directions, and the readiness word's layout.

use std::ops::{BitAnd, BitOr};

/// A set of readiness bits, as one event or one source's readiness word
/// reports them.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct Ready(usize);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(1);
    pub(crate) const WRITABLE: Ready = Ready(1 << 1);
    /// The peer shut its write side down (a read returns EOF), or the
    /// connection is gone: final, never cleared.
    pub(crate) const READ_CLOSED: Ready = Ready(1 << 2);
    /// Writing can no longer succeed: final, never cleared.
    pub(crate) const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// The socket has a pending error (`SO_ERROR`): the next operation
    /// returns it.
    pub(crate) const ERROR: Ready = Ready(1 << 4);
    /// Every readiness bit.
    pub(crate) const MASK: usize = (1 << 5) - 1;
    /// The bits a `WouldBlock` (or a short read or write) may clear: the
    /// closed states are final.
    const CLEARABLE: Ready = Ready(Self::READABLE.0 | Self::WRITABLE.0 | Self::ERROR.0);

    /// What one event of the OS layer says.
    pub(crate) fn from_event(event: &mio::event::Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready = ready | Ready::READABLE;
        }
        if event.is_writable() {
            ready = ready | Ready::WRITABLE;
        }
        if event.is_read_closed() {
            ready = ready | Ready::READ_CLOSED;
        }
        if event.is_write_closed() {
            ready = ready | Ready::WRITE_CLOSED;
        }
        if event.is_error() {
            ready = ready | Ready::ERROR;
        }
        ready
    }

    pub(crate) const fn from_bits(bits: usize) -> Ready {
        Ready(bits & Self::MASK)
    }

    pub(crate) const fn bits(self) -> usize {
        self.0
    }

    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// The part of `self` that an operation that found the source drained
    /// may clear.
    pub(crate) const fn clearable(self) -> Ready {
        Ready(self.0 & Self::CLEARABLE.0)
    }
}

impl BitOr for Ready {
    type Output = Ready;
    fn bitor(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }
}

impl BitAnd for Ready {
    type Output = Ready;
    fn bitand(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }
}

/// One direction of a source: what an operation waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    /// Reads, accepts, receives.
    Read,
    /// Writes, sends, a connect in progress.
    Write,
}

impl Direction {
    /// The bits that make an operation of this direction worth trying: its
    /// own readiness, its closed state (the operation then returns EOF or an
    /// error at once), or a pending error.
    pub(crate) const fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0),
            Direction::Write => Ready(Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0),
        }
    }
}

/// The readiness an operation observed before its syscall: what it may
/// clear afterwards, and the tick that says whether an event came in
/// between (see "Readiness" in the module docs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ReadyEvent {
    pub(crate) tick: usize,
    /// The observed bits of the operation's direction only.
    pub(crate) ready: Ready,
}

/// The readiness word: bits `0..5` the readiness, bit 5 set once the driver
/// shut down, bits `TICK_SHIFT..` the tick (bumped by every event for the
/// source; it wraps, which only matters if some 2^56 events (2^24 on 32-bit
/// targets) arrive while one operation is between its load and its clear).
pub(crate) mod word {
    use super::Ready;

    /// Set once the driver shut down: every operation fails from then on.
    pub(crate) const SHUTDOWN: usize = 1 << 5;
    pub(crate) const TICK_SHIFT: u32 = 8;
    /// One tick, added to the whole word (the tick is its top bits, so the
    /// add wraps around the tick alone).
    pub(crate) const TICK_ONE: usize = 1 << TICK_SHIFT;

    pub(crate) const fn tick(word: usize) -> usize {
        word >> TICK_SHIFT
    }

    pub(crate) const fn ready(word: usize) -> Ready {
        Ready::from_bits(word)
    }
}
