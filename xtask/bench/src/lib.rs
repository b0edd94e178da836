//! The benchmark behind `cargo xtask bench` (which builds this crate in
//! release and runs it): this runtime with each backend against tokio,
//! async-executor and `tutorial`, on the same workloads, interleaved.
//!
//! - `cli`: flags and name lists; `contenders`: the contenders behind one
//!   small interface (`tutorial` has its own module); `workloads`: the workloads,
//!   written once against that interface; `memory`: the child process that
//!   measures memory per parked task.
//! - `io_workloads`: the I/O rows (`tcp_echo`, `http_plaintext`) on each
//!   contender's own sockets (`net`: tokio's or async-net's, and hyper's
//!   adaptor for the latter); `loadgen`: the child process that loads the
//!   HTTP server.
//! - `measure`: warm-up and interleaved rounds; `stats`: medians and ratios;
//!   `targets`: the issue's targets checked against the run; `report` and
//!   `chart`: the table, JSON, BENCHMARKS.md and the SVG chart.
//!
//! - `own_queue`: `--queue PATH::Type --queue-path DIR`, a user's queue as one
//!   more contender: generates a small crate that depends on this library and
//!   on the user's crate, and runs [`main_with_queue`] there.
//!
//! Paths on the command line are relative to the workspace root.
//!
//! It is a library as well as a binary so that a generated crate can run the
//! same harness with one more `Runtime<Q>` contender:
//!
//! ```no_run
//! # struct MyQueue;
//! # impl runtime_core::Queue for MyQueue {
//! #     fn new() -> Self { MyQueue }
//! #     fn push(&self, _: runtime_core::Runnable) { unimplemented!() }
//! #     fn pop(&self) -> Option<runtime_core::Runnable> { None }
//! #     fn len(&self) -> usize { 0 }
//! # }
//! fn main() -> std::process::ExitCode {
//!     bench::main_with_queue::<MyQueue>("my_crate::MyQueue")
//! }
//! ```

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use clap::Parser;

mod chart;
mod cli;
mod contenders;
mod io_workloads;
mod loadgen;
mod measure;
mod memory;
mod net;
mod own_queue;
mod report;
mod stats;
mod targets;
mod tutorial;
mod workloads;

use crate::{
    cli::{Args, Plan},
    contenders::BASELINE,
    report::Results,
    workloads::{Sizes, Workload},
};

/// Where BENCHMARKS.md puts its chart, relative to the workspace root.
const DOCS_CHART: &str = "docs/bench.svg";

/// `cargo xtask bench`: the built-in contenders, or with `--queue` and
/// `--queue-path` a user's queue beside them (through a generated crate that
/// calls [`main_with_queue`]).
pub fn main() -> ExitCode {
    exit(run(std::env::args().collect()))
}

/// The same harness with one more contender: this runtime on the queue `Q`,
/// called `name` in the table and on the command line (`--contenders`). It
/// runs after the built-in backends, in every workload, at every worker
/// count. The command-line flags are those of `cargo xtask bench`, less
/// `--queue` and `--queue-path`.
pub fn main_with_queue<Q: runtime_core::Queue>(name: &str) -> ExitCode {
    exit(contenders::add_queue::<Q>(name).and_then(|()| run(std::env::args().collect())))
}

fn run(argv: Vec<String>) -> anyhow::Result<()> {
    match argv.get(1).map(String::as_str) {
        Some(memory::CHILD_ARG) => memory::child_main(&argv[2..]),
        Some(loadgen::CHILD_ARG) => loadgen::child_main(&argv[2..]),
        _ => bench(&argv),
    }
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}`: the whole chain of causes on one line, no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn bench(argv: &[String]) -> anyhow::Result<()> {
    let args = Args::parse_from(argv);
    if let Some(queue) = own_queue::requested(&args)? {
        return own_queue::run(&queue, &args, &argv[1..], &root());
    }
    if args.list {
        println!("workloads:   {}", Workload::names().join(", "));
        println!("contenders:  {}", contenders::names().join(", "));
        return Ok(());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let plan = Plan::from_args(&args, cores)?;
    let sizes = if plan.quick { Sizes::quick() } else { Sizes::full() };
    if !plan.contenders.contains(&BASELINE) {
        eprintln!("bench: tokio is not among the contenders, so there are no ratios");
    }

    let cells = measure::run(&plan, &sizes)?;
    let queue = contenders::extra_name().map(|name| format!("--queue {name} ")).unwrap_or_default();
    let command = format!("cargo xtask bench {queue}{}", shell_words(&argv[1..]));
    let mut results = Results {
        command: command.trim_end().to_owned(),
        cores,
        cpu: cpu_model(),
        quick: plan.quick,
        rounds: plan.rounds,
        sizes,
        workloads: plan.workloads.clone(),
        workers: plan.workers.clone(),
        contenders: plan.contenders.clone(),
        cells,
        targets: Vec::new(),
    };
    results.summarise();
    results.targets = targets::check(&results);

    println!("{}", results.markdown());
    println!("Targets ({} workers, medians, ratio to tokio):\n", targets::TARGET_WORKERS);
    println!("{}", results.targets_markdown());

    let root = root();
    let json = root.join(&args.json);
    results.write_json(&json).with_context(|| format!("could not write {}", json.display()))?;
    let chart = root.join(&args.chart);
    chart::draw(&results, &chart).with_context(|| format!("could not draw {}", chart.display()))?;
    eprintln!("bench: samples in {}, chart in {}", json.display(), chart.display());

    if plan.full && !args.no_docs {
        let docs_chart = root.join(DOCS_CHART);
        std::fs::create_dir_all(docs_chart.parent().expect("a file in docs/"))?;
        std::fs::copy(&chart, &docs_chart).with_context(|| format!("could not copy to {DOCS_CHART}"))?;
        let md = root.join("BENCHMARKS.md");
        std::fs::write(&md, results.benchmarks_md(DOCS_CHART))
            .with_context(|| format!("could not write {}", md.display()))?;
        eprintln!("bench: rewrote BENCHMARKS.md and {DOCS_CHART}");
    } else if !args.no_docs {
        eprintln!(
            "bench: BENCHMARKS.md left alone (only a full run of every workload and contender rewrites it)"
        );
    }
    Ok(())
}

/// The workspace root: two levels up from this crate (`xtask/bench`).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("bench lives in xtask/bench")
        .to_path_buf()
}

/// This binary, to re-run as a child (`memory`, `loadgen`): `/proc/self/exe`
/// still runs it after a concurrent build has replaced (deleted) the file at
/// its path.
pub(crate) fn this_binary() -> anyhow::Result<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        Ok(proc_exe)
    } else {
        std::env::current_exe().context("cannot find the bench binary to re-run it")
    }
}

/// The CPU's model name, from `/proc/cpuinfo`.
fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// Joins words into a command line, quoting those that need it.
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_.,/=:".contains(c)) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted_where_needed() {
        let words = ["--filter", "ping_pong,yield_many", "--json", "a b.json"].map(String::from);
        assert_eq!(shell_words(&words), "--filter ping_pong,yield_many --json 'a b.json'");
    }

    #[test]
    fn root_is_the_workspace_root() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"), "{}", root().display());
    }
}
