//! The command line: help, bad flags, backends not compiled in, bad worker
//! counts. None of these depend on which backends are compiled in, except
//! where a `cfg` says so.

mod common;

use common::{default_backend, demo};

#[test]
fn help_documents_every_scene_flag_and_feature() {
    let run = demo(&["--help"]).success();
    let scenes = ["tour", "tutorial", "priorities", "stealing", "background", "echo", "panic", "blocking"];
    let flags = ["--queue <NAME>", "--workers <N>", "--verbose", "RUNTIME_WORKER_THREADS"];
    let features = ["flume", "crossbeam", "mutex", "all-queues", "This build has"];
    run.stdout_has(&scenes).stdout_has(&flags).stdout_has(&features);
}

#[test]
fn help_names_the_compiled_in_backends() {
    let run = demo(&["--help"]).success();
    match default_backend() {
        Some(backend) => run.stdout_has(&[&format!("This build has: {backend}")]),
        None => run.stdout_has(&["This build has no backend"]),
    };
}

#[test]
fn bad_flags_get_clap_errors() {
    demo(&["--bogus"]).code(2).stderr_has(&["unexpected argument '--bogus'"]);
    demo(&["dance"]).code(2).stderr_has(&["unrecognized subcommand 'dance'"]);
    demo(&["--queue", "tokio"]).code(2).stderr_has(&["invalid value 'tokio'", "flume", "crossbeam", "mutex"]);
    demo(&["--workers", "many"]).code(2).stderr_has(&["invalid value 'many'"]);
}

/// Asks for `backend` in a build that lacks it: a clear error, exit 1.
#[allow(dead_code)]
fn not_compiled_in(backend: &str) {
    let hint = format!(
        "backend `{backend}` is not compiled in; run `cargo run -p demo --features {backend} -- --queue {backend}`"
    );
    let run = demo(&["--queue", backend, "tutorial"]).code(1).stderr_has(&[&hint]);
    assert!(run.stdout.is_empty(), "nothing runs:\n{run}");
    assert!(!run.stderr.contains("panicked"), "an error, not a panic:\n{run}");
}

#[test]
#[cfg(not(feature = "flume"))]
fn flume_not_compiled_in() {
    not_compiled_in("flume");
}

#[test]
#[cfg(not(feature = "crossbeam"))]
fn crossbeam_not_compiled_in() {
    not_compiled_in("crossbeam");
}

#[test]
#[cfg(not(feature = "mutex"))]
fn mutex_not_compiled_in() {
    not_compiled_in("mutex");
}

#[test]
#[cfg(not(any(feature = "flume", feature = "crossbeam", feature = "mutex")))]
fn no_backend_compiled_in() {
    demo(&[]).code(1).stderr_has(&["no queue backend is compiled in", "--features flume"]);
}

#[test]
#[cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]
fn the_default_backend_is_the_first_compiled_in() {
    let backend = default_backend().unwrap();
    let run = demo(&["panic", "--workers", "2"]).success().stdout_has(&["worker threads: 2\n"]);
    // "queue backend: flume", then the others compiled in, if any.
    let line = run.line("queue backend: ");
    let rest = line.strip_prefix("queue backend: ").unwrap();
    assert!(rest == backend || rest.starts_with(&format!("{backend} (also compiled in: ")), "{run}");
}

/// `seed`, the tutorial scene's old name, still runs it.
#[test]
#[cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]
fn seed_is_an_alias_of_tutorial() {
    let run = demo(&["seed", "--workers", "2"]).success().stdout_has(&["== tutorial"]);
    assert_eq!(run.count("External call done"), 4, "{run}");
    assert!(!run.stdout.contains("== priorities"), "one scene, not the tour:\n{run}");
}

#[test]
#[cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]
fn bad_worker_counts_are_errors_not_panics() {
    for (args, env, message) in [
        (&["--workers", "0"][..], None, "invalid worker_threads = \"0\""),
        (&["--workers", "5000"][..], None, "invalid worker_threads = \"5000\""),
        (&[][..], Some("abc"), "invalid RUNTIME_WORKER_THREADS = \"abc\""),
    ] {
        let env: Vec<_> = env.map(|v| ("RUNTIME_WORKER_THREADS", v)).into_iter().collect();
        let run = common::demo_env(args, &env)
            .code(1)
            .stderr_has(&["error: could not build the runtime: ", message]);
        assert!(!run.stderr.contains("panicked"), "an error, not a panic:\n{run}");
    }
}

#[test]
#[cfg(any(feature = "flume", feature = "crossbeam", feature = "mutex"))]
fn the_worker_count_comes_from_the_environment_unless_the_flag_is_given() {
    let env = [("RUNTIME_WORKER_THREADS", "3")];
    common::demo_env(&["panic"], &env).success().stdout_has(&["worker threads: 3\n"]);
    common::demo_env(&["panic", "--workers", "1"], &env).success().stdout_has(&["worker threads: 1\n"]);
}
