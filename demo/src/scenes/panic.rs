//! `panic`: a task panics; its worker survives, the runtime keeps running
//! tasks, and whoever awaits the panicked task gets the panic.
//!
//! A one-line panic hook replaces the default report (and its backtrace
//! note) for the length of the scene, to keep the output readable.

use std::{
    any::Any,
    panic::{self, AssertUnwindSafe},
    thread,
};

use futures_lite::FutureExt;
use runtime_core::{Metrics, Queue};

use crate::settings::Settings;

/// Tasks spawned after the panic, to show the runtime carries on.
const AFTER: u64 = 100;

/// Runs the scene; returns the runtime's metrics at its end.
pub fn run<Q: Queue>(settings: &Settings) -> anyhow::Result<Metrics> {
    let rt = settings.runtime::<Q>()?;
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let thread = thread::current();
        println!(
            "   panic hook: thread {} panicked: {}",
            thread.name().unwrap_or("<unnamed>"),
            message(info.payload())
        );
    }));

    let (caught, sum) = rt.block_on(async {
        let doomed = rt.spawn(async {
            panic!("boom");
        });
        let caught = AssertUnwindSafe(doomed).catch_unwind().await;
        let tasks: Vec<_> = (1..=AFTER).map(|i| rt.spawn(async move { i })).collect();
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        (caught, sum)
    });
    panic::set_hook(default_hook);

    match caught {
        Err(payload) => println!("   the awaiter caught the task's panic: {:?}", message(&*payload)),
        Ok(()) => anyhow::bail!("the panicking task returned instead of panicking"),
    }
    println!("   the runtime carried on: {AFTER} more tasks ran, their outputs sum to {sum}");
    Ok(rt.metrics())
}

/// The message of a panic payload, when it is a string.
fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<not a string>"
    }
}
