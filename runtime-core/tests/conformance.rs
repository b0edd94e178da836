//! The conformance suite for a tiny queue defined right here: proof that the
//! public `Queue` trait alone is enough for a user's own backend. (Each
//! shipped backend runs the suite from its own crate's
//! `tests/conformance.rs`.)
#![cfg(feature = "testing")]

use std::{collections::VecDeque, sync::Mutex};

use runtime_core::{Queue, Runnable};

/// The smallest honest backend: a `std` mutex around a `VecDeque`.
struct TinyQueue(Mutex<VecDeque<Runnable>>);

impl Queue for TinyQueue {
    fn new() -> Self {
        TinyQueue(Mutex::new(VecDeque::new()))
    }
    fn push(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn pop(&self) -> Option<Runnable> {
        self.0.lock().unwrap().pop_front()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

mod tiny {
    runtime_core::queue_conformance!(super::TinyQueue);
}
