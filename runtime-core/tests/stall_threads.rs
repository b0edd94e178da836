//! Replacement threads under faults (`stall.rs`, "Threads"), on every
//! backend: a replacement the OS refuses to start never leaves the runtime
//! without a worker nor drains it while it is open, and the threads of
//! retired workers are joined as the runtime goes, not only at shutdown.
//!
//! Each test changes or measures something process-wide (a resource limit,
//! the address space), so each runs alone in a child process: this test
//! binary again, with `--exact` and [`CHILD_ENV`] set. The parent waits for
//! it under a deadline and fails with its output.
#![cfg(all(target_os = "linux", not(miri), not(loom)))]

use std::{
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use runtime_core::{
    Queue, Runtime,
    testing::{deadline, wait_until},
};

/// Set in the child that runs one test's body.
const CHILD_ENV: &str = "RUNTIME_CORE_STALL_THREADS_CHILD";

/// Expands each `name::<Q>()` into one `#[test]` per backend that runs it
/// in a child process.
macro_rules! in_children {
    ($($name:ident),* $(,)?) => {
        in_children!(@backend flume => queue_flume::FlumeQueue; $($name),*);
        in_children!(@backend crossbeam => queue_crossbeam::CrossbeamQueue; $($name),*);
        in_children!(@backend mutex => queue_mutex::MutexQueue; $($name),*);
    };
    (@backend $backend:ident => $queue:ty; $($name:ident),*) => {
        mod $backend {
            $(
                #[test]
                fn $name() {
                    super::in_child(concat!(stringify!($backend), "::", stringify!($name)), super::$name::<$queue>);
                }
            )*
        }
    };
}

in_children!(failed_replacement_spawns_leave_a_working_runtime, retired_workers_are_joined);

/// Runs `body` if this is the child, else runs test `name` alone in a child
/// process and fails with its output unless it passed within 60 s.
fn in_child(name: &str, body: fn()) {
    if std::env::var_os(CHILD_ENV).is_some() {
        body();
        return;
    }
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, "1")
        // One malloc arena: a thread that starts never adds a 64 MiB arena
        // reservation to the address space that `retired_workers_are_joined`
        // measures.
        .env("MALLOC_ARENA_MAX", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let limit = deadline(Duration::from_secs(60));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > limit {
            child.kill().expect("kill the child");
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().expect("the child's output");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    match status {
        Some(status) if status.success() && text.contains("1 passed") => {}
        Some(status) => panic!("{name} failed in its child process ({status}):\n{text}"),
        None => panic!("{name} did not finish in {limit:?} in its child process:\n{text}"),
    }
}

// ------------------------------------------- a spawn that the OS refuses

/// `RLIMIT_NPROC` as `(soft, hard)`.
fn nproc_limit() -> (libc::rlim_t, libc::rlim_t) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid `rlimit` for getrlimit to fill in.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) };
    assert_eq!(got, 0, "getrlimit(RLIMIT_NPROC): {}", std::io::Error::last_os_error());
    (limit.rlim_cur, limit.rlim_max)
}

/// Sets the soft `RLIMIT_NPROC` (the hard one unchanged, so that it can be
/// raised again): at 0, no thread can be created.
fn set_nproc_soft(soft: libc::rlim_t) {
    let limit = libc::rlimit { rlim_cur: soft, rlim_max: nproc_limit().1 };
    // SAFETY: `limit` is a valid `rlimit`.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_NPROC, {soft}): {}", std::io::Error::last_os_error());
}

/// `RLIMIT_NPROC` does not bind root: a child running as root becomes
/// `nobody` (the child only computes and reads `/proc/self`).
fn become_limited() {
    // SAFETY: plain syscalls with no pointers.
    unsafe {
        if libc::geteuid() == 0 {
            assert_eq!(
                libc::setgroups(0, std::ptr::null()),
                0,
                "setgroups: {}",
                std::io::Error::last_os_error()
            );
            assert_eq!(
                libc::setresgid(65534, 65534, 65534),
                0,
                "setresgid: {}",
                std::io::Error::last_os_error()
            );
            assert_eq!(
                libc::setresuid(65534, 65534, 65534),
                0,
                "setresuid: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    // The limit really binds: with the soft limit at 0 no thread starts.
    set_nproc_soft(0);
    let refused = thread::Builder::new().spawn(|| {}).map(|t| t.join()).is_err();
    set_nproc_soft(nproc_limit().1);
    assert!(refused, "a thread started with RLIMIT_NPROC at 0: the test cannot make a spawn fail");
}

/// 1 worker, threshold 1 ms: 300 stalled polls during which no thread can
/// be created (the task sets the soft `RLIMIT_NPROC` to 0; the test thread
/// raises it again once the poll has returned), of 1 to 4 ms so that they
/// end while the watcher tries, and fails, to start their replacement
/// (it tries at every look, every 250 µs). After each one the runtime is
/// open and works: a task spawned then runs and returns its output.
///
/// The watcher used to commit the replacement (`STALLED -> REPLACED`)
/// before starting the thread; a poll that returned in that window retired
/// its worker while the watcher put `STALLED` back: no worker was left
/// (the probe never ran), or the last one out drained the open runtime (the
/// probe was cancelled).
fn failed_replacement_spawns_leave_a_working_runtime<Q: Queue>() {
    become_limited();
    let stalls = Arc::new(AtomicUsize::new(0));
    let counted = stalls.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .stall_threshold(Some(Duration::from_millis(1)))
        .on_stall(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let handle = rt.handle();
    let rounds = 300;
    let worker = rt.block_on(rt.spawn(async { thread::current().id() }));
    for round in 0..rounds {
        let refusing = Arc::new(AtomicBool::new(false));
        let flag = refusing.clone();
        // 1 to 4 ms, in 13 steps: the poll ends at every phase of the
        // watcher's 250 µs looks.
        let hold = Duration::from_micros(1_000 + (round % 13) * 250);
        let blocker = rt.spawn(async move {
            set_nproc_soft(0);
            flag.store(true, Ordering::SeqCst);
            thread::sleep(hold);
            thread::current().id()
        });
        wait_until("the blocker refuses threads", || refusing.load(Ordering::SeqCst));
        wait_until("the blocker returns", || blocker.is_finished());
        set_nproc_soft(nproc_limit().1);
        assert!(!handle.is_shutdown(), "round {round}: the runtime closed");
        let probe = rt.spawn(async { thread::current().id() }).fallible();
        let waited = Instant::now();
        while !probe.is_finished() {
            assert!(
                waited.elapsed() < deadline(Duration::from_secs(5)),
                "round {round}: a task spawned after a failed replacement never ran (no worker left; \
                 the runtime closed: {})",
                handle.is_shutdown()
            );
            thread::sleep(Duration::from_micros(100));
        }
        let probed_on = rt.block_on(probe);
        assert!(
            probed_on.is_some(),
            "round {round}: a task spawned on an open runtime was cancelled (it was drained while open)"
        );
        assert!(!handle.is_shutdown(), "round {round}: the runtime closed");
        // No replacement ever started: the same thread ran everything.
        assert_eq!(rt.block_on(blocker), worker, "round {round}: the blocker ran on another thread");
        assert_eq!(probed_on, Some(worker), "round {round}: the probe ran on another thread");
    }
    let reported = stalls.load(Ordering::SeqCst);
    assert!(reported >= rounds as usize / 2, "most polls were seen stalled: {reported} of {rounds}");
    drop(rt);
}

// ------------------------------------------------- retired workers' threads

/// This process's address space (`VmSize`, in KiB) and mapping count
/// (lines of `/proc/self/maps`).
fn address_space() -> (u64, usize) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let vm_size = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmSize in /proc/self/status");
    let maps = std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps").lines().count();
    (vm_size, maps)
}

/// A stalled poll of 8 ms on a 1-worker runtime with a 2 ms threshold:
/// returns once it has finished (a replacement took over meanwhile).
fn one_replaced_stall<Q: Queue>(rt: &Runtime<Q>) {
    let blocker = rt.spawn(async { thread::sleep(Duration::from_millis(8)) });
    wait_until("the stalled task finishes", || blocker.is_finished());
    rt.block_on(blocker);
}

/// 200 stalls on a 1-worker runtime, each replaced: the worker that steps
/// aside exits, and its thread is joined when the next replacement starts,
/// so its stack is unmapped (or reused by glibc's stack cache). Measured
/// after 20 stalls of warm-up (which fill glibc's stack cache), the 200
/// stalls grow the mapping count by fewer than 20 and the address space by
/// less than 16 MiB (the child runs with one malloc arena, so that no
/// thread adds a 64 MiB arena). Unjoined, each exited thread kept its 2 MiB
/// stack and guard page (two mappings): 400 mappings and 410 MiB. The
/// bounds: 20 mappings is 10 stacks, and 16 MiB 8, where reaping leaves at
/// most one exited thread unjoined (the one that retired since the last
/// replacement) and glibc reuses a joined thread's stack for the next one.
fn retired_workers_are_joined<Q: Queue>() {
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .stall_threshold(Some(Duration::from_millis(2)))
        .build()
        .unwrap();
    for _ in 0..20 {
        one_replaced_stall(&rt);
    }
    let (size_before, maps_before) = address_space();
    let stalls_before = rt.metrics().stalls;
    for _ in 0..200 {
        one_replaced_stall(&rt);
    }
    let (size_after, maps_after) = address_space();
    let stalls = rt.metrics().stalls - stalls_before;
    assert!(stalls >= 150, "most of the 200 polls were replaced stalls: {stalls}");
    let grown_maps = maps_after.saturating_sub(maps_before);
    let grown_kib = size_after.saturating_sub(size_before);
    eprintln!("after {stalls} stalls: +{grown_maps} mappings, +{grown_kib} KiB");
    assert!(
        grown_maps < 20,
        "{stalls} stalls grew the mapping count by {grown_maps}: {maps_before} -> {maps_after}"
    );
    assert!(
        grown_kib < 16 * 1024,
        "{stalls} stalls grew the address space by {grown_kib} KiB: {size_before} -> {size_after} KiB"
    );
    drop(rt);
}
