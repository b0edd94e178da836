//! The benchmark behind `cargo xtask bench` (which builds this crate in
//! release and runs it): this runtime with each backend against tokio,
//! async-executor and `tutorial`, on the same workloads, interleaved, each
//! contender in a process of its own; with `--baseline REV`, revision REV's
//! backends beside them.
//!
//! Floors, bottom to top; each module imports only from the floors below it
//! (and from its own):
//! 1. Vocabulary: `workload` (the workloads' names, kinds, units and
//!    sizes), `stats` (medians, confidence intervals, percentiles, ratios).
//! 2. Interfaces and readings: `runner` (the `Spawner` / `Runner` traits the
//!    workloads are written against), `net` (the network stacks),
//!    `memory` (RSS readings), `window` (the counting window of an I/O
//!    sample), `loadgen` (the HTTP load generator, a process of its own).
//! 3. Workloads: `workloads` (the time ones and memory's `park`), `wake`
//!    (scheduling latency), `io_workloads` (`tcp_echo`, `http_plaintext`).
//!    `protocol` (the jobs a contender's process runs, and their outcomes).
//! 4. Contenders: `tutorial` (the one-channel executor), `adapters` (each
//!    runtime behind `Runner`), `contenders` (the registry by name, and one
//!    started contender running jobs).
//! 5. Processes: `serve` (a contender's process: the child side of the
//!    protocol), `remote` (the parent side), `perf` (syscall counting).
//! 6. A run: `results` (cells and their summaries, as data), `baseline`
//!    (building `--baseline REV`), `native` (building the backends on the
//!    runtime's own sockets), `cli` (flags and the plan), `measure`
//!    (adaptive, interleaved rounds).
//! 7. Outputs: `report` (the Markdown tables), `targets` (the issue's
//!    targets, judged from the results), `chart` (the SVG), `docs` (the JSON
//!    file and BENCHMARKS.md).
//! 8. Top: this file (`main`, dispatch of the child processes) and
//!    `own_queue` (`--queue PATH::Type --queue-path DIR`, a user's queue as
//!    one more contender: a generated crate that depends on this library and
//!    on the user's crate runs [`main_with_queue`] there).
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

mod adapters;
mod baseline;
mod chart;
mod cli;
mod contenders;
mod docs;
mod io_workloads;
mod loadgen;
mod measure;
mod memory;
mod native;
mod net;
mod own_queue;
mod perf;
mod protocol;
mod remote;
mod report;
mod results;
mod runner;
mod serve;
mod stats;
mod targets;
mod tutorial;
mod wake;
mod window;
mod workload;
mod workloads;

use crate::{
    cli::{Args, Plan},
    contenders::REFERENCE,
    results::Results,
    workload::{Sizes, Workload},
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
        Some(protocol::SERVE_ARG) => serve::main(&argv[2..]),
        Some(protocol::HELLO_ARG) => serve::hello_main(),
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
    let root = root();
    // Checked before anything is built or run.
    cli::parse_workloads(&args.filter)?;
    cli::parse_contenders(&args.contenders)?;
    cli::parse_workers(&args.workers, cores)?;
    let baseline = args.baseline.as_deref().map(|rev| baseline::prepare(rev, &root)).transpose()?;
    let native = if cli::wants_native(&args)? { Some(native::prepare(&root)?) } else { None };
    let exe = remote::this_binary()?;
    let plan = Plan::from_args(&args, cores, &exe, baseline.as_ref(), native.as_ref())?;
    let sizes = if plan.quick { Sizes::quick() } else { Sizes::full() };
    if !plan.contenders.iter().any(|c| c.label == REFERENCE) {
        eprintln!("bench: tokio is not among the contenders, so there are no ratios");
    }
    if let Some(baseline) = &baseline {
        let missing: Vec<&str> = plan
            .contenders
            .iter()
            .filter(|c| contenders::backend_names().contains(&c.label.as_str()))
            .filter(|c| !baseline.hello.backends.contains(&c.name))
            .map(|c| c.label.as_str())
            .collect();
        if !missing.is_empty() {
            eprintln!("bench: {} has no backend {}", baseline.info.rev, missing.join(", "));
        }
    }

    let load_at_start = load_average();
    let measured = measure::run(&plan, &sizes)?;
    let queue = contenders::extra_name().map(|name| format!("--queue {name} ")).unwrap_or_default();
    let command = format!("cargo xtask bench {queue}{}", shell_words(&argv[1..]));
    let mut results = Results {
        command: command.trim_end().to_owned(),
        cores,
        cpu: cpu_model(),
        load: load_at_start.zip(load_average()),
        quick: plan.quick,
        budget_s: plan.budget.as_secs_f64(),
        elapsed_s: measured.elapsed.as_secs_f64(),
        time_rounds: plan.rounds(Workload::YieldMany),
        sizes,
        workloads: plan.workloads.clone(),
        workers: plan.workers.clone(),
        contenders: plan.contenders.iter().map(|c| c.label.clone()).collect(),
        baseline: baseline.map(|b| b.info),
        syscalls_unavailable: measured.syscalls_unavailable,
        cells: measured.cells,
    };
    results.summarise();
    let checks = targets::check(&results);

    println!("{}", docs::tables(&results));
    println!("Targets ({} workers, medians, ratio to tokio):\n", targets::TARGET_WORKERS);
    println!("{}", targets::markdown(&checks));
    eprintln!("bench: measured in {:.0} s (budget {:.0} s)", results.elapsed_s, results.budget_s);

    let json = root.join(&args.json);
    docs::write_json(&results, &checks, &json)
        .with_context(|| format!("could not write {}", json.display()))?;
    let chart = root.join(&args.chart);
    chart::draw(&results, &chart).with_context(|| format!("could not draw {}", chart.display()))?;
    eprintln!("bench: samples in {}, chart in {}", json.display(), chart.display());

    if plan.full && !args.no_docs {
        let docs_chart = root.join(DOCS_CHART);
        std::fs::create_dir_all(docs_chart.parent().expect("a file in docs/"))?;
        std::fs::copy(&chart, &docs_chart).with_context(|| format!("could not copy to {DOCS_CHART}"))?;
        let md = root.join("BENCHMARKS.md");
        std::fs::write(&md, docs::benchmarks_md(&results, &checks, DOCS_CHART))
            .with_context(|| format!("could not write {}", md.display()))?;
        eprintln!("bench: rewrote BENCHMARKS.md and {DOCS_CHART}");
    } else if !args.no_docs {
        eprintln!(
            "bench: BENCHMARKS.md left alone (only a full run, every workload and contender at the default \
             worker counts, adaptive, without --baseline, rewrites it)"
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

/// The CPU's model name, from `/proc/cpuinfo`.
fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

/// The 1-minute load average, from `/proc/loadavg`.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
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
