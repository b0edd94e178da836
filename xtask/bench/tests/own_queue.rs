//! `--queue PATH::Type --queue-path DIR` end to end: a queue defined in a
//! temporary crate runs beside the built-in contenders, and the table has
//! its column.
//!
//! The crate lives under `<target>/bench-own-queue-test/`; the generated
//! crate is built in the dev profile (`--queue-dev-profile`), offline, in
//! this workspace's target directory, so it reuses what this test's own
//! build compiled and finishes in seconds.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The workspace root: two levels above this crate (`xtask/bench`).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("bench lives in xtask/bench")
}

/// The target directory this test was built in.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").exists())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A user's queue: a `std::sync::Mutex<VecDeque>`, in a crate of its own.
const QUEUE_LIB: &str = r#"
use std::{collections::VecDeque, sync::Mutex};
use runtime_core::{Queue, Runnable};

pub struct StdMutexQueue(Mutex<VecDeque<Runnable>>);

impl Queue for StdMutexQueue {
    fn new() -> Self { StdMutexQueue(Mutex::new(VecDeque::new())) }
    fn push(&self, runnable: Runnable) { self.0.lock().unwrap().push_back(runnable); }
    fn pop(&self) -> Option<Runnable> { self.0.lock().unwrap().pop_front() }
    fn len(&self) -> usize { self.0.lock().unwrap().len() }
}
"#;

fn user_crate() -> PathBuf {
    let dir = target_dir().join("bench-own-queue-test").join("my-queue");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let root = workspace_root().display();
    let manifest = format!(
        "[package]\nname = \"my-queue\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n\n\
         [dependencies]\nruntime-core = {{ path = \"{root}/runtime-core\" }}\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/lib.rs"), QUEUE_LIB).unwrap();
    dir
}

#[test]
fn a_users_queue_gets_a_column_beside_the_built_in_contenders() {
    let dir = user_crate();
    let out_dir = target_dir().join("bench-own-queue-test");
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--queue", "my_queue::StdMutexQueue", "--queue-path"])
        .arg(&dir)
        .args(["--queue-dev-profile", "--quick", "--no-docs", "--rounds", "1", "--workers", "1"])
        .args(["--filter", "spawn_many_local", "--contenders", "flume,my_queue::StdMutexQueue,tokio"])
        .arg("--json")
        .arg(out_dir.join("bench.json"))
        .arg("--chart")
        .arg(out_dir.join("bench.svg"))
        .current_dir(workspace_root())
        .env("CARGO", env!("CARGO"))
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("the bench binary runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the run failed:\n{stdout}\n{stderr}");
    // The table's header: the user's queue after the built-in backend, before tokio.
    assert!(stdout.contains("| workload | flume | my_queue::StdMutexQueue | tokio |"), "{stdout}");
    let row =
        stdout.lines().find(|l| l.starts_with("| spawn_many_local")).unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(row.matches('|').count(), 5, "a value in every column: {row}");
    let json = std::fs::read_to_string(out_dir.join("bench.json")).unwrap();
    assert!(json.contains("\"contender\": \"my_queue::StdMutexQueue\""), "the samples name it");
}

#[test]
fn a_queue_path_that_is_not_a_crate_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--queue", "my_queue::StdMutexQueue", "--queue-path", "no/such/dir", "--quick"])
        .current_dir(workspace_root())
        .output()
        .expect("the bench binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--queue-path") && stderr.contains("no/such/dir: cannot read"), "{stderr}");
}
