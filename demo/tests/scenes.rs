//! Every scene, on every backend compiled in: exit code and key lines.
//!
//! `scene_tests!` expands the same tests into one module per backend, each
//! behind that backend's feature (`cargo test -p demo --features all-queues`
//! runs them all).

// Without any backend feature there is nothing to run.
#![cfg_attr(not(any(feature = "flume", feature = "crossbeam", feature = "mutex")), allow(dead_code))]

mod common;

use common::{Run, demo};

/// Runs `scene` on `backend` with two workers, checking the header and that
/// the run succeeded.
fn scene(backend: &str, scene: &str, more: &[&str]) -> Run {
    let mut args = vec!["--queue", backend, "--workers", "2", scene];
    args.extend_from_slice(more);
    demo(&args).success().stdout_has(&[&format!("queue backend: {backend}"), "worker threads: 2\n"])
}

fn tutorial(backend: &str) {
    let run = scene(backend, "tutorial", &[]).stdout_has(&[
        "== tutorial",
        "queue length after spawning the group: ",
        "queue length after spawning call-1: ",
        "queue length after spawning call-2: ",
        "metrics: spawned 3, completed 3, panicked 0, cancelled 0",
    ]);
    // Four calls, each not ready five times and done on the sixth poll.
    assert_eq!(run.count("External call not ready yet"), 20, "{run}");
    assert_eq!(run.count("External call done"), 4, "{run}");
    assert_eq!(run.count("Received runnable"), 0, "the trace is for --verbose only:\n{run}");
}

fn tutorial_verbose(backend: &str) {
    let run = scene(backend, "tutorial", &["--verbose"]);
    assert!(run.count("Received runnable") > 0, "{run}");
    assert_eq!(run.count("External call done"), 4, "{run}");
}

fn priorities(backend: &str) {
    scene(backend, "priorities", &[]).stdout_has(&[
        "spawned in this order while the worker was busy: L1 H1 L2 H2 L3 H3 L4 H4 L5 H5 L6 H6",
        "ran in this order:",
        " H1 H2 H3 H4 H5 H6 L1 L2 L3 L4 L5 L6\n",
        "so Low was not starved",
        "lanes, 2 workers, no reserved worker:",
        "lanes, 2 workers, 1 reserved worker:",
        "Low tasks blocked for 50ms each (all completed)",
        "metrics: spawned 18, completed 18, panicked 0, cancelled 0",
    ]);
}

fn stealing(backend: &str) {
    let run = scene(backend, "stealing", &[]).stdout_has(&[
        "spawned 400 tasks",
        "tasks stolen from a sibling's local queue: ",
        "metrics: spawned 401, completed 401, panicked 0, cancelled 0",
    ]);
    // "ran on 2 of 2 workers: worker 0: N, worker 1: M", only workers that ran
    // something listed, with counts adding up to 400.
    let ran_on = run.line("ran on ");
    let (ran, counts) = ran_on.strip_prefix("ran on ").unwrap().split_once(" of 2 workers: ").unwrap();
    let counts: Vec<u64> =
        counts.split(", ").map(|c| c.rsplit(": ").next().unwrap().parse().unwrap()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 400, "{run}");
    assert_eq!(ran.parse::<usize>().unwrap(), counts.len(), "{run}");
}

fn background(backend: &str) {
    scene(backend, "background", &[]).stdout_has(&[
        "background: tick 1 at ",
        "foreground: job 1 done",
        "foreground: job 3 done",
        "ticker dropped by the shutdown after ",
        "metrics: spawned 4, completed 3, panicked 0, cancelled 1",
    ]);
}

fn echo(backend: &str) {
    scene(backend, "echo", &[]).stdout_has(&[
        "server on 127.0.0.1:",
        "1000 requests served in ",
        "round trip: p50 ",
        ", p99 ",
        "metrics: spawned 401, completed 401, panicked 0, cancelled 0",
    ]);
}

fn http(backend: &str) {
    scene(backend, "http", &[]).stdout_has(&[
        "hyper server on http://127.0.0.1:",
        "6400 requests in ",
        " requests/s",
        "request: p50 ",
        "readiness events, ",
        // The server's accept loop, 32 clients, and each connection's task on
        // both sides. (Whether a server connection finished or was cancelled
        // by the shutdown depends on when its client's close arrived.)
        "metrics: spawned 97, ",
    ]);
}

fn panic(backend: &str) {
    let run = scene(backend, "panic", &[]).stdout_has(&[
        "panic hook: thread worker-",
        "panicked: boom",
        "the awaiter caught the task's panic: \"boom\"",
        "100 more tasks ran, their outputs sum to 5050",
        "metrics: spawned 101, completed 100, panicked 1, cancelled 0",
    ]);
    assert!(run.stderr.is_empty(), "the quiet hook keeps stderr clean:\n{run}");
}

fn blocking(backend: &str) {
    let run = scene(backend, "blocking", &[]).stdout_has(&[
        "== blocking",
        "a task blocked its worker for 300ms (std::thread::sleep inside its poll)",
        "100 small tasks spawned around it: ",
        " ran while it blocked, worst wait ",
        "on_stall: task ",
        " spawned at demo/src/scenes/blocking.rs:",
        "spawn_blocking, the same 300ms sleep on a pool thread: ",
        "metrics: spawned 202, completed 202, panicked 0, cancelled 0",
    ]);
    // The blocking task was stalled, counted and reported; spawn_blocking
    // adds no stall. (A loaded machine may preempt a worker mid-poll for
    // longer than the threshold: that counts as a stall too.)
    let stalls: u64 =
        run.line("Metrics::stalls: ").strip_prefix("Metrics::stalls: ").unwrap().parse().unwrap();
    assert!(stalls >= 1, "{run}");
    assert!(run.stdout.contains(&format!("; Metrics::stalls still {stalls}\n")), "{run}");
}

fn tour(backend: &str) {
    let run = demo(&["--queue", backend]).success();
    let headings = [
        "== tutorial",
        "== priorities",
        "== stealing",
        "== background",
        "== echo",
        "== http",
        "== panic",
        "== blocking",
    ];
    let run =
        run.stdout_has(&[&format!("queue backend: {backend}"), "worker threads: "]).stdout_has(&headings);
    assert_eq!(run.count("   metrics: "), headings.len(), "{run}");
}

macro_rules! scene_tests {
    ($($feature:literal => $module:ident),* $(,)?) => {$(
        #[cfg(feature = $feature)]
        mod $module {
            #[test]
            fn tutorial() {
                super::tutorial($feature);
            }
            #[test]
            fn tutorial_verbose() {
                super::tutorial_verbose($feature);
            }
            #[test]
            fn priorities() {
                super::priorities($feature);
            }
            #[test]
            fn stealing() {
                super::stealing($feature);
            }
            #[test]
            fn background() {
                super::background($feature);
            }
            #[test]
            fn echo() {
                super::echo($feature);
            }
            #[test]
            fn http() {
                super::http($feature);
            }
            #[test]
            fn panic() {
                super::panic($feature);
            }
            #[test]
            fn blocking() {
                super::blocking($feature);
            }
            #[test]
            fn tour() {
                super::tour($feature);
            }
        }
    )*};
}

scene_tests!("flume" => flume, "crossbeam" => crossbeam, "mutex" => mutex);
