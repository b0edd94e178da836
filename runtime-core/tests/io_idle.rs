//! An idle runtime uses no CPU: its workers park instead of spinning; with
//! the `io` feature, also while sockets and timers are registered in the
//! reactor that an idle worker waits in. Alone in its own test binary, and
//! its tests one at a time (`serial`), because each reads the CPU time of
//! the whole process (Linux: /proc/self/stat), which other tests would add
//! to.
#![cfg(all(target_os = "linux", not(miri), not(loom)))]

#[cfg(feature = "io")]
mod io_common;

use std::{
    sync::{Mutex, MutexGuard},
    time::Duration,
};

/// One test at a time in this binary (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

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
    let _serial = serial();
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

/// Raises this process's soft limit on open files to at least `needed`
/// (up to the hard limit); fails the test if the hard limit is lower.
#[cfg(feature = "io")]
fn raise_fd_limit(needed: libc::rlim_t) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable `rlimit`.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0, "getrlimit(RLIMIT_NOFILE): {}", std::io::Error::last_os_error());
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} open files; the hard limit is {} (raise it: `ulimit -Hn {needed}` as root)",
        limit.rlim_max
    );
    let raised = libc::rlimit { rlim_cur: needed, rlim_max: limit.rlim_max };
    // SAFETY: `raised` is a valid `rlimit`.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_NOFILE, {needed}): {}", std::io::Error::last_os_error());
}

/// Feature `io`: 2 workers, 1 000 idle TCP connections over 127.0.0.1 (a
/// server task per connection waiting in `read`, the clients on this
/// thread), a listener waiting in `accept`, and a timer an hour away. No
/// worker wakes in a second, and the process (async-io's own thread
/// included) uses no CPU.
#[cfg(feature = "io")]
fn idle_with_sockets_and_timer<Q: runtime_core::Queue>(name: &str) {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures_lite::AsyncReadExt;
    use io_common::wait_until;

    const CONNECTIONS: usize = 1000;
    // Both ends of every connection live in this process.
    raise_fd_limit(2 * CONNECTIONS as libc::rlim_t + 256);

    let rt = runtime_core::Runtime::<Q>::builder().worker_threads(2).build().unwrap();
    let listener = rt.block_on(async_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let reading = Arc::new(AtomicUsize::new(0));
    let woke = Arc::new(AtomicUsize::new(0));
    rt.spawn({
        let (reading, woke) = (reading.clone(), woke.clone());
        async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let (reading, woke) = (reading.clone(), woke.clone());
                runtime_core::spawn(async move {
                    reading.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.read(&mut [0u8; 16]).await;
                    woke.fetch_add(1, Ordering::SeqCst);
                })
                .detach();
            }
        }
    })
    .detach();
    let timer = rt.spawn({
        let woke = woke.clone();
        async move {
            async_io::Timer::after(Duration::from_secs(3600)).await;
            woke.fetch_add(1, Ordering::SeqCst);
        }
    });
    let clients: Vec<std::net::TcpStream> =
        (0..CONNECTIONS).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    wait_until(
        Duration::from_secs(30),
        "a server task per connection waiting in read",
        || reading.load(Ordering::SeqCst) == CONNECTIONS,
        || format!("{name}: {} of {CONNECTIONS}; {:?}", reading.load(Ordering::SeqCst), rt.metrics()),
    );
    // Let every worker (and async-io's own thread) settle, as above.
    std::thread::sleep(Duration::from_millis(200));
    let before = cpu_ticks();
    let metrics_before = rt.metrics();
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks() - before;
    let metrics = rt.metrics();
    println!("{name}: {used} ticks in one idle second; before {metrics_before:?}, after {metrics:?}");
    assert!(
        used <= 2,
        "{name}: a runtime idle with {CONNECTIONS} connections and a timer used {used} ticks of CPU in one second"
    );
    assert_eq!(metrics.parks, metrics_before.parks, "{name}: no worker woke up while idle");
    assert_eq!(metrics.polls, metrics_before.polls, "{name}: nothing ran while idle");
    assert_eq!(woke.load(Ordering::SeqCst), 0, "{name}: no read returned, and the timer did not fire");
    drop(clients);
    drop((timer, rt));
}

#[cfg(feature = "io")]
#[test]
fn idle_runtime_with_sockets_and_timer_uses_no_cpu() {
    let _serial = serial();
    idle_with_sockets_and_timer::<queue_flume::FlumeQueue>("flume");
    idle_with_sockets_and_timer::<queue_crossbeam::CrossbeamQueue>("crossbeam");
    idle_with_sockets_and_timer::<queue_mutex::MutexQueue>("mutex");
}
