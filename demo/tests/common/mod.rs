//! Running the demo binary and reading what it printed.

// Each test file uses its own subset of these helpers.
#![allow(dead_code)]

use std::time::Duration;

use assert_cmd::cargo::cargo_bin_cmd;

/// What one run of the demo produced.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics, showing the whole output, unless the run exited 0.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "the demo failed:\n{self}");
        self
    }

    /// Panics, showing the whole output, unless the run exited with `code`.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "expected exit code {code}:\n{self}");
        self
    }

    /// Panics unless stdout contains every one of `lines`.
    #[track_caller]
    pub fn stdout_has(self, lines: &[&str]) -> Self {
        for line in lines {
            assert!(self.stdout.contains(line), "stdout lacks {line:?}:\n{self}");
        }
        self
    }

    /// Panics unless stderr contains every one of `lines`.
    #[track_caller]
    pub fn stderr_has(self, lines: &[&str]) -> Self {
        for line in lines {
            assert!(self.stderr.contains(line), "stderr lacks {line:?}:\n{self}");
        }
        self
    }

    /// How many times `text` occurs in stdout.
    pub fn count(&self, text: &str) -> usize {
        self.stdout.matches(text).count()
    }

    /// The stdout line that starts (after indentation) with `prefix`.
    #[track_caller]
    pub fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starts with {prefix:?}:\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code: {:?}\n--- stdout\n{}--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs the demo with `args` and `env` (RUNTIME_WORKER_THREADS unset unless
/// `env` sets it), killing it if it takes more than a minute.
pub fn demo_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = cargo_bin_cmd!("demo");
    cmd.args(args).env_remove("RUNTIME_WORKER_THREADS").timeout(Duration::from_secs(60));
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("the demo binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the demo with `args`.
pub fn demo(args: &[&str]) -> Run {
    demo_env(args, &[])
}

/// The backend the demo picks without `--queue`: the first compiled in of
/// crossbeam, mutex, flume (`pluggable_runtime::DefaultQueue`'s order),
/// written out here so that the test checks that order.
pub fn default_backend() -> Option<&'static str> {
    if cfg!(feature = "crossbeam") {
        Some("crossbeam")
    } else if cfg!(feature = "mutex") {
        Some("mutex")
    } else if cfg!(feature = "flume") {
        Some("flume")
    } else {
        None
    }
}
