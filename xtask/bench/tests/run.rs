//! The bench end to end, small: every kind of workload on two contenders,
//! each in its child process, with every table in the output and every
//! sample in the JSON; and `--baseline` refusing what it cannot use.
//! (Built in the test profile, so the numbers mean nothing.)

use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("bench lives in xtask/bench")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bench-run-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_small_run_has_every_table_and_every_sample() {
    let dir = out_dir("small");
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--no-docs", "--rounds", "1", "--workers", "1,2", "--budget", "60"])
        .args(["--filter", "chained_spawn,wake_local,tcp_echo,http_plaintext,memory"])
        .args(["--contenders", "flume,tokio"])
        // The native columns need a second release build of the bench
        // (minutes from scratch); `.ci/run` lints that build instead.
        .arg("--no-native")
        .arg("--json")
        .arg(dir.join("bench.json"))
        .arg("--chart")
        .arg(dir.join("bench.svg"))
        .current_dir(workspace_root())
        .output()
        .expect("the bench binary runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the run failed:\n{stdout}\n{stderr}");
    for expected in [
        "| workload | flume | tokio |",
        "| chained_spawn (time) |",
        "| wake_local (p99) | p99 ",
        "| wake_local p99.9 |",
        "| tcp_echo CPU per round trip |",
        "| http_plaintext syscalls per request |",
        "| memory (bytes/task) |",
        "Speed-up from 1 worker",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing:\n{stdout}\n{stderr}");
    }
    assert!(!stdout.contains("✗"), "a cell failed:\n{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.json")).unwrap()).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 5 * 2 * 2, "a cell per workload, worker count and contender");
    for cell in cells {
        assert_eq!(cell["samples"].as_array().map(Vec::len), Some(1), "{cell}");
        if cell["workload"] == "http_plaintext" {
            assert!(cell["counts"]["cpu_ns"][0].as_f64().is_some_and(|ns| ns > 0.0), "{cell}");
            // Counted by perf where it works; else the reason is given.
            assert!(
                cell["counts"]["syscalls"].is_number() || cell["counts"]["syscalls_missing"].is_string(),
                "{cell}"
            );
        }
    }
    assert!(std::fs::read_to_string(dir.join("bench.svg")).unwrap().contains("<svg"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_baseline_that_is_no_revision_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--baseline", "no-such-revision-here"])
        .current_dir(workspace_root())
        .output()
        .expect("the bench binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--baseline no-such-revision-here: not a revision"), "{stderr}");
}

#[test]
fn a_child_process_for_an_unknown_contender_says_so() {
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["__serve", "smol", "1", "compute"])
        .output()
        .expect("the bench binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown contender \"smol\"") && stderr.contains("tokio"), "{stderr}");
}
