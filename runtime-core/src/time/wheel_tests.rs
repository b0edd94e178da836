//! The timing wheel alone, against a plain model: ordering, cascading
//! across levels, cancelling, resetting, wrap-around of the top level,
//! deadlines past and far beyond its reach, and a million timers.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    task::{Wake, Waker},
    time::Instant,
};

use super::wheel::{Key, LEVELS, MAX_DEADLINE, PAGE, SLOTS, SPAN, Wheel};

/// Records the id of each waker woken, in order.
#[derive(Default, Clone)]
struct Log(Arc<Mutex<Vec<u64>>>);

struct IdWaker {
    id: u64,
    log: Log,
}

impl Wake for IdWaker {
    fn wake(self: Arc<Self>) {
        self.log.0.lock().unwrap().push(self.id);
    }
}

impl Log {
    fn waker(&self, id: u64) -> Waker {
        Waker::from(Arc::new(IdWaker { id, log: self.clone() }))
    }

    fn take(&self) -> Vec<u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Wakes everything due by `now`; returns how many.
fn fire(wheel: &mut Wheel, now: u64) -> usize {
    let mut n = 0;
    while let Some(waker) = wheel.pop_due(now) {
        waker.wake();
        n += 1;
    }
    n
}

/// Drives the wheel as the waiting thread does: jump to the next
/// expiration, fire, repeat, until nothing is pending or `until` is passed.
/// Returns `(time, id)` of every fire, and the number of turns.
fn drive(wheel: &mut Wheel, log: &Log, until: u64) -> (Vec<(u64, u64)>, usize) {
    let mut fired = Vec::new();
    let mut turns = 0;
    while let Some(next) = wheel.next_expiration() {
        if next > until {
            break;
        }
        turns += 1;
        fire(wheel, next);
        fired.extend(log.take().into_iter().map(|id| (next, id)));
    }
    (fired, turns)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn entries_are_32_bytes() {
    assert_eq!(std::mem::size_of::<Option<Key>>(), 4);
    let mut wheel = Wheel::new();
    let key = wheel.insert(5, None);
    assert_eq!(wheel.storage_bytes(), PAGE * 32, "one page of 32-byte entries");
    wheel.remove(key);
}

#[test]
fn fires_each_timer_at_its_deadline_in_order() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    // Deadlines on every level: both sides of each level's boundaries.
    let mut deadlines = vec![1, 2, 62, 63, 64, 65, 127, 128, 4095, 4096, 4097, 100_000];
    for level in 1..LEVELS as u32 {
        let boundary = 1u64 << (6 * level);
        deadlines.extend([boundary - 1, boundary, boundary + 1, 3 * boundary + 7]);
    }
    deadlines.sort_unstable();
    deadlines.dedup();
    let keys: Vec<Key> = deadlines.iter().map(|&d| wheel.insert(d, Some(log.waker(d)))).collect();
    let (fired, turns) = drive(&mut wheel, &log, u64::MAX);
    // Each fires exactly at its deadline (the driver jumps to it), in order.
    assert_eq!(fired, deadlines.iter().map(|&d| (d, d)).collect::<Vec<_>>());
    // Cascades cost at most one early turn per level and timer.
    assert!(turns <= deadlines.len() * LEVELS, "{turns} turns for {} timers", deadlines.len());
    for key in keys {
        assert!(wheel.is_fired(&key));
        assert!(wheel.remove(key).is_none(), "a fired entry's waker was handed out");
    }
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn never_fires_early_when_time_jumps() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    let mut rng = Rng(7);
    let mut pending: BTreeSet<(u64, u64)> = BTreeSet::new();
    for id in 0..5_000 {
        let deadline = rng.below(300_000);
        wheel.insert(deadline, Some(log.waker(id)));
        pending.insert((deadline, id));
    }
    let mut now = 0;
    while !pending.is_empty() {
        now += rng.below(5_000);
        fire(&mut wheel, now);
        let woken = log.take();
        // Exactly the timers due by `now`, in deadline order.
        let due: Vec<(u64, u64)> = pending.iter().take_while(|(d, _)| *d <= now).copied().collect();
        let mut woken_sorted: Vec<(u64, u64)> =
            woken.iter().map(|id| *due.iter().find(|(_, i)| i == id).expect("woken early")).collect();
        let in_order = woken_sorted.windows(2).all(|w| w[0].0 <= w[1].0);
        assert!(in_order, "woken out of deadline order at {now}: {woken_sorted:?}");
        woken_sorted.sort_unstable();
        assert_eq!(woken_sorted, due, "at {now}");
        for entry in due {
            pending.remove(&entry);
        }
        assert_eq!(wheel.elapsed(), now);
    }
}

#[test]
fn next_expiration_is_a_lower_bound_and_exact_on_level_zero() {
    let mut wheel = Wheel::new();
    assert_eq!(wheel.next_expiration(), None);
    let key = wheel.insert(40, None);
    assert_eq!(wheel.next_expiration(), Some(40), "level 0: the deadline itself");
    wheel.remove(key);
    let key = wheel.insert(5_000, None);
    // Level 2 (4096 ms slots) first, then level 1 (64 ms slots: 4992 is
    // 78 * 64), then level 0: one cascade per level, nothing due before.
    for start in [4_096, 4_992] {
        assert_eq!(wheel.next_expiration(), Some(start));
        assert!(wheel.pop_due(start).is_none(), "a cascade at {start}, nothing due");
        assert!(!wheel.is_fired(&key));
    }
    assert_eq!(wheel.next_expiration(), Some(5_000));
    wheel.remove(key);
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn cancelled_timers_leave_nothing_behind() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    let keys: Vec<Key> = (0..3 * PAGE as u64).map(|i| wheel.insert(1 + i * 37, Some(log.waker(i)))).collect();
    assert_eq!(wheel.len(), 3 * PAGE);
    for key in keys {
        assert!(wheel.remove(key).is_some(), "a pending entry's waker comes back");
    }
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_expiration(), None, "every slot is empty again");
    assert_eq!(fire(&mut wheel, MAX_DEADLINE), 0);
    assert!(log.take().is_empty(), "no cancelled timer fired");
    // Freed entries are reused: no new page.
    let bytes = wheel.storage_bytes();
    let keys: Vec<Key> = (0..3 * PAGE as u64).map(|i| wheel.insert(i, None)).collect();
    assert_eq!(wheel.storage_bytes(), bytes);
    keys.into_iter().for_each(|key| drop(wheel.remove(key)));
}

#[test]
fn cancelling_one_of_a_slot_keeps_the_others() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    // Three in one level-0 slot, three in one level-1 slot.
    let a: Vec<Key> = (0..3).map(|i| wheel.insert(10, Some(log.waker(i)))).collect();
    let b: Vec<Key> = (3..6).map(|i| wheel.insert(100, Some(log.waker(i)))).collect();
    let mut a = a.into_iter();
    let mut b = b.into_iter();
    // The middle of one list, the head of the other.
    let (a0, a1, a2) = (a.next().unwrap(), a.next().unwrap(), a.next().unwrap());
    let (b0, b1, b2) = (b.next().unwrap(), b.next().unwrap(), b.next().unwrap());
    wheel.remove(a1);
    wheel.remove(b2);
    let (fired, _) = drive(&mut wheel, &log, u64::MAX);
    let mut ids: Vec<u64> = fired.iter().map(|&(_, id)| id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0, 2, 3, 4]);
    for key in [a0, a2, b0, b1] {
        wheel.remove(key);
    }
    assert_eq!(wheel.len(), 0);
}

#[test]
fn reset_moves_a_timer_both_ways_and_rearms_a_fired_one() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    let early = wheel.insert(1_000, Some(log.waker(1)));
    let late = wheel.insert(10, Some(log.waker(2)));
    wheel.reset(&early, 5);
    wheel.reset(&late, 200_000);
    assert_eq!((wheel.deadline(&early), wheel.deadline(&late)), (5, 200_000));
    let (fired, _) = drive(&mut wheel, &log, 100_000);
    assert_eq!(fired, vec![(5, 1)]);
    // Re-armed after it fired: its waker was handed out, so it comes back
    // without one, and firing again hands out nothing until one is set.
    assert!(wheel.is_fired(&early));
    wheel.reset(&early, 150_000);
    assert!(!wheel.is_fired(&early));
    assert!(wheel.set_waker(&early, &log.waker(3)).is_none());
    // The same task's waker again: kept, nothing replaced.
    let (fired, _) = drive(&mut wheel, &log, u64::MAX);
    assert_eq!(fired, vec![(150_000, 3), (200_000, 2)]);
    wheel.remove(early);
    wheel.remove(late);
}

#[test]
fn set_waker_keeps_a_waker_of_the_same_task() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    let waker = log.waker(1);
    let key = wheel.insert(50, Some(waker.clone()));
    assert!(wheel.set_waker(&key, &waker).is_none(), "will_wake: nothing replaced");
    let replaced = wheel.set_waker(&key, &log.waker(2)).expect("another task's waker replaces it");
    assert!(replaced.will_wake(&waker));
    assert_eq!(fire(&mut wheel, 50), 1);
    assert_eq!(log.take(), vec![2]);
    wheel.remove(key);
}

#[test]
fn past_deadlines_fire_on_the_next_pop() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    assert_eq!(fire(&mut wheel, 10_000), 0);
    assert_eq!(wheel.elapsed(), 10_000);
    let past = wheel.insert(3, Some(log.waker(1)));
    let now = wheel.insert(10_000, Some(log.waker(2)));
    assert_eq!(wheel.next_expiration(), Some(10_000), "due already");
    // Even a `now` behind `elapsed` (another thread's older clock) fires them.
    assert_eq!(fire(&mut wheel, 9_000), 2);
    let mut woken = log.take();
    woken.sort_unstable();
    assert_eq!(woken, vec![1, 2]);
    assert_eq!(wheel.elapsed(), 10_000, "elapsed never goes back");
    wheel.remove(past);
    wheel.remove(now);
}

#[test]
fn the_top_level_wraps_around_its_block() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    // Just before the end of the first 2^36 ms block: deadlines straddle it.
    let start = SPAN - 5;
    fire(&mut wheel, start);
    let deadlines =
        [SPAN - 1, SPAN, SPAN + 1, SPAN + 64, SPAN + (1 << 30) + 3, 2 * SPAN - 10, start + SPAN - 1];
    let keys: Vec<Key> = deadlines.iter().map(|&d| wheel.insert(d, Some(log.waker(d)))).collect();
    let (fired, turns) = drive(&mut wheel, &log, u64::MAX);
    assert_eq!(fired, deadlines.iter().map(|&d| (d, d)).collect::<Vec<_>>());
    assert!(turns <= deadlines.len() * (LEVELS + 1), "{turns} turns");
    keys.into_iter().for_each(|key| drop(wheel.remove(key)));
}

#[test]
fn deadlines_beyond_the_top_level_clamp_and_cascade_again() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    fire(&mut wheel, 12_345);
    let deadlines = [3 * SPAN + 17, SPAN + 12_345, 5 * SPAN - 1, 40 * SPAN + (1 << 31), MAX_DEADLINE];
    let keys: Vec<Key> = deadlines.iter().map(|&d| wheel.insert(d, Some(log.waker(d)))).collect();
    // The next expiration is a slot start within reach, never after a deadline.
    let next = wheel.next_expiration().unwrap();
    assert!(next > 12_345 && next <= 12_345 + SPAN, "{next}");
    // Up to the fourth deadline: each fires exactly then, none early.
    let (fired, turns) = drive(&mut wheel, &log, 40 * SPAN + (1 << 31));
    let mut expected: Vec<u64> = deadlines[..4].to_vec();
    expected.sort_unstable();
    assert_eq!(fired, expected.iter().map(|&d| (d, d)).collect::<Vec<_>>());
    // A far deadline costs a turn per top-level block it waits (2^36 ms,
    // about 2.2 years, each), plus its cascades.
    assert!(turns <= 4 * (LEVELS + 1) + 2 * 41, "{turns} turns");
    // MAX_DEADLINE is still pending, and fires when it comes.
    assert!(!wheel.is_fired(&keys[4]));
    fire(&mut wheel, MAX_DEADLINE);
    assert_eq!(log.take(), vec![MAX_DEADLINE]);
    keys.into_iter().for_each(|key| drop(wheel.remove(key)));
    assert_eq!(wheel.len(), 0);
}

#[test]
fn clear_hands_out_every_waker_and_frees_the_storage() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    for i in 0..2_000 {
        let _ = wheel.insert(i * 1_000, Some(log.waker(i)));
    }
    fire(&mut wheel, 500_000);
    assert_eq!(log.take().len(), 501, "deadlines 0..=500 000 fired");
    let mut wakers = Vec::new();
    wheel.clear(&mut wakers);
    assert_eq!(wakers.len(), 2_000 - 501, "the pending ones' wakers");
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.storage_bytes(), 0);
    assert_eq!(wheel.next_expiration(), None);
}

/// Random inserts, cancels, resets and time jumps against a model.
#[test]
fn random_operations_match_a_model() {
    let log = Log::default();
    let mut wheel = Wheel::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // id -> (key, deadline)
    let mut live: Vec<(u64, Key, u64)> = Vec::new();
    let mut fired_ids = BTreeSet::new();
    let mut now = 0u64;
    let mut next_id = 0;
    for step in 0..30_000 {
        match rng.below(10) {
            0..=3 => {
                // Mostly near, sometimes far, sometimes past.
                let deadline = match rng.below(20) {
                    0 => now.saturating_sub(rng.below(100)),
                    1 => now + rng.below(4 * SPAN),
                    2..=5 => now + rng.below(1 << 24),
                    _ => now + rng.below(5_000),
                };
                let key = wheel.insert(deadline, Some(log.waker(next_id)));
                live.push((next_id, key, deadline));
                next_id += 1;
            }
            4..=5 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                let (id, key, _) = live.swap_remove(i);
                wheel.remove(key);
                fired_ids.remove(&id);
            }
            6 if !live.is_empty() => {
                let i = rng.below(live.len() as u64) as usize;
                let deadline = now + rng.below(10_000);
                wheel.reset(&live[i].1, deadline);
                live[i].2 = deadline;
                // A reset re-arms: it fires again, with the waker it has.
                if fired_ids.remove(&live[i].0) {
                    assert!(wheel.set_waker(&live[i].1, &log.waker(live[i].0)).is_none());
                }
            }
            _ => {
                now += match rng.below(10) {
                    0 => rng.below(1 << 22),
                    _ => rng.below(300),
                };
                fire(&mut wheel, now);
                for id in log.take() {
                    let &(_, _, deadline) =
                        live.iter().find(|(i, _, _)| *i == id).expect("a live timer fired");
                    assert!(deadline <= now, "step {step}: timer {id} due at {deadline} fired at {now}");
                    assert!(fired_ids.insert(id), "step {step}: timer {id} fired twice");
                }
                // Everything due has fired, and nothing else.
                for (id, key, deadline) in &live {
                    assert_eq!(
                        wheel.is_fired(key),
                        *deadline <= now,
                        "step {step}: timer {id} due at {deadline}, now {now}"
                    );
                }
                if let Some(next) = wheel.next_expiration() {
                    let earliest = live.iter().filter(|(_, k, _)| !wheel.is_fired(k)).map(|e| e.2).min();
                    assert!(
                        earliest.is_some_and(|e| next <= e && next > now),
                        "step {step}: next {next}, earliest {earliest:?}"
                    );
                }
            }
        }
        assert_eq!(wheel.len(), live.len());
    }
    for (_, key, _) in live {
        wheel.remove(key);
    }
    assert_eq!(wheel.len(), 0);
}

/// A million timers: inserted, 90% cancelled, the rest fired, with every
/// operation O(1): placements (insert, reset and cascade moves) stay within
/// `LEVELS` per timer, and the driver turns within `LEVELS` per slot fired.
#[test]
fn a_million_timers_stay_cheap() {
    const TIMERS: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
    let started = Instant::now();
    let mut wheel = Wheel::new();
    let mut rng = Rng(42);
    let waker = Waker::noop();
    let mut keys: Vec<(Key, u64)> = (0..TIMERS)
        .map(|_| {
            // Up to ten minutes ahead: levels 0 to 3.
            let deadline = 1 + rng.below(600_000);
            (wheel.insert(deadline, Some(waker.clone())), deadline)
        })
        .collect();
    let inserted = started.elapsed();
    // Cancel 90%, in random order.
    let mut kept = Vec::new();
    while let Some((key, deadline)) = keys.pop() {
        if rng.below(10) == 0 {
            kept.push((key, deadline));
        } else {
            wheel.remove(key);
        }
        if !keys.is_empty() {
            let i = rng.below(keys.len() as u64) as usize;
            let last = keys.len() - 1;
            keys.swap(i, last);
        }
    }
    assert_eq!(wheel.len(), kept.len());
    let cancelled = started.elapsed();
    let before = wheel.placements;
    let mut fired = 0;
    let mut turns = 0;
    while let Some(next) = wheel.next_expiration() {
        turns += 1;
        while wheel.pop_due(next).is_some() {
            fired += 1;
        }
    }
    let done = started.elapsed();
    assert_eq!(fired, kept.len());
    let cascade_moves = wheel.placements - before;
    assert!(
        cascade_moves <= kept.len() as u64 * (LEVELS as u64 - 1),
        "{cascade_moves} cascade moves for {} timers",
        kept.len()
    );
    // At most one turn per occupied slot of each level: 600 000 ms spans
    // 600 000 level-0 slots, and fewer of every level above.
    assert!(turns <= 600_000 + 600_000 / SLOTS + 600_000 / (SLOTS * SLOTS) + 10, "{turns} turns");
    for (key, _) in kept {
        wheel.remove(key);
    }
    assert_eq!(wheel.len(), 0);
    println!(
        "{TIMERS} timers: inserted in {inserted:?}, 90% cancelled by {cancelled:?}, the rest fired by {done:?} \
         ({turns} turns, {cascade_moves} cascade moves); storage {} MiB",
        wheel.storage_bytes() >> 20
    );
}
