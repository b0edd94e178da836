//! An idle runtime uses no CPU: its workers park instead of spinning.
//! Alone in its own test binary, because it reads the CPU time of the whole
//! process (Linux: /proc/self/stat), which other tests would add to.
#![cfg(all(target_os = "linux", not(miri), not(loom)))]

use std::time::Duration;

/// User + system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat format").1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn idle_runtime_uses_no_cpu() {
    let rt = runtime_core::Runtime::<queue_crossbeam::CrossbeamQueue>::builder()
        .worker_threads(4)
        .build()
        .unwrap();
    // Some work first, so that every worker has searched and parked.
    let tasks: Vec<_> = (0..1000).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        for t in tasks {
            t.await;
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks();
    let parks_before = rt.metrics().parks;
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    // A tick is 10 ms on Linux: a second of four spinning workers would be
    // about 200 ticks on this 2-core machine; parked workers use none.
    assert!(used <= 2, "an idle runtime used {used} ticks of CPU in one second");
    assert_eq!(rt.metrics().parks, parks_before, "no worker woke up while idle");
}
