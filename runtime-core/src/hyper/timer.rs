//! [`Timer`]: hyper's `Timer` on the runtime's own timers.

use std::{
    pin::Pin,
    time::{Duration, Instant},
};

use crate::time::{Sleep, sleep, sleep_until};

/// hyper's [`Timer`](hyper::rt::Timer) on the current runtime's timers: its
/// sleeps are [`runtime_core::time::Sleep`](crate::time::Sleep)s, and
/// `reset` moves one in place (no new allocation, no new timer entry).
///
/// Hand it to hyper's connection builders (`.timer(Timer::default())`).
/// It holds no runtime: each sleep belongs to the runtime current where
/// hyper asks for it (inside a task of a runtime-core runtime).
///
/// # Panics
/// A sleep asked for outside a runtime panics, as [`sleep`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timer(());

impl Timer {
    /// The timer; the same as `Timer::default()`.
    pub fn new() -> Self {
        Self(())
    }
}

impl hyper::rt::Timer for Timer {
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(sleep(duration))
    }

    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(sleep_until(deadline))
    }

    #[track_caller]
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.get_mut().reset(new_deadline),
            // Another timer's sleep: replaced by one of ours.
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

impl hyper::rt::Sleep for Sleep {}
