//! The protocol between the bench and the processes that host its
//! contenders: every contender runs in a child process of its own (this
//! binary, or a baseline revision's, re-executed with [`SERVE_ARG`]), so
//! that every one runs alone in its process, a baseline revision's backends
//! beside the current ones, and counts (CPU, syscalls) belong to one runtime.
//!
//! One JSON value per line. The child starts with
//! `SERVE_ARG CONTENDER WORKERS ROLE` and prints a [`Hello`]; then, for each
//! [`Job`] line on its stdin, it prints one [`Outcome`] line on its stdout,
//! until its stdin closes. `HELLO_ARG` prints the [`Hello`] alone and exits:
//! what `--baseline` checks before it runs anything.
//!
//! A change that a child of an older revision could misread bumps
//! [`VERSION`]; the parent refuses a child that speaks another.

use std::{io::Write, path::PathBuf};

use anyhow::Context;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    io_workloads::IoSample,
    memory::Reading,
    wake::WakeSample,
    window::Fifos,
    workload::{Sizes, Workload},
};

/// The protocol's version; see the module docs.
pub const VERSION: u32 = 1;

/// The first argument that turns this binary into a contender's host.
pub const SERVE_ARG: &str = "__serve";

/// The first argument that makes this binary print its [`Hello`] and exit.
pub const HELLO_ARG: &str = "__hello";

/// What a child says first: what it speaks and what it can run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hello {
    /// Its protocol version ([`VERSION`] when it was built).
    pub protocol: u32,
    /// Every contender it can host.
    pub contenders: Vec<String>,
    /// Those that are this runtime on a backend.
    pub backends: Vec<String>,
    /// Every workload it can run.
    pub workloads: Vec<String>,
}

/// What a contender's process is started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The time, wake and memory workloads.
    Compute,
    /// An I/O row: like `Compute`, but async-executor's threads wait in
    /// async-io's reactor, as smol runs them.
    Io,
}

impl Role {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Compute => "compute",
            Role::Io => "io",
        }
    }

    /// The role called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Role::Compute, Role::Io].into_iter().find(|r| r.name() == name)
    }
}

/// One thing to run, with the sizes of the parent (so that a baseline's
/// child runs the same workloads).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// `iters` iterations of a time workload: [`Outcome::Elapsed`].
    Time { workload: Workload, sizes: Sizes, iters: u32 },
    /// One sample of a wake workload: [`Outcome::Wake`].
    Wake { workload: Workload, sizes: Sizes, millis: u64 },
    /// One sample of an I/O workload: [`Outcome::Io`]. `loadgen` is the
    /// binary to run as the load generator; `perf`, the FIFOs of the perf
    /// session counting this process, if there is one.
    Io { workload: Workload, sizes: Sizes, millis: u64, loadgen: Option<PathBuf>, perf: Option<Fifos> },
    /// Park `tasks` pending tasks and read memory: [`Outcome::Parked`].
    Park { tasks: usize },
}

impl Job {
    /// The workload it runs, if it names one.
    pub fn workload(&self) -> Option<Workload> {
        match self {
            Job::Time { workload, .. } | Job::Wake { workload, .. } | Job::Io { workload, .. } => {
                Some(*workload)
            }
            Job::Park { .. } => None,
        }
    }
}

/// What a job gave.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Time taken by a [`Job::Time`].
    Elapsed { ns: u64 },
    /// A [`Job::Wake`]'s sample.
    Wake(WakeSample),
    /// A [`Job::Io`]'s sample.
    Io(IoSample),
    /// A [`Job::Park`]'s reading.
    Parked(Reading),
    /// The job failed; the contender may not be usable any more.
    Failed { error: String },
}

/// Writes `value` as one line of JSON and flushes.
pub fn send<T: Serialize>(out: &mut impl Write, value: &T) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()?;
    Ok(())
}

/// Parses one line of JSON as a `T`.
pub fn parse<T: DeserializeOwned>(line: &str, what: &str) -> anyhow::Result<T> {
    serde_json::from_str(line.trim()).with_context(|| format!("not a {what}: {:?}", clip(line)))
}

/// `line`, cut to a length an error message can carry.
fn clip(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_and_outcomes_are_one_line_each() {
        let job = Job::Time { workload: Workload::YieldMany, sizes: Sizes::tiny(), iters: 3 };
        let mut out = Vec::new();
        send(&mut out, &job).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.contains(r#""job":"time""#) && text.contains(r#""workload":"yield_many""#), "{text}");
        assert_eq!(parse::<Job>(&text, "job").unwrap(), job);

        let outcome = Outcome::Failed { error: "boom".into() };
        let text = serde_json::to_string(&outcome).unwrap();
        assert_eq!(parse::<Outcome>(&text, "outcome").unwrap(), outcome);
    }

    #[test]
    fn a_job_for_an_unknown_workload_is_a_clear_error() {
        let err = parse::<Job>(r#"{"job":"time","workload":"yield_lots","iters":1}"#, "job").unwrap_err();
        assert!(format!("{err:#}").contains("yield_lots"), "{err:#}");
    }

    #[test]
    fn roles_by_name() {
        for role in [Role::Compute, Role::Io] {
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::from_name("gpu"), None);
    }
}
