//! Shared by runtime-core's integration tests that run on every backend.
//!
//! Each test file is its own crate and uses a part of this module.
#![allow(dead_code)]

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

/// Expands `name::<Q>()` checks into one `#[test]` per check in one module
/// per shipped backend (`flume`, `crossbeam`, `mutex`), as tokio's
/// `rt_test!` does.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        crate::common::per_backend!(@backend flume => queue_flume::FlumeQueue; $($name),*);
        crate::common::per_backend!(@backend crossbeam => queue_crossbeam::CrossbeamQueue; $($name),*);
        crate::common::per_backend!(@backend mutex => queue_mutex::MutexQueue; $($name),*);
    };
    (@backend $backend:ident => $queue:ty; $($name:ident),*) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    super::$name::<$queue>();
                }
            )*
        }
    };
}
pub(crate) use per_backend;

/// One `T` per backend type `Q`, shared by every instance of a wrapping test
/// backend over `Q`: a `Queue` is built with no arguments, and the three
/// backends' tests run in parallel in one process.
pub(crate) fn per_queue_type<Q: 'static, T: Default + Send + Sync + 'static>() -> Arc<T> {
    type Map = HashMap<(TypeId, TypeId), Arc<dyn Any + Send + Sync>>;
    static STATES: LazyLock<Mutex<Map>> = LazyLock::new(Default::default);
    let entry = STATES
        .lock()
        .unwrap()
        .entry((TypeId::of::<Q>(), TypeId::of::<T>()))
        .or_insert_with(|| Arc::new(T::default()))
        .clone();
    entry.downcast::<T>().expect("stored under its own TypeId")
}
