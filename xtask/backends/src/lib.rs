//! The queue backends, named once for the tooling: `xtask`, `bench` and
//! `soak` all take their list from [`BACKENDS`], and `bench` and `soak` turn
//! a name into its queue type with [`with_backend!`].
//!
//! ```
//! # #[cfg(feature = "queues")] {
//! use pluggable_runtime::{Queue, generic::Runtime};
//!
//! fn workers<Q: Queue>(n: usize) -> usize {
//!     Runtime::<Q>::builder().worker_threads(n).build().unwrap().metrics().worker_threads
//! }
//! for name in backends::BACKENDS {
//!     assert_eq!(backends::with_backend!(name, |Q| workers::<Q>(2)), Some(2));
//! }
//! assert_eq!(backends::with_backend!("tokio", |Q| workers::<Q>(2)), None);
//! # }
//! ```
//!
//! This is a tooling crate: the library crates never depend on it (a backend
//! depends on `runtime-core`, never the reverse). Its list is the facade's
//! (`pluggable_runtime::backends`), which the demo uses too.

/// Every queue backend, by the name the tools use for it (its crate is
/// `queue-{name}`), in the order they run them: the facade's list
/// (`pluggable_runtime::backends::ORDER`), the one place a backend is added.
pub const BACKENDS: [&str; pluggable_runtime::backends::ORDER.len()] = pluggable_runtime::backends::ORDER;

/// The facade, for the macros; public only so that they can reach it from
/// other crates.
#[doc(hidden)]
pub use pluggable_runtime as __facade;

/// `with_backend!(name, |Q| body)`: evaluates `body` with the type `Q` set
/// to the queue backend called `name` (one of [`BACKENDS`]), giving
/// `Some(body)`, or `None` for any other name. Needs the `queues` feature.
#[cfg(feature = "queues")]
#[macro_export]
macro_rules! with_backend {
    ($name:expr, |$queue:ident| $body:expr) => {
        $crate::__facade::__backend_list!(($crate::__with_backend_arms)($name)($queue)($body))
    };
}

/// The backend crates of the facade's list, re-exported for
/// [`with_backend!`] (a backend added to the list and not to this crate's
/// `queues` dependencies is a compile error here).
#[cfg(feature = "queues")]
#[doc(hidden)]
pub mod __queues {
    macro_rules! reexport {
        ([$(($name:literal, $krate:ident, $ty:ident)),* $(,)?]) => {
            $(pub use $krate;)*
        };
    }
    pluggable_runtime::__backend_list!((reexport));
}

/// The `match` of [`with_backend!`], one arm per backend of the facade's
/// list; public only for that macro.
#[cfg(feature = "queues")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_backend_arms {
    (($name:expr) ($queue:ident) ($body:expr) [$(($backend:literal, $krate:ident, $ty:ident)),* $(,)?]) => {
        match $name {
            $(
                $backend => {
                    type $queue = $crate::__queues::$krate::$ty;
                    Some($body)
                }
            )*
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
