//! What the macros expand to, public only so that the expansions can reach
//! it from other crates: not part of the API.

use std::future::Future;

use runtime_core::{Queue, Runtime};

pub use crate::join::MaybeDone;
pub use std::{future::IntoFuture, future::poll_fn, pin::pin, task::Poll};

/// The runtime of a `#[main]` or `#[test]` function: `worker_threads` from
/// the attribute, else the defaults (`RUNTIME_WORKER_THREADS`, else one per
/// CPU).
///
/// # Panics
/// If it cannot be built, naming the attribute and the bad setting.
#[track_caller]
pub fn runtime<Q: Queue>(worker_threads: Option<usize>, attribute: &str) -> Runtime<Q> {
    let mut builder = Runtime::<Q>::builder();
    if let Some(n) = worker_threads {
        builder = builder.worker_threads(n);
    }
    builder.build().unwrap_or_else(|error| panic!("{attribute}: could not build the runtime: {error}"))
}

/// `runtime.block_on(future)`, with the output type named so that `?` in an
/// `async fn main() -> Result<..>` body knows its error type.
#[track_caller]
pub fn block_on<Q: Queue, T, F: Future<Output = T>>(runtime: &Runtime<Q>, future: F) -> T {
    runtime.block_on(future)
}
