//! The backends by name: which ones this build enables, their types, and a
//! dispatch from a name chosen at run time (a `--queue` flag) to a type.
//!
//! ```
//! use pluggable_runtime::{Queue, backends::{self, WithQueue}};
//!
//! /// Builds a runtime on the queue `Q` and reports its worker count.
//! struct Workers(usize);
//!
//! impl WithQueue for Workers {
//!     type Output = usize;
//!     fn call<Q: Queue>(self) -> usize {
//!         let rt = pluggable_runtime::generic::Runtime::<Q>::builder().worker_threads(self.0).build().unwrap();
//!         rt.metrics().worker_threads
//!     }
//! }
//!
//! assert!(backends::is_enabled("flume")); // the default feature
//! assert_eq!(backends::with_backend("flume", Workers(2)), Some(2));
//! assert_eq!(backends::with_backend("tokio", Workers(2)), None);
//! assert_eq!(backends::DEFAULT, Some("flume"));
//! ```

use runtime_core::Queue;

/// **The one list of queue backends**: `(feature and name, crate, type)`, in
/// the order [`DefaultQueue`](crate::DefaultQueue) is picked from. Adding a
/// backend is one line here, plus its feature and optional dependency in
/// this crate's `Cargo.toml`; everything else that lists backends (this
/// module's [`ORDER`] and [`with_backend`], [`DefaultQueue`](crate::DefaultQueue),
/// the demo's `--queue`, the tooling's `backends` crate) is made from it.
///
/// `__backend_list!((callback) args...)` expands to `callback! { args...
/// [(name, crate, Type), ...] }`. Public only so that the tooling can make
/// its dispatch from the same list; not an API.
#[doc(hidden)]
#[macro_export]
macro_rules! __backend_list {
    (($($callback:tt)*) $($arg:tt)*) => {
        $($callback)*! { $($arg)* [
            ("crossbeam", queue_crossbeam, CrossbeamQueue),
            ("mutex", queue_mutex, MutexQueue),
            ("flume", queue_flume, FlumeQueue),
        ] }
    };
}

/// What this module defines from [`__backend_list!`]: a re-export of each
/// enabled backend's type, [`ORDER`], `ENABLED` and [`with_backend`].
macro_rules! define_backends {
    ([$(($name:literal, $krate:ident, $ty:ident)),* $(,)?]) => {
        $(
            #[cfg(feature = $name)]
            pub use $krate::$ty;
        )*

        /// Every backend this crate knows, by its feature name, in the order
        /// [`DefaultQueue`](crate::DefaultQueue) is picked from.
        pub const ORDER: [&str; [$($name),*].len()] = [$($name),*];

        /// Whether each backend of [`ORDER`] is enabled in this build.
        const ENABLED: [bool; ORDER.len()] = [$(cfg!(feature = $name)),*];

        /// Calls `f` with the queue type of the backend called `name`, if this
        /// build enables it: `None` for a backend not enabled, or an unknown
        /// name.
        pub fn with_backend<W: WithQueue>(name: &str, f: W) -> Option<W::Output> {
            match name {
                $(
                    #[cfg(feature = $name)]
                    $name => Some(f.call::<$krate::$ty>()),
                )*
                _ => {
                    // Without any backend, `f` is never called.
                    drop(f);
                    None
                }
            }
        }
    };
}

crate::__backend_list!((define_backends));

/// The name of the backend [`DefaultQueue`](crate::DefaultQueue) is, or
/// `None` when this build enables no backend.
pub const DEFAULT: Option<&str> = {
    let mut i = 0;
    while i < ORDER.len() && !ENABLED[i] {
        i += 1;
    }
    if i < ORDER.len() { Some(ORDER[i]) } else { None }
};

/// Whether this build enables the backend `name` (`"flume"`, `"crossbeam"`
/// or `"mutex"`); `false` for any other name.
pub fn is_enabled(name: &str) -> bool {
    ORDER.iter().position(|b| *b == name).is_some_and(|i| ENABLED[i])
}

/// The backends this build enables, in [`ORDER`].
pub fn enabled() -> impl Iterator<Item = &'static str> {
    ORDER.into_iter().zip(ENABLED).filter_map(|(name, on)| on.then_some(name))
}

/// Code to run with a queue type chosen at run time; see [`with_backend`].
pub trait WithQueue {
    /// What [`WithQueue::call`] returns.
    type Output;

    /// Runs with `Q` set to the chosen backend.
    fn call<Q: Queue>(self) -> Self::Output;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TypeName;

    impl WithQueue for TypeName {
        type Output = &'static str;
        fn call<Q: Queue>(self) -> &'static str {
            std::any::type_name::<Q>()
        }
    }

    #[test]
    fn every_enabled_name_dispatches_to_its_own_queue() {
        for name in ORDER {
            match with_backend(name, TypeName) {
                Some(queue) => {
                    assert!(is_enabled(name));
                    assert!(queue.starts_with(&format!("queue_{name}::")), "{name} dispatches to {queue}");
                }
                None => assert!(!is_enabled(name), "{name} is enabled but does not dispatch"),
            }
        }
        assert_eq!(with_backend("tokio", TypeName), None);
        assert!(!is_enabled("tokio"));
    }

    #[test]
    fn the_default_is_the_first_enabled() {
        assert_eq!(DEFAULT, enabled().next());
    }

    #[test]
    #[cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]
    fn the_default_is_default_queue() {
        let default = std::any::type_name::<crate::DefaultQueue>();
        assert_eq!(with_backend(DEFAULT.unwrap(), TypeName), Some(default));
    }
}
