//! The queue backends, named once for the tooling: `xtask`, `bench` and
//! `soak` all take their list from [`BACKENDS`], and `bench` and `soak` turn
//! a name into its queue type with [`with_backend!`].
//!
//! ```
//! # #[cfg(feature = "queues")] {
//! fn workers<Q: runtime_core::Queue>(n: usize) -> usize {
//!     runtime_core::Runtime::<Q>::builder().worker_threads(n).build().unwrap().metrics().worker_threads
//! }
//! for name in backends::BACKENDS {
//!     assert_eq!(backends::with_backend!(name, |Q| workers::<Q>(2)), Some(2));
//! }
//! assert_eq!(backends::with_backend!("tokio", |Q| workers::<Q>(2)), None);
//! # }
//! ```
//!
//! This is a tooling crate: the library crates never depend on it (a backend
//! depends on `runtime-core`, never the reverse), and the demo keeps its own
//! `Backend` enum, whose Cargo features enable the backends one by one.

/// Every queue backend, by the name the tools use for it (its crate is
/// `queue-{name}`), in the order they run them.
pub const BACKENDS: [&str; 3] = ["flume", "crossbeam", "mutex"];

/// The backend types `with_backend!` names; public only so that the macro
/// can reach them from other crates.
#[cfg(feature = "queues")]
#[doc(hidden)]
pub mod __queues {
    pub use queue_crossbeam::CrossbeamQueue;
    pub use queue_flume::FlumeQueue;
    pub use queue_mutex::MutexQueue;
}

/// `with_backend!(name, |Q| body)`: evaluates `body` with the type `Q` set
/// to the queue backend called `name` (one of [`BACKENDS`]), giving
/// `Some(body)`, or `None` for any other name. Needs the `queues` feature.
#[cfg(feature = "queues")]
#[macro_export]
macro_rules! with_backend {
    ($name:expr, |$queue:ident| $body:expr) => {
        match $name {
            "flume" => {
                type $queue = $crate::__queues::FlumeQueue;
                Some($body)
            }
            "crossbeam" => {
                type $queue = $crate::__queues::CrossbeamQueue;
                Some($body)
            }
            "mutex" => {
                type $queue = $crate::__queues::MutexQueue;
                Some($body)
            }
            _ => None,
        }
    };
}

#[cfg(all(test, feature = "queues"))]
mod tests {
    use super::*;

    #[test]
    fn every_name_dispatches_to_its_own_queue() {
        for name in BACKENDS {
            let queue = with_backend!(name, |Q| std::any::type_name::<Q>());
            let queue = queue.unwrap_or_else(|| panic!("with_backend! does not know {name}"));
            assert!(queue.starts_with(&format!("queue_{name}::")), "{name} dispatches to {queue}");
        }
        assert_eq!(with_backend!("tokio", |Q| std::any::type_name::<Q>()), None);
    }
}
