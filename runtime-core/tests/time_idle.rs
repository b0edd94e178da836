//! Feature `net`: an idle runtime whose tasks wait in 10 000 timers an hour
//! or more away wakes no worker for a second and uses no CPU: the timer
//! thread waits for the earliest wheel slot, not on a tick. Alone in its
//! binary (it reads the CPU time of the whole process: Linux,
//! /proc/self/stat).
#![cfg(all(feature = "net", target_os = "linux", not(miri), not(loom)))]

mod common;

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::per_backend;
use runtime_core::{Queue, Runtime, testing::wait_until, time};

/// One test at a time in this binary (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// User + system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat format").1.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn idle_with_timers<Q: Queue>() {
    const TIMERS: usize = 10_000;
    let _serial = serial();
    let rt = Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let woke = Arc::new(AtomicUsize::new(0));
    for i in 0..TIMERS as u64 {
        let woke = woke.clone();
        rt.spawn(async move {
            time::sleep(Duration::from_secs(3600) + Duration::from_millis(i * 997)).await;
            woke.fetch_add(1, Ordering::SeqCst);
        })
        .detach();
    }
    wait_until("every task waiting in its timer", || rt.metrics().timers == TIMERS);
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks();
    let metrics_before = rt.metrics();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    let metrics = rt.metrics();
    let name = std::any::type_name::<Q>();
    println!("{name}: {used} ticks in one idle second with {TIMERS} timers");
    assert!(used <= 2, "{name}: a runtime idle with {TIMERS} timers used {used} ticks of CPU in one second");
    assert_eq!(metrics.parks, metrics_before.parks, "{name}: no worker woke up while idle");
    assert_eq!(metrics.polls, metrics_before.polls, "{name}: nothing ran while idle");
    assert_eq!(woke.load(Ordering::SeqCst), 0, "{name}: no timer fired");
}

per_backend!(idle_with_timers);
