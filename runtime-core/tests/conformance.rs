//! The conformance suite for every backend in the workspace, and for a tiny
//! queue defined right here (proof that a user's own backend works).
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
mod flume {
    runtime_core::queue_conformance!(queue_flume::FlumeQueue);
}
mod crossbeam {
    runtime_core::queue_conformance!(queue_crossbeam::CrossbeamQueue);
}
mod mutex {
    runtime_core::queue_conformance!(queue_mutex::MutexQueue);
}
