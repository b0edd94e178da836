//! A new project that adds the facade, built from a template as a user
//! would (offline, against this workspace by path): the features pick the
//! backend with no type parameter anywhere, all three at once compile and
//! pick the documented one, and with none the error is at the user's use of
//! the default queue and says which feature to enable.
//!
//! Each project lives under `<target>/facade-template/`, outside this
//! workspace (an empty `[workspace]` table), with a copy of this workspace's
//! `Cargo.lock` and this workspace's target directory, so that it resolves
//! offline and reuses what is already compiled.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// The workspace root: two levels above this crate (`runtime-core/facade`).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("the facade lives in runtime-core/facade")
}

/// The target directory this test was built in (the one holding
/// `CACHEDIR.TAG` above the test binary).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Writes the project `name`: a manifest whose dependency on the facade is
/// `facade` (the text after `pluggable-runtime = { path = "…", `), the
/// workspace's `Cargo.lock`, and `files` (path, contents).
fn project(name: &str, facade: &str, extra_deps: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = target_dir().join("facade-template").join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let root = workspace_root().display().to_string();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
         # Not part of the workspace it sits in.\n[workspace]\n\n\
         [dependencies]\npluggable-runtime = {{ path = \"{root}/runtime-core/facade\", {facade} }}\n{extra_deps}"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    dir
}

/// `cargo <args>` in `dir`, offline, in this workspace's target directory.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args(args)
        .args(["--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("RUNTIME_WORKER_THREADS")
        .output()
        .expect("cargo runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cargo run` in `dir`, panicking with cargo's output unless it succeeds.
fn run(dir: &Path) -> String {
    let out = cargo(dir, &["run"]);
    assert!(out.status.success(), "cargo run failed:\n{}", text(&out.stderr));
    text(&out.stdout)
}

/// An application with no type parameter anywhere.
const APP: &str = r#"
use pluggable_runtime::{Runtime, block_on, join, spawn};

fn main() {
    println!("default queue: {}", std::any::type_name::<pluggable_runtime::DefaultQueue>());
    let task = spawn(async { 6 * 7 });
    println!("global runtime: {}", block_on(task));
    let rt = Runtime::builder().worker_threads(2).build().expect("runtime");
    let (a, b) = rt.block_on(async { join!(spawn(async { 1 }), spawn(async { 2 })) });
    println!("own runtime: {}", a + b);
    pluggable_runtime::shutdown();
}
"#;

#[test]
fn a_project_with_only_crossbeam_runs_on_crossbeam_queue() {
    let dir = project(
        "facade-crossbeam",
        r#"default-features = false, features = ["crossbeam"]"#,
        "",
        &[("src/main.rs", APP)],
    );
    let stdout = run(&dir);
    for line in ["default queue: queue_crossbeam::CrossbeamQueue", "global runtime: 42", "own runtime: 3"] {
        assert!(stdout.contains(line), "stdout lacks {line:?}:\n{stdout}");
    }

    // A bad worker count for the global runtime: a panic that names the
    // variable and the value, at the caller's line.
    let exe = target_dir().join("debug").join("facade-crossbeam");
    let out = Command::new(&exe).env("RUNTIME_WORKER_THREADS", "abc").output().expect("the app runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(stderr.contains("invalid RUNTIME_WORKER_THREADS = \"abc\""), "{stderr}");
    assert!(stderr.contains("src/main.rs:6"), "the panic points at the caller:\n{stderr}");
}

#[test]
fn all_three_backends_compile_together_and_pick_crossbeam() {
    let facade = r#"default-features = false, features = ["flume", "crossbeam", "mutex"]"#;
    let dir = project("facade-all-backends", facade, "", &[("src/main.rs", APP)]);
    let stdout = run(&dir);
    assert!(stdout.contains("default queue: queue_crossbeam::CrossbeamQueue"), "{stdout}");
    assert!(stdout.contains("global runtime: 42"), "{stdout}");
}

#[test]
fn the_default_feature_is_flume_and_mutex_beats_it() {
    let dir = project("facade-default", "", "", &[("src/main.rs", APP)]);
    assert!(run(&dir).contains("default queue: queue_flume::FlumeQueue"));
    let dir = project("facade-mutex-and-default", r#"features = ["mutex"]"#, "", &[("src/main.rs", APP)]);
    assert!(run(&dir).contains("default queue: queue_mutex::MutexQueue"));
}

#[test]
fn without_a_backend_only_uses_of_the_default_queue_are_errors() {
    let root = workspace_root().display().to_string();
    let generic = r#"
use pluggable_runtime::generic::Runtime;
use queue_mutex::MutexQueue;

#[pluggable_runtime::main(queue = queue_mutex::MutexQueue)]
async fn main() {
    let rt = Runtime::<MutexQueue>::builder().worker_threads(1).build().unwrap();
    let (a, b) = pluggable_runtime::join!(async { 1 }, async { 2 });
    println!("named queue: {}", rt.spawn(async move { a + b }).await);
}
"#;
    // Three uses of the default queue: `#[main]` without `queue =`, the free
    // `spawn`, and the non-generic `Runtime`.
    let default = r#"
#[pluggable_runtime::main]
async fn main() {
    let task = pluggable_runtime::spawn(async { 1 });
    let rt = pluggable_runtime::Runtime::new();
    drop((task, rt));
}
"#;
    let dir = project(
        "facade-no-backend",
        "default-features = false",
        &format!("queue-mutex = {{ path = \"{root}/queue-mutex\" }}\n"),
        &[("src/bin/generic.rs", generic), ("src/bin/default.rs", default)],
    );

    let out = cargo(&dir, &["run", "--bin", "generic"]);
    assert!(out.status.success(), "a named queue needs no backend feature:\n{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("named queue: 3"), "{}", text(&out.stdout));

    let out = cargo(&dir, &["build", "--bin", "default"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "using the default queue with no backend must not compile");
    for needle in [
        "pluggable-runtime has no queue backend enabled, so there is no `DefaultQueue`",
        "enable one of the features `flume`, `crossbeam`, `mutex` of pluggable-runtime",
        "src/bin/default.rs:2:1",
        "src/bin/default.rs:4:41",
        "src/bin/default.rs:5:14",
    ] {
        assert!(stderr.contains(needle), "stderr lacks {needle:?}:\n{stderr}");
    }
}
