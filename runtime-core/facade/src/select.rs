//! Which backend [`DefaultQueue`] is, from the Cargo features.
//!
//! Features are additive: Cargo unions them over the whole build, so two
//! crates that each enable a different backend get one build with both. That
//! must compile, so the choice is a fixed order, never an error: the first
//! enabled of
//!
//! 1. `crossbeam`, 2. `mutex`, 3. `flume`.
//!
//! `flume` comes last because it is the default feature: any crate in the
//! build that forgot `default-features = false` turns it on, and a backend
//! that someone enabled on purpose should win over that. `crossbeam` comes
//! first because it is the backend that measured without a collapse under
//! contention (see BENCHMARKS.md).
//!
//! With no backend enabled, [`DefaultQueue`] does not exist as a queue: every
//! use of it (and of [`Runtime`](crate::Runtime), [`Builder`](crate::Builder),
//! the free [`spawn`](crate::spawn), [`spawn_with`](crate::spawn_with),
//! [`block_on`](crate::block_on), and `#[main]` / `#[test]` without `queue =`)
//! is a compile error that says which features to enable, through
//! [`HasDefaultQueue`]'s diagnostic. Everything that names its queue still
//! compiles.

use std::marker::PhantomData;

use runtime_core::Queue;

/// `DefaultQueue`: the first enabled backend of the list in `backends.rs`,
/// one `cfg`'d alias per backend (enabled, and none before it is), or, with
/// none enabled, the alias whose every use is the diagnostic below.
macro_rules! define_default_queue {
    ([$($list:tt)*]) => {
        define_default_queue!(@ [] $($list)*);
    };
    (@ [$($before:literal),*] ($name:literal, $krate:ident, $ty:ident) $(, $($rest:tt)*)?) => {
        /// The queue backend that the enabled features select: the first
        /// enabled of `crossbeam`, `mutex`, `flume` (see the crate docs for
        /// why that order).
        #[cfg(all(feature = $name, not(any($(feature = $before),*))))]
        pub type DefaultQueue = $krate::$ty;
        define_default_queue!(@ [$($before,)* $name] $($($rest)*)?);
    };
    (@ [$($before:literal),*]) => {
        /// The queue backend that the enabled features select: the first
        /// enabled of `crossbeam`, `mutex`, `flume`. **This build enables
        /// none**, so any use of it is a compile error that says which
        /// feature to enable.
        #[cfg(not(any($(feature = $before),*)))]
        pub type DefaultQueue = <EnabledBackends as HasDefaultQueue>::Queue;

        #[cfg(any($(feature = $before),*))]
        impl<T: ?Sized> HasDefaultQueue for EnabledBackends<T> {
            type Queue = DefaultQueue;
        }
    };
}

crate::__backend_list!((define_default_queue));

/// The set of backends this build enables, as a type: it implements
/// [`HasDefaultQueue`] exactly when at least one backend feature is on.
///
/// The parameter only makes a bound like `EnabledBackends<F>: HasDefaultQueue`
/// depend on a caller's type, so that a missing backend is an error where the
/// caller asks for the default queue, not inside this crate.
#[derive(Debug)]
pub struct EnabledBackends<T: ?Sized = ()>(PhantomData<T>);

/// Implemented by [`EnabledBackends`] when a backend feature is on; its
/// `Queue` is [`DefaultQueue`].
///
/// You never implement it. It appears as a bound on the functions that use
/// the default queue, and its diagnostic is what a build without a backend
/// shows.
#[diagnostic::on_unimplemented(
    message = "pluggable-runtime has no queue backend enabled, so there is no `DefaultQueue`",
    label = "this uses `pluggable_runtime::DefaultQueue`",
    note = "enable one of the features `flume`, `crossbeam`, `mutex` of pluggable-runtime, e.g. \
            `pluggable-runtime = {{ version = \"…\", default-features = false, features = [\"crossbeam\"] }}`",
    note = "or name a queue: `pluggable_runtime::generic::Runtime::<MyQueue>`, \
            `#[pluggable_runtime::main(queue = my_crate::MyQueue)]`"
)]
pub trait HasDefaultQueue {
    /// [`DefaultQueue`].
    type Queue: Queue;
}

/// The default queue as seen from a function generic over `T`: `DefaultQueue`,
/// or the diagnostic above at the caller when no backend is enabled.
pub(crate) type DefaultQueueFor<T> = <EnabledBackends<T> as HasDefaultQueue>::Queue;
