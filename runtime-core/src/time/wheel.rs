//! A hierarchical timing wheel: the structure that holds a runtime's pending
//! timers (the idea of tokio's `runtime/time/wheel`, written anew).
//!
//! No clock and no lock in here: times are milliseconds since an origin that
//! the caller picks ([`Timers`](super::timers::Timers) uses the instant it
//! was created), and the caller serialises access (the `Timers` mutex).
//!
//! # Layout
//! [`LEVELS`] levels of [`SLOTS`] slots. A slot of level `L` covers
//! `64^L` milliseconds, a whole level `64^(L+1)`: level 0 has one slot per
//! millisecond, level 5 one per 2^30 ms (12 days), and the wheel reaches
//! [`SPAN`] = 2^36 ms (about 2.2 years) ahead. Each slot is a doubly linked
//! list of entries, with an occupancy bit per slot so that finding the next
//! occupied slot of a level is one rotate and one `trailing_zeros`.
//!
//! Where an entry goes depends on `elapsed`, the time up to which the wheel
//! has fired everything: an entry due at `when` goes to the level of the
//! highest bit in which `when` and `elapsed` differ (6 bits per level), into
//! the slot that `when`'s digit of that level names. So an entry of level `L`
//! agrees with `elapsed` on every digit above `L` and has a larger digit `L`:
//! every entry of a lower level is due before every entry of a higher one,
//! and within a level the slots after the current digit come in time order.
//! The earliest slot is therefore the first occupied slot after the current
//! digit of the lowest occupied level ([`Wheel::next_expiration`]).
//!
//! **Cascading.** When time reaches the start of an occupied slot of level
//! `L > 0`, its entries are placed again relative to the new `elapsed`: they
//! now agree with it on digit `L` too, so they move to a lower level (or fire,
//! if due exactly then). An entry moves down at most once per level: at most
//! `LEVELS - 1` moves in its whole life, however far away it was due.
//!
//! **Beyond the top level.** An entry due more than [`SPAN`] ahead (or in a
//! later top-level block than `elapsed`) goes to level 5 at the slot of its
//! deadline clamped to `elapsed + SPAN - 1`. That slot may lie at or before
//! the current top digit: such a slot belongs to the *next* 2^36 ms block,
//! and its start is computed so. The entry keeps its true deadline, so when
//! its slot comes it is placed again, lower, or once more at the top (a slot
//! further on, never the same one) if it is still beyond reach.
//!
//! **Past deadlines** (`when <= elapsed`) go to the *expired* list, which
//! [`Wheel::pop_due`] empties first, whatever `now` it is given.
//!
//! # Storage
//! Entries live in pages of [`PAGE`] entries that never move (no large copy
//! under the caller's lock when the wheel grows), threaded by `u32` indices:
//! 32 bytes per entry. A [`Key`] is an entry's index; it is not `Clone`, and
//! [`Wheel::remove`] consumes it, so an index is freed only by its one owner.
//! A fired entry stays allocated (marked fired, its waker handed out) until
//! its owner removes it, so a key never names an entry it does not own.
//! Freed entries go on a free list and are reused; pages are kept.
// Under `--cfg loom` the runtime starts no timer thread (no loom model
// waits for timers), so the waiting side is unused there.
#![cfg_attr(loom, allow(dead_code))]

use std::{num::NonZeroU32, task::Waker};

/// Bits of a deadline that one level's digit takes.
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels of the wheel.
pub(crate) const LEVELS: usize = 6;
/// How far ahead of `elapsed` (in milliseconds) the top level reaches
/// without clamping: 64^6 ms, about 2.2 years.
pub(crate) const SPAN: u64 = 1 << (SLOT_BITS * LEVELS as u32);
/// Deadlines (and `now`) are clamped to this many milliseconds (about 2.3
/// million years), so that no slot arithmetic overflows.
pub(crate) const MAX_DEADLINE: u64 = 1 << 56;
/// Entries per page of storage.
pub(crate) const PAGE: usize = 1024;

/// The lists: one per slot of every level, then the expired list.
const LISTS: usize = LEVELS * SLOTS + 1;
const EXPIRED: usize = LEVELS * SLOTS;

/// `next` of the last entry of a list (and of a fired entry).
const NIL: u32 = u32::MAX;
/// `prev` of a fired entry: linked in no list, waiting for its owner.
const FIRED: u32 = u32::MAX - 1;
/// `prev` of a free entry (its `next` is the next free entry).
const VACANT: u32 = u32::MAX - 2;
/// `prev` of the first entry of list `l` is `HEAD + l`.
const HEAD: u32 = VACANT - LISTS as u32;
/// Entry indices stay below the markers.
const MAX_ENTRIES: usize = HEAD as usize;

/// One timer: 32 bytes.
#[derive(Debug)]
struct Entry {
    /// Woken (handed out by [`Wheel::pop_due`]) when the entry fires.
    waker: Option<Waker>,
    /// Milliseconds since the origin.
    deadline: u64,
    /// The previous entry in its list, `HEAD + list` for the first, or one
    /// of the markers [`FIRED`] / [`VACANT`].
    prev: u32,
    /// The next entry in its list (or on the free list), or [`NIL`].
    next: u32,
}

impl Entry {
    const fn vacant(next: u32) -> Self {
        Self { waker: None, deadline: 0, prev: VACANT, next }
    }
}

/// Names one entry of the wheel that created it; owned by one timer.
///
/// Not `Clone`: [`Wheel::remove`] consumes it, and only its owner frees the
/// entry. It names an entry of one wheel only, until [`Wheel::clear`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key(NonZeroU32);

impl Key {
    fn index(&self) -> usize {
        self.0.get() as usize - 1
    }
}

/// The timing wheel: see the module docs.
#[derive(Debug)]
pub(crate) struct Wheel {
    /// Everything due at or before this (ms) has been moved to the expired
    /// list or handed out; only [`Wheel::pop_due`] advances it.
    elapsed: u64,
    /// First entry of each list, or [`NIL`].
    heads: Box<[u32; LISTS]>,
    /// Bit `s` of `occupied[L]`: slot `s` of level `L` is not empty.
    occupied: [u64; LEVELS],
    pages: Vec<Box<[Entry]>>,
    /// First free entry, or [`NIL`].
    free: u32,
    /// Entries allocated (linked or fired).
    len: usize,
    /// Times an entry was placed into a list (insert, reset, cascade): the
    /// tests check that it stays within `LEVELS` per entry.
    #[cfg(test)]
    pub(crate) placements: u64,
}

impl Default for Wheel {
    fn default() -> Self {
        Self::new()
    }
}

impl Wheel {
    /// An empty wheel at time 0.
    pub(crate) fn new() -> Self {
        Self {
            elapsed: 0,
            heads: Box::new([NIL; LISTS]),
            occupied: [0; LEVELS],
            pages: Vec::new(),
            free: NIL,
            len: 0,
            #[cfg(test)]
            placements: 0,
        }
    }

    /// Entries allocated: pending, or fired and not yet removed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The time (ms) up to which everything has fired.
    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Heap bytes held by the entries' storage.
    #[cfg(test)]
    pub(crate) fn storage_bytes(&self) -> usize {
        self.pages.len() * PAGE * std::mem::size_of::<Entry>()
    }

    fn entry(&self, index: u32) -> &Entry {
        &self.pages[index as usize / PAGE][index as usize % PAGE]
    }

    fn entry_mut(&mut self, index: u32) -> &mut Entry {
        &mut self.pages[index as usize / PAGE][index as usize % PAGE]
    }

    /// Adds a timer due at `deadline` (ms; clamped to [`MAX_DEADLINE`]) that
    /// wakes `waker`. A deadline at or before `elapsed` fires on the next
    /// [`Wheel::pop_due`].
    ///
    /// # Panics
    /// With more than about 4 billion entries at once (128 GiB of them).
    pub(crate) fn insert(&mut self, deadline: u64, waker: Option<Waker>) -> Key {
        if self.free == NIL {
            self.grow();
        }
        let index = self.free;
        let elapsed = self.elapsed;
        let entry = self.entry_mut(index);
        debug_assert_eq!(entry.prev, VACANT);
        let next_free = entry.next;
        *entry = Entry { waker, deadline: deadline.min(MAX_DEADLINE), prev: NIL, next: NIL };
        self.free = next_free;
        self.len += 1;
        self.place(index, elapsed);
        Key(NonZeroU32::new(index + 1).expect("indices stay below u32::MAX"))
    }

    /// Adds a page of free entries.
    fn grow(&mut self) {
        let base = self.pages.len() * PAGE;
        assert!(
            base + PAGE <= MAX_ENTRIES,
            "runtime_core::time: more than {MAX_ENTRIES} timers pending at once"
        );
        let page: Box<[Entry]> = (0..PAGE)
            .map(|i| Entry::vacant(if i + 1 < PAGE { (base + i + 1) as u32 } else { NIL }))
            .collect();
        self.pages.push(page);
        self.free = base as u32;
    }

    /// Frees `key`'s entry, unlinking it if it is still pending. Returns its
    /// waker, for the caller to drop once its lock is released.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let index = key.index() as u32;
        self.unlink(index);
        let free = self.free;
        let entry = self.entry_mut(index);
        let waker = entry.waker.take();
        *entry = Entry::vacant(free);
        self.free = index;
        self.len -= 1;
        waker
    }

    /// Moves `key`'s entry to `deadline` (ms), pending again if it had
    /// fired (with the waker it has: none, if the fire handed it out).
    pub(crate) fn reset(&mut self, key: &Key, deadline: u64) {
        let index = key.index() as u32;
        self.unlink(index);
        self.entry_mut(index).deadline = deadline.min(MAX_DEADLINE);
        let elapsed = self.elapsed;
        self.place(index, elapsed);
    }

    /// Makes `key`'s entry wake `waker`, unless its waker already wakes the
    /// same task. Returns the waker it replaced, for the caller to drop once
    /// its lock is released.
    pub(crate) fn set_waker(&mut self, key: &Key, waker: &Waker) -> Option<Waker> {
        let entry = self.entry_mut(key.index() as u32);
        match &entry.waker {
            Some(current) if current.will_wake(waker) => None,
            _ => entry.waker.replace(waker.clone()),
        }
    }

    /// Whether `key`'s entry has fired (and not been reset since).
    pub(crate) fn is_fired(&self, key: &Key) -> bool {
        self.entry(key.index() as u32).prev == FIRED
    }

    /// `key`'s deadline (ms).
    #[cfg(test)]
    pub(crate) fn deadline(&self, key: &Key) -> u64 {
        self.entry(key.index() as u32).deadline
    }

    /// The earliest time (ms) at which [`Wheel::pop_due`] may find something
    /// to do: `elapsed` if entries are already due, else the start of the
    /// first occupied slot (a lower bound of its entries' deadlines: for a
    /// slot above level 0 it is when they cascade, and nothing may fire
    /// then). `None` with no pending entry.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        if self.heads[EXPIRED] != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, start)| start)
    }

    /// The first occupied slot (module docs): `(level, slot, start)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let current = ((self.elapsed >> shift) as usize) % SLOTS;
            // The first occupied slot after `current`, wrapping around.
            let after = (current + 1) % SLOTS;
            let slot = (after + occupied.rotate_right(after as u32).trailing_zeros() as usize) % SLOTS;
            let level_span = 1u64 << (shift + SLOT_BITS);
            let block = self.elapsed & !(level_span - 1);
            let start = if slot > current {
                block + ((slot as u64) << shift)
            } else {
                // Only the top level wraps: its clamped entries (module docs).
                debug_assert_eq!(
                    level,
                    LEVELS - 1,
                    "a lower level never holds a slot at or before its digit"
                );
                block + level_span + ((slot as u64) << shift)
            };
            return Some((level, slot, start));
        }
        None
    }

    /// Hands out the waker of the next entry due by `now` (ms), marking the
    /// entry fired, or returns `None` once nothing more is due (then
    /// `elapsed` is `now`). Entries due without a waker are marked fired and
    /// skipped. Entries due in different milliseconds come out in deadline
    /// order (past deadlines inserted after they passed come first).
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Waker> {
        let now = now.min(MAX_DEADLINE);
        loop {
            let index = self.heads[EXPIRED];
            if index != NIL {
                self.unlink(index);
                let entry = self.entry_mut(index);
                entry.prev = FIRED;
                match entry.waker.take() {
                    Some(waker) => return Some(waker),
                    None => continue,
                }
            }
            match self.next_slot() {
                Some((level, slot, start)) if start <= now => {
                    self.elapsed = start;
                    self.cascade(level, slot);
                }
                _ => {
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// Places every entry of the slot again, relative to `elapsed` (which
    /// has just reached the slot's start).
    fn cascade(&mut self, level: usize, slot: usize) {
        let list = level * SLOTS + slot;
        let mut index = std::mem::replace(&mut self.heads[list], NIL);
        self.occupied[level] &= !(1 << slot);
        let elapsed = self.elapsed;
        while index != NIL {
            let next = self.entry(index).next;
            self.place(index, elapsed);
            index = next;
        }
    }

    /// Links entry `index` (linked nowhere) into the list its deadline
    /// belongs to, relative to `elapsed`.
    fn place(&mut self, index: u32, elapsed: u64) {
        #[cfg(test)]
        {
            self.placements += 1;
        }
        let deadline = self.entry(index).deadline;
        let list = if deadline <= elapsed {
            EXPIRED
        } else {
            let highest = 63 - (elapsed ^ deadline).leading_zeros();
            let (level, target) = match (highest / SLOT_BITS) as usize {
                level if level < LEVELS => (level, deadline),
                // Beyond the top level: clamped (module docs).
                _ => (LEVELS - 1, deadline.min(elapsed + SPAN - 1)),
            };
            let slot = ((target >> (SLOT_BITS * level as u32)) as usize) % SLOTS;
            self.occupied[level] |= 1 << slot;
            level * SLOTS + slot
        };
        let head = std::mem::replace(&mut self.heads[list], index);
        if head != NIL {
            self.entry_mut(head).prev = index;
        }
        let entry = self.entry_mut(index);
        entry.prev = HEAD + list as u32;
        entry.next = head;
    }

    /// Takes entry `index` out of the list it is linked in, if any (a fired
    /// entry is in none). Leaves it marked fired.
    fn unlink(&mut self, index: u32) {
        let Entry { prev, next, .. } = *self.entry(index);
        debug_assert_ne!(prev, VACANT, "a key names an allocated entry");
        if prev == FIRED {
            return;
        }
        if prev >= HEAD {
            let list = (prev - HEAD) as usize;
            self.heads[list] = next;
            if next == NIL && list != EXPIRED {
                self.occupied[list / SLOTS] &= !(1 << (list % SLOTS));
            }
        } else {
            self.entry_mut(prev).next = next;
        }
        if next != NIL {
            self.entry_mut(next).prev = prev;
        }
        let entry = self.entry_mut(index);
        entry.prev = FIRED;
        entry.next = NIL;
    }

    /// Takes every entry's waker (pending or fired) into `wakers` and frees
    /// all storage: the wheel is new again, and every [`Key`] it gave out is
    /// void (using one afterwards is a logic error: it may panic or name
    /// another timer).
    pub(crate) fn clear(&mut self, wakers: &mut Vec<Waker>) {
        for page in &mut self.pages {
            wakers.extend(page.iter_mut().filter_map(|entry| entry.waker.take()));
        }
        *self = Self::new();
    }
}
