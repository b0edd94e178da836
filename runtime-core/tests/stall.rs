//! Stalls (`stall.rs`): a task that blocks inside its poll stalls nothing
//! else, is counted once, and is reported with its id and spawn location.
#![cfg(not(miri))]

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use runtime_core::{Priority, Queue, Runtime, StallInfo, testing::wait_until};

const THRESHOLD: Duration = Duration::from_millis(50);
/// What the issue allows past the threshold.
const SLACK: Duration = Duration::from_millis(100);

fn runtime<Q: Queue>(workers: usize) -> (Runtime<Q>, Arc<Mutex<Vec<StallInfo>>>) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(workers)
        .stall_threshold(Some(THRESHOLD))
        .track_spawn_locations(true)
        .on_stall(move |info| seen.lock().unwrap().push(info.clone()))
        .build()
        .unwrap();
    (rt, reports)
}

/// 1 worker, a task that sleeps 2 s in its poll: 100 other tasks, spawned
/// before and after it, from outside and from inside, each finish within
/// the threshold plus 100 ms of being spawned.
fn one_blocked_worker_stalls_nothing<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(1);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let timed = |latencies: &Arc<Mutex<Vec<Duration>>>| {
        let (latencies, spawned) = (latencies.clone(), Instant::now());
        async move { latencies.lock().unwrap().push(spawned.elapsed()) }
    };
    let before: Vec<_> = (0..25).map(|_| rt.spawn(timed(&latencies))).collect();
    let inner = latencies.clone();
    let blocker = rt.spawn(async move {
        // From inside, right before blocking: the LIFO slot and local queue.
        let children: Vec<_> = (0..25).map(|_| runtime_core::spawn(timed(&inner))).collect();
        std::thread::sleep(Duration::from_secs(2));
        children
    });
    // Let the blocker start blocking, then spawn from outside.
    std::thread::sleep(Duration::from_millis(5));
    let after: Vec<_> = (0..50).map(|_| rt.spawn(timed(&latencies))).collect();
    wait_until("the 100 other tasks finish", || latencies.lock().unwrap().len() == 100);
    let worst = latencies.lock().unwrap().iter().copied().max().unwrap();
    assert!(worst <= THRESHOLD + SLACK, "a task waited {worst:?} behind a blocked worker");
    let children = rt.block_on(blocker);
    rt.block_on(async {
        for t in before.into_iter().chain(after).chain(children) {
            t.await;
        }
    });
    let metrics = rt.metrics();
    assert_eq!(metrics.stalls, 1, "one stalled poll, counted once");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1);
    let location = reports[0].spawned_at.expect("tracked location");
    assert!(location.file().ends_with("stall.rs"), "spawned at {location}");
    assert!(reports[0].stalled_for >= THRESHOLD);
}

/// How long a blocking wait inside a task (a latch) may take before the
/// test gives up on it.
fn latch_deadline() -> Instant {
    Instant::now() + runtime_core::testing::deadline(Duration::from_secs(10))
}

/// Blocks the calling thread (a worker, inside a poll: on purpose) until
/// `cond` holds; panics (in the task, so its awaiter sees it) if it never
/// does.
fn block_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = latch_deadline();
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting (blocking, inside a poll) for: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Busy CPU work for `d` (a task's real computation, not a stall).
fn spin(d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        std::hint::spin_loop();
    }
}

/// A task that records how long after `spawned` its first poll came.
fn timed(latencies: &Arc<Mutex<Vec<Duration>>>) -> impl Future<Output = ()> + Send + 'static {
    let (latencies, spawned) = (latencies.clone(), Instant::now());
    async move { latencies.lock().unwrap().push(spawned.elapsed()) }
}

/// The current thread's name (a worker's: `"{prefix}-{i}"`).
fn thread_name() -> String {
    std::thread::current().name().unwrap_or("<unnamed>").to_owned()
}

/// 2 workers, both stalled at once (each of two tasks waits on a latch for
/// the other, then sleeps 1 s, so both surely hold a worker): tasks spawned
/// meanwhile still finish within the threshold plus 100 ms (a replacement
/// worker starts), and each stall is counted once.
fn both_workers_stalled<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(2);
    let arrived = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let (arrived, done) = (arrived.clone(), done.clone());
            rt.spawn(async move {
                arrived.fetch_add(1, Ordering::SeqCst);
                block_until("both blockers hold a worker", || arrived.load(Ordering::SeqCst) == 2);
                std::thread::sleep(Duration::from_secs(1));
                done.fetch_add(1, Ordering::SeqCst);
                thread_name()
            })
        })
        .collect();
    wait_until("both blockers hold a worker", || arrived.load(Ordering::SeqCst) == 2);
    // Both workers are inside a poll now. Probes from outside, the first
    // right away (before the watcher has even seen the stalls), then every
    // 20 ms for 200 ms.
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut probes = Vec::new();
    for _ in 0..10 {
        probes.push(rt.spawn(timed(&latencies)));
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_until("the 10 probes finish", || latencies.lock().unwrap().len() == 10);
    assert_eq!(done.load(Ordering::SeqCst), 0, "the probes ran while both workers were stalled");
    let worst = latencies.lock().unwrap().iter().copied().max().unwrap();
    assert!(worst <= THRESHOLD + SLACK, "a task waited {worst:?} while both workers were stalled");
    wait_until("both blockers finish", || done.load(Ordering::SeqCst) == 2);
    let names: Vec<_> = rt.block_on(async {
        for p in probes {
            p.await;
        }
        let mut names = Vec::new();
        for b in blockers {
            names.push(b.await);
        }
        names
    });
    assert_ne!(names[0], names[1], "the blockers ran on two workers");
    assert_eq!(rt.metrics().stalls, 2, "two stalled polls, each counted once");
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert_ne!(reports[0].worker, reports[1].worker, "{reports:?}");
}

/// 2 workers: one stalled for 1 s, the other busy with a stream of `High`
/// tasks (2 ms of work each) for 500 ms. A `Low` task that the stalled task
/// spawned right before blocking (so queued on the stalled worker) gets its
/// turn within the threshold plus 100 ms: the `High` streak bound holds
/// across workers (16 × 2 ms), not only through the every-61-tasks look at
/// the shared queues (61 × 2 ms would be too late).
fn high_stream_beside_a_stalled_worker<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(2);
    let blocker_running = Arc::new(AtomicBool::new(false));
    let stream_running = Arc::new(AtomicBool::new(false));
    let low_done = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let blocker = {
        let (blocker_running, stream_running) = (blocker_running.clone(), stream_running.clone());
        let (low_done, latencies) = (low_done.clone(), latencies.clone());
        rt.spawn(async move {
            blocker_running.store(true, Ordering::SeqCst);
            // The stream starts on the other worker: this one is taken.
            block_until("the High stream starts", || stream_running.load(Ordering::SeqCst));
            let probe = timed(&latencies);
            let low = runtime_core::spawn_with(Priority::Low, async move {
                probe.await;
                low_done.store(true, Ordering::SeqCst);
            });
            std::thread::sleep(Duration::from_secs(1));
            (thread_name(), low)
        })
    };
    wait_until("the blocker holds a worker", || blocker_running.load(Ordering::SeqCst));
    let high_polls = Arc::new(AtomicUsize::new(0));
    let stream = {
        let (stream_running, high_polls) = (stream_running.clone(), high_polls.clone());
        rt.spawn_with(Priority::High, async move {
            stream_running.store(true, Ordering::SeqCst);
            let end = Instant::now() + Duration::from_millis(500);
            while Instant::now() < end {
                let high_polls = high_polls.clone();
                runtime_core::spawn_with(Priority::High, async move {
                    spin(Duration::from_millis(2));
                    high_polls.fetch_add(1, Ordering::SeqCst);
                })
                .detach();
                runtime_core::yield_now().await;
            }
            thread_name()
        })
    };
    wait_until("the Low task queued on the stalled worker runs", || low_done.load(Ordering::SeqCst));
    let latency = latencies.lock().unwrap()[0];
    assert!(
        latency <= THRESHOLD + SLACK,
        "a Low task queued on a stalled worker waited {latency:?} beside a High stream"
    );
    wait_until("the stream ends", || stream.is_finished());
    wait_until("the blocker finishes", || blocker.is_finished());
    let stream_on = rt.block_on(stream);
    let (blocker_on, low) = rt.block_on(blocker);
    rt.block_on(low);
    assert_ne!(stream_on, blocker_on, "the stream and the blocker ran on two workers");
    assert!(high_polls.load(Ordering::SeqCst) >= 50, "a real High stream: {high_polls:?}");
    let stalls = rt.metrics().stalls;
    assert_eq!(stalls, 1, "one stalled poll: {:?}", reports.lock().unwrap());
}

/// 2 workers: worker B always has local work (a task that keeps yielding
/// for 1 s); worker A's task spawns a child (into A's LIFO slot) and then
/// blocks for 2 s. The child runs within the threshold plus 100 ms.
fn child_in_lifo_slot_of_a_stalled_worker<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(2);
    let parent_running = Arc::new(AtomicBool::new(false));
    let yielder_running = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let parent = {
        let (parent_running, yielder_running) = (parent_running.clone(), yielder_running.clone());
        let latencies = latencies.clone();
        rt.spawn(async move {
            parent_running.store(true, Ordering::SeqCst);
            block_until("the yielder starts", || yielder_running.load(Ordering::SeqCst));
            let child = runtime_core::spawn(timed(&latencies));
            std::thread::sleep(Duration::from_secs(2));
            (thread_name(), child)
        })
    };
    wait_until("the parent holds a worker", || parent_running.load(Ordering::SeqCst));
    let yields = Arc::new(AtomicUsize::new(0));
    let yielder = {
        let (yielder_running, yields) = (yielder_running.clone(), yields.clone());
        rt.spawn(async move {
            yielder_running.store(true, Ordering::SeqCst);
            let end = Instant::now() + Duration::from_secs(1);
            while Instant::now() < end {
                yields.fetch_add(1, Ordering::Relaxed);
                runtime_core::yield_now().await;
            }
            thread_name()
        })
    };
    wait_until("the child runs", || !latencies.lock().unwrap().is_empty());
    let latency = latencies.lock().unwrap()[0];
    assert!(latency <= THRESHOLD + SLACK, "the child in a stalled worker's LIFO slot waited {latency:?}");
    assert!(!yielder.is_finished(), "the child ran while the other worker still had local work");
    wait_until("the yielder ends", || yielder.is_finished());
    wait_until("the parent finishes", || parent.is_finished());
    let yielder_on = rt.block_on(yielder);
    let (parent_on, child) = rt.block_on(parent);
    rt.block_on(child);
    assert_ne!(yielder_on, parent_on, "the yielder and the parent ran on two workers");
    assert!(yields.load(Ordering::Relaxed) > 100, "the other worker kept yielding: {yields:?}");
    let stalls = rt.metrics().stalls;
    assert_eq!(stalls, 1, "one stalled poll: {:?}", reports.lock().unwrap());
}

/// A thread name prefix no other test in this process uses (the backends'
/// tests run in parallel, and the watcher is found by its name).
fn unique_prefix(base: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{base}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The kernel id of this process's thread named exactly `name` (its comm,
/// at most 15 bytes), if there is one.
fn thread_id(name: &str) -> Option<String> {
    std::fs::read_dir("/proc/self/task").ok()?.filter_map(Result::ok).find_map(|t| {
        let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
        (comm.trim_end() == name).then(|| t.file_name().to_string_lossy().into_owned())
    })
}

/// A thread's user + system CPU time in clock ticks, and its voluntary
/// context switches (each time it went to sleep).
fn thread_usage(tid: &str) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).expect("thread stat");
    // After the command name (in parentheses): utime and stime are fields
    // 14 and 15 of the whole line, 12 and 13 here.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat format").1.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).expect("thread status");
    let switches = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .expect("voluntary_ctxt_switches")
        .trim()
        .parse()
        .unwrap();
    (ticks, switches)
}

/// `stall_threshold(None)`: no watcher thread, and a task that blocks in
/// its poll is neither counted nor reported. `Some(Duration::ZERO)` is a
/// `BuildError` that names the setting.
fn no_threshold_no_watcher<Q: Queue>() {
    let prefix = unique_prefix("nst");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .thread_name(prefix.clone())
        .stall_threshold(None)
        .on_stall(move |info| seen.lock().unwrap().push(info.clone()))
        .build()
        .unwrap();
    // A thread names itself once it runs: by the time the worker has, a
    // watcher started with it has had 200 ms to.
    wait_until("the worker runs", || thread_id(&format!("{prefix}-0")).is_some());
    let blocker = rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) });
    wait_until("the blocker finishes", || blocker.is_finished());
    rt.block_on(blocker);
    assert_eq!(thread_id(&format!("{prefix}.watch")), None, "no watcher without a threshold");
    assert_eq!(rt.metrics().stalls, 0);
    assert!(reports.lock().unwrap().is_empty());

    let error = Runtime::<Q>::builder().stall_threshold(Some(Duration::ZERO)).build().unwrap_err();
    assert_eq!(error.setting(), Some("stall_threshold"));
    assert!(error.to_string().contains("stall_threshold"), "{error}");
}

/// What the panicking `on_stall` below panics with.
const ON_STALL_PANIC: &str = "on_stall panics on purpose";

/// Keeps the panic hook quiet about [`ON_STALL_PANIC`]: the default hook
/// prints it with a backtrace (RUST_BACKTRACE=1), which takes long enough
/// on the watcher thread, before it hands the stalled worker's tasks off,
/// to delay them past what the test allows. Other panics are reported as
/// before.
fn quiet_on_stall_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if runtime_core::testing::panic_message(info.payload()) != ON_STALL_PANIC {
                previous(info);
            }
        }));
    });
}

/// An `on_stall` callback that panics: the panic is counted in
/// `Metrics::hook_panics`, the stall still in `stalls`, the stalled
/// worker's tasks are still handed off, and the watcher carries on (a
/// second stall is reported too).
fn panicking_on_stall<Q: Queue>() {
    quiet_on_stall_panics();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .stall_threshold(Some(THRESHOLD))
        .on_stall(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
            std::panic::panic_any(ON_STALL_PANIC);
        })
        .build()
        .unwrap();
    for round in 1..=2 {
        let running = Arc::new(AtomicBool::new(false));
        let flag = running.clone();
        let blocker = rt.spawn(async move {
            flag.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
        });
        wait_until("the blocker holds the worker", || running.load(Ordering::SeqCst));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let probes: Vec<_> = (0..10).map(|_| rt.spawn(timed(&latencies))).collect();
        wait_until("the probes finish", || latencies.lock().unwrap().len() == 10);
        let worst = latencies.lock().unwrap().iter().copied().max().unwrap();
        assert!(worst <= THRESHOLD + SLACK, "round {round}: a task waited {worst:?} behind a stall");
        wait_until("the blocker finishes", || blocker.is_finished());
        rt.block_on(async {
            blocker.await;
            for p in probes {
                p.await;
            }
        });
        let metrics = rt.metrics();
        assert_eq!(calls.load(Ordering::SeqCst), round);
        assert_eq!(metrics.stalls, round as u64);
        assert_eq!(metrics.hook_panics, round as u64);
    }
    let sum: u64 = rt.block_on(async {
        let tasks: Vec<_> = (1..=100u64).map(|i| runtime_core::spawn(async move { i })).collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await;
        }
        sum
    });
    assert_eq!(sum, 5050, "the runtime carries on");
}

/// The watcher (`"{prefix}.watch"`) sleeps while the runtime is idle: after
/// some work (and a stall, with a replacement that later steps aside), a
/// second of idleness costs it no CPU time and no wake-up. A stalled poll
/// right after that idleness is still detected and handed off (the watcher
/// wakes when a worker does).
fn watcher_sleeps_while_idle<Q: Queue>() {
    let prefix = unique_prefix("stw");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .thread_name(prefix.clone())
        .stall_threshold(Some(THRESHOLD))
        .on_stall(move |info| seen.lock().unwrap().push((Instant::now(), info.clone())))
        .build()
        .unwrap();
    let watcher = format!("{prefix}.watch");
    wait_until("the watcher thread runs", || thread_id(&watcher).is_some());
    let tid = thread_id(&watcher).unwrap();

    // Some work: small tasks, and a stall that gets a replacement (1 worker).
    let stall_then_probe = |round: u64| {
        let began = Arc::new(Mutex::new(None));
        let start = began.clone();
        let blocker = rt.spawn(async move {
            *start.lock().unwrap() = Some(Instant::now());
            std::thread::sleep(Duration::from_millis(200));
        });
        wait_until("the blocker holds the worker", || began.lock().unwrap().is_some());
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let probe = rt.spawn(timed(&latencies));
        wait_until("the probe finishes", || !latencies.lock().unwrap().is_empty());
        let latency = latencies.lock().unwrap()[0];
        let began = began.lock().unwrap().unwrap();
        let noticed: Vec<_> =
            reports.lock().unwrap().iter().map(|(at, _)| at.saturating_duration_since(began)).collect();
        assert!(
            latency <= THRESHOLD + SLACK,
            "stall {round}: a task waited {latency:?}; the watcher noticed the stall {noticed:?} after \
             the poll began"
        );
        wait_until("the blocker finishes", || blocker.is_finished());
        rt.block_on(async {
            blocker.await;
            probe.await;
        });
        wait_until("the stall is counted", || rt.metrics().stalls == round);
    };
    let tasks: Vec<_> = (0..100).map(|i| rt.spawn(async move { i })).collect();
    rt.block_on(async {
        for t in tasks {
            t.await;
        }
    });
    stall_then_probe(1);

    // Idle: every worker (and the replaced one) has searched and parked.
    std::thread::sleep(Duration::from_millis(200));
    let parks = rt.metrics().parks;
    let before = thread_usage(&tid);
    std::thread::sleep(Duration::from_secs(1));
    let after = thread_usage(&tid);
    let woke = rt.metrics().parks != parks;
    assert_eq!(
        after.0,
        before.0,
        "the watcher used {} ticks of CPU in a second of idleness (a worker woke: {woke})",
        after.0 - before.0
    );
    assert_eq!(
        after.1,
        before.1,
        "the watcher woke {} times in a second of idleness (a worker woke: {woke})",
        after.1 - before.1
    );

    // Right after idleness: a stall is still found, and handed off.
    stall_then_probe(2);
    assert_eq!(reports.lock().unwrap().len(), 2);
}

/// A stalled poll on a 1-worker runtime with the given thread name prefix:
/// the blocker records the name of the thread it ran on and sleeps 200 ms
/// (four thresholds); returns once a probe spawned meanwhile has run (a
/// replacement took over) and the blocker has finished.
fn stall_once<Q: Queue>(rt: &Runtime<Q>) -> String {
    let name = Arc::new(Mutex::new(None));
    let named = name.clone();
    let blocker = rt.spawn(async move {
        *named.lock().unwrap() = Some(thread_name());
        std::thread::sleep(Duration::from_millis(200));
    });
    wait_until("the blocker holds the worker", || name.lock().unwrap().is_some());
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let probe = rt.spawn(timed(&latencies));
    wait_until("the probe runs beside the stalled worker", || !latencies.lock().unwrap().is_empty());
    rt.block_on(async {
        blocker.await;
        probe.await;
    });
    name.lock().unwrap().take().unwrap()
}

/// `StallInfo::worker` and the thread names promise that a replacement's
/// index is at or above the worker count. With 1 worker and four stalls in
/// a row, each on the worker that replaced the last stalled one: the first
/// is worker 0, every later one a spare (1 or 2), never 0 again. A retiring
/// worker used to free its own slot for the next replacement, so the names
/// went -0, -1, -0, -1.
fn replacements_take_spare_indexes<Q: Queue>() {
    let prefix = unique_prefix("spare");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .thread_name(prefix.clone())
        .stall_threshold(Some(THRESHOLD))
        .on_stall(move |info| seen.lock().unwrap().push(info.worker))
        .build()
        .unwrap();
    let names: Vec<String> = (0..4).map(|_| stall_once(&rt)).collect();
    wait_until("four stalls reported", || reports.lock().unwrap().len() == 4);
    let workers = reports.lock().unwrap().clone();
    assert_eq!(workers[0], 0, "the first stall is the original worker's: {workers:?}");
    assert!(workers[1..].iter().all(|&w| w == 1 || w == 2), "replacements are spares 1 and 2: {workers:?}");
    assert_eq!(names[0], format!("{prefix}-0"), "{names:?}");
    for (name, worker) in names.iter().zip(&workers) {
        assert_eq!(*name, format!("{prefix}-{worker}"), "the thread's name is its index: {names:?}");
    }
    for pair in workers.windows(2) {
        assert_ne!(pair[0], pair[1], "each stall is on the replacement of the one before: {workers:?}");
    }
}

/// How many of this process's threads are named `"{prefix}-…"`.
fn threads_named(prefix: &str) -> usize {
    let prefix = format!("{prefix}-");
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .filter(|comm| comm.starts_with(&prefix))
        .count()
}

/// Replacements stop at twice the worker count: with 1 worker, a task that
/// blocks 500 ms, and a second one that blocks 500 ms on the replacement
/// that took over, every worker is stalled again, but no third thread
/// starts: a task spawned then runs only once one of the two returns.
fn replacements_are_capped_at_twice_the_workers<Q: Queue>() {
    let prefix = unique_prefix("cap");
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .thread_name(prefix.clone())
        .stall_threshold(Some(THRESHOLD))
        .build()
        .unwrap();
    let returned = Arc::new(AtomicUsize::new(0));
    let running = Arc::new(AtomicUsize::new(0));
    let blocker = || {
        let (running, returned) = (running.clone(), returned.clone());
        async move {
            running.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(500));
            returned.fetch_add(1, Ordering::SeqCst);
            thread_name()
        }
    };
    let first = rt.spawn(blocker());
    wait_until("the first blocker holds the worker", || running.load(Ordering::SeqCst) == 1);
    let second = rt.spawn(blocker());
    wait_until("the second blocker holds the replacement", || running.load(Ordering::SeqCst) == 2);
    // Four thresholds with both stalled: the watcher would have started a
    // third thread by now.
    std::thread::sleep(4 * THRESHOLD);
    let ran_after = {
        let returned = returned.clone();
        rt.spawn(async move { returned.load(Ordering::SeqCst) })
    };
    assert_eq!(threads_named(&prefix), 2, "two worker threads while both are stalled");
    let (first_on, second_on) = (rt.block_on(first), rt.block_on(second));
    assert_ne!(first_on, second_on);
    assert!(rt.block_on(ran_after) >= 1, "a task ran on a third thread while both workers were stalled");
}

/// `TaskGroup::spawn_on` reports the caller's location (`#[track_caller]`),
/// as `TaskGroup::spawn` and `Handle::spawn` do: it used to name
/// `task_group.rs`.
fn task_group_spawn_on_tracks_the_caller<Q: Queue>() {
    let (rt, reports) = runtime::<Q>(1);
    let mut group = runtime_core::TaskGroup::new();
    group.spawn_on(&rt.handle(), async { std::thread::sleep(Duration::from_millis(200)) });
    wait_until("the stall is reported", || !reports.lock().unwrap().is_empty());
    rt.block_on(async { while group.join_next().await.is_some() {} });
    let location = reports.lock().unwrap()[0].spawned_at.expect("tracked location");
    assert!(location.file().ends_with("stall.rs"), "spawned at {location}");
}

/// Pins the calling thread, and the threads it starts from now on (they
/// inherit it), to the CPU it runs on.
fn pin_to_one_cpu() {
    // SAFETY: `sched_getcpu` takes nothing; `set` is a valid, zeroed
    // `cpu_set_t` that `CPU_SET` and `sched_setaffinity` read and write.
    unsafe {
        let cpu = usize::try_from(libc::sched_getcpu()).expect("sched_getcpu");
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let pinned = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(pinned, 0, "sched_setaffinity: {}", std::io::Error::last_os_error());
    }
}

/// Stalls that start right after the runtime was idle (the watcher asleep,
/// or about to be, since every worker was), on a worker woken by a timer:
/// 600 rounds of a task that waits 0.1 to 3.1 ms on an `async-io` timer,
/// then blocks in its poll until its stall is reported (threshold 2 ms), or
/// for at most 2 s. Every one of those polls is reported. Waiting for the
/// report rather than for a fixed time keeps the test about the watcher's
/// sleep and not about how soon a loaded machine schedules it.
///
/// The runtime's threads share one CPU, so that the watcher, once woken,
/// may run before the worker that woke it goes on. With feature `io` the
/// worker waits in the reactor, and a timer that fired there used to wake it
/// through a path that told the watcher before leaving the sleepers list:
/// the watcher re-checked, saw every worker asleep, and slept through the
/// stall (1 to 3 of 300 per run on this 2-core machine, 10 to 46 of 100 in
/// the review).
fn stalls_after_a_timer_wake_are_seen<Q: Queue>() {
    pin_to_one_cpu();
    const ROUNDS: u64 = 600;
    let reports = Arc::new((Mutex::new(Vec::new()), std::sync::Condvar::new()));
    let seen = reports.clone();
    let rt = Runtime::<Q>::builder()
        .worker_threads(1)
        .stall_threshold(Some(Duration::from_millis(2)))
        .on_stall(move |info| {
            seen.0.lock().unwrap().push(info.task);
            seen.1.notify_all();
        })
        .build()
        .unwrap();
    let mut missed = Vec::new();
    for round in 0..ROUNDS {
        // 0.1 to 3.1 ms, in 13 steps: the wake lands at every phase of the
        // watcher's looks (every 500 µs) and of its going to sleep.
        let wait = Duration::from_micros(100 + 250 * (round % 13));
        let reports = reports.clone();
        let task = rt.spawn(async move {
            // With `net` the worker waits in the runtime's own driver, and
            // its timers wake it there; without, an async-io timer does.
            #[cfg(feature = "net")]
            runtime_core::time::sleep(wait).await;
            #[cfg(not(feature = "net"))]
            async_io::Timer::after(wait).await;
            let me = runtime_core::task_id();
            let (reported, condvar) = &*reports;
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut reported = reported.lock().unwrap();
            while !reported.contains(&me) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                reported = condvar.wait_timeout(reported, left).unwrap().0;
            }
            true
        });
        wait_until("the round's task finishes", || task.is_finished());
        if !rt.block_on(task) {
            missed.push(round);
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {ROUNDS} stalled polls were never reported: rounds {missed:?}",
        missed.len()
    );
}

common::per_backend!(
    replacements_are_capped_at_twice_the_workers,
    stalls_after_a_timer_wake_are_seen,
    replacements_take_spare_indexes,
    task_group_spawn_on_tracks_the_caller,
    one_blocked_worker_stalls_nothing,
    both_workers_stalled,
    high_stream_beside_a_stalled_worker,
    child_in_lifo_slot_of_a_stalled_worker,
    no_threshold_no_watcher,
    panicking_on_stall,
    watcher_sleeps_while_idle,
);
