//! The measurement loop. For each worker count, each workload is a row of
//! cells, one per contender; each contender runs in a process of its own
//! (`remote`), and every row runs interleaved rounds, A B C … A B C …, so
//! that drift on a noisy machine hits every contender alike.
//!
//! Adaptive rounds: every cell gets the row's minimum of rounds
//! ([`Rounds`]); then a cell stops as soon as its median's 95% confidence
//! interval is tight (half-width within the row's tolerance of the median),
//! at the row's maximum, or once the row has spent its share of the time
//! budget, whichever comes first, while the noisy cells of the row go on.
//! Each row's share is the time left, split between the rows still to run
//! in proportion to their minimum cost, so a row that settles early leaves
//! its time to the rows after it. A cell whose samples alone overrun its cap
//! ([`Row::cell_cap`]: twice its share of the row, or ten times the typical
//! cell's minimum) stops early (`short`, or `warm_up_only` if its warm-up
//! did): a pathological contender costs its share, not the run.
//!
//! By kind ([`Kind`]):
//! - time: one warm-up per cell picks the iterations that make a sample of
//!   about 50 ms (10 ms with `--quick`);
//! - wake: a warm-up of a quarter of a sample, then fixed-time samples;
//! - I/O: contenders started afresh for the row; a warm-up, the timed
//!   samples (with CPU per request), then one more sample each under
//!   `perf` for the syscalls per request, so the timed ones run without it;
//! - memory: a fresh process per sample.
//!
//! A job that fails or hangs fails its cell, with the reason: its process is
//! killed and a fresh one serves the next row; the run goes on.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    cli::{Plan, Spec},
    perf,
    protocol::{Job, Outcome, Role},
    remote::Remote,
    results::{Cell, Counts, Latency},
    stats::Summary,
    workload::{Kind, Rounds, Sizes, Workload},
};

/// How long a warm-up may run before its contender is called hung.
/// Generous: a contender that starves its queues can take minutes for one
/// iteration, and that is a result to report.
const WARM_UP_LIMIT: Duration = Duration::from_secs(300);

/// What the loop measured.
#[derive(Debug)]
pub struct Measured {
    /// Every cell, not yet summarised.
    pub cells: Vec<Cell>,
    /// How long it took.
    pub elapsed: Duration,
    /// Why syscalls could not be counted, if they could not.
    pub syscalls_unavailable: Option<String>,
}

/// Runs `plan` at `sizes`.
pub fn run(plan: &Plan, sizes: &Sizes) -> anyhow::Result<Measured> {
    let counting = perf::available();
    let needs_counts = plan.workloads.iter().any(|w| w.is_io());
    if let (true, Err(why)) = (needs_counts, &counting) {
        eprintln!("bench: syscalls will not be counted: {why}");
    }
    let mut clock = Clock::new(plan, sizes);
    let progress = progress_bar(plan.budget);
    let ctx = Ctx { plan, sizes, progress: &progress, counting: counting.clone(), loadgen: loadgen_path() };
    let mut cells = Vec::new();
    for &workers in &plan.workers {
        // One process per contender for the time, wake and memory rows of
        // this worker count (memory starts its own per sample).
        let mut procs: Vec<Option<Remote>> = plan.contenders.iter().map(|_| None).collect();
        for &workload in &plan.workloads {
            let budget = clock.row_budget();
            let mut row = Row::new(plan, workload, workers, budget);
            match workload.kind() {
                Kind::Time => ctx.time_row(&mut row, &mut procs, &mut clock),
                Kind::Wake => ctx.wake_row(&mut row, &mut procs, &mut clock),
                Kind::Io => ctx.io_row(&mut row, &mut clock),
                Kind::Memory => ctx.memory_row(&mut row, &mut clock),
            }
            // A contender whose binary does not run this workload (the
            // native build's, outside the I/O rows) has no cell in it.
            let runs: Vec<bool> = plan.contenders.iter().map(|c| c.runs(workload)).collect();
            cells.extend(row.cells.into_iter().zip(runs).filter_map(|(cell, runs)| runs.then_some(cell)));
        }
        progress.set_message(format!("{workers}w: stopping the runtimes"));
        drop(procs);
    }
    progress.finish_and_clear();
    Ok(Measured { cells, elapsed: clock.start.elapsed(), syscalls_unavailable: counting.err() })
}

/// This binary, as a path any process can run while this one lives (a
/// baseline's child runs it as the load generator).
fn loadgen_path() -> PathBuf {
    PathBuf::from(format!("/proc/{}/exe", std::process::id()))
}

/// The time budget: when the run should end, and the rows still to run.
struct Clock {
    start: Instant,
    deadline: Instant,
    /// The minimum cost of each row still to run, in seconds, in order.
    rows_left: Vec<f64>,
}

impl Clock {
    fn new(plan: &Plan, sizes: &Sizes) -> Self {
        let start = Instant::now();
        let rows_left = plan
            .workers
            .iter()
            .flat_map(|_| plan.workloads.iter().map(|&w| min_cost(plan, sizes, w)))
            .collect();
        Self { start, deadline: start + plan.budget, rows_left }
    }

    /// The share of the time left for the next row.
    fn row_budget(&mut self) -> Duration {
        let total: f64 = self.rows_left.iter().sum();
        let mine = if self.rows_left.is_empty() { 0.0 } else { self.rows_left.remove(0) };
        share(self.deadline.saturating_duration_since(Instant::now()), mine, total)
    }

    /// The least the run still needs: the rest of the budget, or the
    /// minimum cost of the rows left if that is more.
    fn left(&self) -> Duration {
        let budget = self.deadline.saturating_duration_since(Instant::now());
        budget.max(Duration::from_secs_f64(self.rows_left.iter().sum()))
    }
}

/// What a row of `workload` costs at its minimum of rounds, warm-ups and
/// process starts included, in seconds: how its share of the budget is weighed.
fn min_cost(plan: &Plan, sizes: &Sizes, workload: Workload) -> f64 {
    let contenders = plan.contenders.len() as f64;
    let rounds = f64::from(plan.rounds(workload).min);
    let sample = match workload.kind() {
        Kind::Time if workload == Workload::Throughput => {
            if plan.quick {
                0.05
            } else {
                0.5
            }
        }
        Kind::Time => sample_target(plan).as_secs_f64(),
        Kind::Memory => {
            if plan.quick {
                0.4
            } else {
                2.0
            }
        }
        Kind::Wake | Kind::Io => sizes.duration(workload).map_or(1.0, |d| d.as_secs_f64()) + 0.1,
    };
    // A warm-up each; the I/O rows one counted sample more and a process start.
    let extra = if workload.is_io() { 1.5 + 0.3 } else { 1.0 };
    contenders * sample * (rounds + extra)
}

/// How long a time workload's sample should take, so that timer and
/// scheduling noise stays small next to it.
fn sample_target(plan: &Plan) -> Duration {
    if plan.quick { Duration::from_millis(10) } else { Duration::from_millis(50) }
}

/// One row being measured.
struct Row {
    workload: Workload,
    workers: usize,
    rounds: Rounds,
    cells: Vec<Cell>,
    /// Whether each cell still takes samples.
    open: Vec<bool>,
    /// Time spent on each cell.
    spent: Vec<Duration>,
    started: Instant,
    budget: Duration,
    /// A typical cell's sample time (the median of the warm-ups).
    typical: Duration,
}

impl Row {
    fn new(plan: &Plan, workload: Workload, workers: usize, budget: Duration) -> Self {
        let cells: Vec<Cell> =
            plan.contenders.iter().map(|c| Cell::new(workload, workers, &c.label)).collect();
        let n = cells.len();
        Self {
            workload,
            workers,
            rounds: plan.rounds(workload),
            cells,
            open: vec![true; n],
            spent: vec![Duration::ZERO; n],
            started: Instant::now(),
            budget,
            typical: Duration::ZERO,
        }
    }

    /// What one cell may spend before it stops below the minimum: twice
    /// its share of the row's budget, or ten times what the typical cell
    /// of the row needs for its minimum of rounds, whichever is more. Only
    /// an outlier (a contender whose design collapses on the workload)
    /// reaches it.
    fn cell_cap(&self) -> Duration {
        let share = self.budget * 2 / self.cells.len().max(1) as u32;
        share.max(self.typical * self.rounds.min * 10)
    }

    /// Sets the typical sample time of the row: the median of `samples`.
    fn set_typical(&mut self, samples: &[Duration]) {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        self.typical = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    }

    fn fail(&mut self, i: usize, error: anyhow::Error, progress: &ProgressBar) {
        let error = format!("{error:#}");
        progress.println(format!(
            "bench: {}w {} {} failed: {error}",
            self.workers,
            self.workload.name(),
            self.cells[i].contender
        ));
        self.cells[i].error = Some(error);
        self.open[i] = false;
    }

    /// Closes the cells that are done; see the module docs.
    fn close_settled(&mut self) {
        let over_budget = self.started.elapsed() >= self.budget;
        let cap = self.cell_cap();
        for i in 0..self.cells.len() {
            if !self.open[i] {
                continue;
            }
            let n = self.cells[i].samples.len() as u32;
            let tight = || {
                Summary::of(&self.cells[i].samples)
                    .and_then(|s| s.ci_half_width())
                    .is_some_and(|half| half <= self.rounds.tolerance)
            };
            let done = n >= self.rounds.max || (n >= self.rounds.min && (over_budget || tight()));
            let capped = n >= 1 && self.spent[i] >= cap;
            if done || capped {
                self.open[i] = false;
                self.cells[i].short = n < self.rounds.min;
            }
        }
    }

    fn any_open(&self) -> bool {
        self.open.iter().any(|o| *o)
    }
}

/// What every row needs.
struct Ctx<'a> {
    plan: &'a Plan,
    sizes: &'a Sizes,
    progress: &'a ProgressBar,
    counting: Result<(), String>,
    loadgen: PathBuf,
}

impl Ctx<'_> {
    fn show(&self, clock: &Clock, row: &Row, i: usize, what: &str) {
        let elapsed = clock.start.elapsed();
        let left = clock.left();
        self.progress.set_length((elapsed + left).as_millis() as u64);
        self.progress.set_position(elapsed.as_millis() as u64);
        self.progress.set_message(format!(
            "≤{} left · {}w {} {}{what}",
            minutes(left),
            row.workers,
            row.workload.name(),
            row.cells[i].contender
        ));
    }

    fn spec(&self, i: usize) -> &Spec {
        &self.plan.contenders[i]
    }

    /// The process of contender `i` for a compute row, started if need be.
    fn proc<'p>(
        &self,
        procs: &'p mut [Option<Remote>],
        i: usize,
        workers: usize,
    ) -> anyhow::Result<&'p mut Remote> {
        if procs[i].is_none() {
            let spec = self.spec(i);
            procs[i] = Some(Remote::start(&spec.exe, &spec.name, workers, Role::Compute, &spec.label)?);
        }
        Ok(procs[i].as_mut().expect("started above"))
    }

    /// Marks the cells whose binary cannot run the row's workload.
    fn skip_unknown(&self, row: &mut Row) {
        for i in 0..row.cells.len() {
            if !self.spec(i).runs(row.workload) {
                row.cells[i].error =
                    Some(format!("{} has no workload {}", row.cells[i].contender, row.workload.name()));
                row.open[i] = false;
            }
        }
    }

    /// Runs interleaved rounds over the open cells of `row` until every one
    /// is closed; `sample` takes one sample of cell `i`.
    fn rounds(
        &self,
        row: &mut Row,
        clock: &Clock,
        mut sample: impl FnMut(&mut Row, usize) -> anyhow::Result<()>,
    ) {
        let mut round = 1;
        while row.any_open() {
            for i in 0..row.cells.len() {
                if !row.open[i] {
                    continue;
                }
                self.show(clock, row, i, &format!(" (round {round})"));
                let start = Instant::now();
                let result = sample(row, i);
                row.spent[i] += start.elapsed();
                if let Err(e) = result {
                    row.fail(i, e, self.progress);
                }
            }
            row.close_settled();
            round += 1;
        }
    }

    fn time_row(&self, row: &mut Row, procs: &mut [Option<Remote>], clock: &mut Clock) {
        let (workload, workers, sizes) = (row.workload, row.workers, self.sizes);
        self.skip_unknown(row);
        let target = sample_target(self.plan);
        // The warm-ups: the iterations per sample, and the slow cells.
        let mut warm: Vec<Option<Duration>> = vec![None; row.cells.len()];
        for i in 0..row.cells.len() {
            if !row.open[i] {
                continue;
            }
            self.show(clock, row, i, " (warm-up)");
            let start = Instant::now();
            let warmed = self.proc(procs, i, workers).and_then(|proc| {
                if workload == Workload::Throughput {
                    // A tenth of it, to gauge the sample's time.
                    let small = Sizes { throughput_tasks: sizes.throughput_tasks / 10, ..sizes.clone() };
                    return time_job(proc, workload, &small, 1, WARM_UP_LIMIT).map(|one| (one * 10, 1));
                }
                let one = time_job(proc, workload, sizes, 1, WARM_UP_LIMIT)?;
                if one < target {
                    // Cold caches and lazy set-up make the first one slow.
                    let two = time_job(proc, workload, sizes, 1, WARM_UP_LIMIT)?;
                    let one = one.min(two);
                    return Ok((one, iterations_for(one, target)));
                }
                Ok((one, 1))
            });
            row.spent[i] += start.elapsed();
            match warmed {
                Ok((one, iters)) => {
                    row.cells[i].iters_per_sample = iters;
                    warm[i] = Some(one);
                }
                Err(e) => {
                    procs[i] = None;
                    row.fail(i, e, self.progress);
                }
            }
        }
        let samples: Vec<Duration> = (0..row.cells.len())
            .filter_map(|i| warm[i].map(|one| one * row.cells[i].iters_per_sample))
            .collect();
        row.set_typical(&samples);
        let cap = row.cell_cap();
        for (i, one) in warm.into_iter().enumerate() {
            if let Some(one) = one.filter(|one| workload != Workload::Throughput && *one >= cap) {
                // Pathologically slow: one more run would blow its cap
                // again, so the warm-up is the only sample.
                row.cells[i].samples.push(value(workload, sizes, 1, one));
                row.cells[i].warm_up_only = true;
                row.open[i] = false;
            }
        }
        let mut expected: Vec<Duration> = vec![Duration::ZERO; row.cells.len()];
        self.rounds(row, clock, |row, i| {
            let iters = row.cells[i].iters_per_sample;
            let limit = (expected[i] * 20).max(Duration::from_secs(60));
            let result =
                self.proc(procs, i, workers).and_then(|proc| time_job(proc, workload, sizes, iters, limit));
            match result {
                Ok(elapsed) => {
                    expected[i] = elapsed;
                    row.cells[i].samples.push(value(workload, sizes, iters, elapsed));
                    Ok(())
                }
                Err(e) => {
                    procs[i] = None;
                    Err(e)
                }
            }
        });
    }

    fn wake_row(&self, row: &mut Row, procs: &mut [Option<Remote>], clock: &mut Clock) {
        let (workload, workers, sizes) = (row.workload, row.workers, self.sizes.clone());
        self.skip_unknown(row);
        let duration = sizes.duration(workload).expect("a fixed-time workload");
        row.set_typical(&[duration]);
        let limit = duration * 3 + Duration::from_secs(30);
        let job = |millis: u128| Job::Wake { workload, sizes: sizes.clone(), millis: millis as u64 };
        for i in 0..row.cells.len() {
            row.cells[i].latency = Some(Latency::default());
            if !row.open[i] {
                continue;
            }
            self.show(clock, row, i, " (warm-up)");
            let start = Instant::now();
            let result =
                self.proc(procs, i, workers).and_then(|p| p.run(&job(duration.as_millis() / 4), limit));
            row.spent[i] += start.elapsed();
            if let Err(e) = result {
                procs[i] = None;
                row.fail(i, e, self.progress);
            }
        }
        self.rounds(row, clock, |row, i| {
            let outcome = self.proc(procs, i, workers).and_then(|p| p.run(&job(duration.as_millis()), limit));
            match outcome {
                Ok(Outcome::Wake(s)) => {
                    row.cells[i].samples.push(s.p99_ns);
                    row.cells[i].latency.as_mut().expect("set above").push(s.p50_ns, s.p99_ns, s.p999_ns);
                    Ok(())
                }
                Ok(other) => Err(unexpected(&other)),
                Err(e) => {
                    procs[i] = None;
                    Err(e)
                }
            }
        });
    }

    fn io_row(&self, row: &mut Row, clock: &mut Clock) {
        let (workload, workers, sizes) = (row.workload, row.workers, self.sizes.clone());
        self.skip_unknown(row);
        let duration = sizes.duration(workload).expect("a fixed-time workload");
        row.set_typical(&[duration]);
        let limit = duration * 2 + Duration::from_secs(20);
        let loadgen = (workload == Workload::HttpPlaintext).then(|| self.loadgen.clone());
        let job = |millis: u128, perf| Job::Io {
            workload,
            sizes: sizes.clone(),
            millis: millis as u64,
            loadgen: loadgen.clone(),
            perf,
        };
        // Fresh processes for the row, each warmed up once.
        let mut procs: Vec<Option<Remote>> = Vec::new();
        for i in 0..row.cells.len() {
            row.cells[i].latency = Some(Latency::default());
            row.cells[i].counts = Some(Counts::default());
            procs.push(None);
            if !row.open[i] {
                continue;
            }
            self.show(clock, row, i, " (starting, warm-up)");
            let start = Instant::now();
            let spec = self.spec(i);
            let warmed = Remote::start(&spec.exe, &spec.name, workers, Role::Io, &spec.label)
                .and_then(|mut p| p.run(&job(duration.as_millis() / 4, None), limit).map(|_| p));
            row.spent[i] += start.elapsed();
            match warmed {
                Ok(p) => procs[i] = Some(p),
                Err(e) => row.fail(i, e, self.progress),
            }
        }
        self.rounds(row, clock, |row, i| {
            let Some(proc) = procs[i].as_mut() else { anyhow::bail!("its process is gone") };
            match proc.run(&job(duration.as_millis(), None), limit) {
                Ok(Outcome::Io(s)) => {
                    let cell = &mut row.cells[i];
                    cell.samples.push(s.rate);
                    cell.latency.as_mut().expect("set above").push(s.p50_ns, s.p99_ns, s.p999_ns);
                    if s.requests > 0 {
                        let counts = cell.counts.as_mut().expect("set above");
                        counts.cpu_ns.push(s.cpu_ns as f64 / s.requests as f64);
                    }
                    Ok(())
                }
                Ok(other) => Err(unexpected(&other)),
                Err(e) => {
                    procs[i] = None;
                    Err(e)
                }
            }
        });
        // One more sample each, counted by perf.
        for (i, proc) in procs.iter_mut().enumerate() {
            let proc = match (&self.counting, proc) {
                (Ok(()), Some(proc)) => proc,
                (counting, _) => {
                    let why = match counting {
                        Err(why) => format!("not counted: {why}"),
                        Ok(()) => "not counted: the contender failed".into(),
                    };
                    row.cells[i].counts.as_mut().expect("set above").syscalls_missing = Some(why);
                    continue;
                }
            };
            self.show(clock, row, i, " (counting syscalls)");
            let dir = std::env::temp_dir().join(format!("bench-perf-{}-{}", std::process::id(), proc.pid()));
            let counted = perf::Session::start(proc.pid(), &dir).and_then(|session| {
                let outcome = proc.run(&job(duration.as_millis(), Some(session.fifos())), limit);
                let syscalls = session.finish();
                match outcome? {
                    Outcome::Io(s) => Ok((s, syscalls?)),
                    other => Err(unexpected(&other)),
                }
            });
            let cell = &mut row.cells[i];
            let counts = cell.counts.as_mut().expect("set above");
            match counted {
                Ok((sample, syscalls)) if sample.requests > 0 => {
                    let per = |n: u64| n as f64 / sample.requests as f64;
                    counts.syscalls = Some(per(syscalls.total));
                    counts.syscalls_by_name = syscalls
                        .by_name
                        .iter()
                        .map(|(name, n)| (name.clone(), per(*n)))
                        .filter(|(_, per)| *per >= 0.01)
                        .collect();
                }
                Ok(_) => counts.syscalls_missing = Some("the counted sample completed no request".into()),
                Err(e) => {
                    let error = format!("{e:#}");
                    self.progress.println(format!(
                        "bench: {workers}w {} {}: counting syscalls failed: {error}",
                        workload.name(),
                        cell.contender
                    ));
                    counts.syscalls_missing = Some(error);
                }
            }
        }
        self.progress.set_message(format!("{workers}w {}: stopping the runtimes", workload.name()));
        drop(procs);
    }

    fn memory_row(&self, row: &mut Row, clock: &mut Clock) {
        let (workers, tasks) = (row.workers, self.sizes.memory_tasks);
        self.skip_unknown(row);
        self.rounds(row, clock, |row, i| {
            let spec = self.spec(i);
            let mut proc = Remote::start(&spec.exe, &spec.name, workers, Role::Compute, &spec.label)?;
            match proc.run(&Job::Park { tasks }, WARM_UP_LIMIT)? {
                Outcome::Parked(reading) => {
                    if reading.baseline.rss == 0 || reading.parked.hwm == 0 {
                        anyhow::bail!("could not read VmRSS/VmHWM from /proc/self/status");
                    }
                    row.cells[i].samples.push(reading.peak_per_task());
                    row.cells[i].readings.push(reading);
                    Ok(())
                }
                other => Err(unexpected(&other)),
            }
        });
    }
}

/// Runs a time job, returning the time it took (as the child measured it).
fn time_job(
    proc: &mut Remote,
    workload: Workload,
    sizes: &Sizes,
    iters: u32,
    limit: Duration,
) -> anyhow::Result<Duration> {
    match proc.run(&Job::Time { workload, sizes: sizes.clone(), iters }, limit)? {
        Outcome::Elapsed { ns } => Ok(Duration::from_nanos(ns)),
        other => Err(unexpected(&other)),
    }
}

fn unexpected(outcome: &Outcome) -> anyhow::Error {
    anyhow::anyhow!("unexpected answer from the contender's process: {outcome:?}")
}

/// How many iterations of a workload taking `one` fill `target`: at least 1,
/// at most 10 000.
pub fn iterations_for(one: Duration, target: Duration) -> u32 {
    let one = one.as_nanos().max(1);
    (target.as_nanos().div_ceil(one)).clamp(1, 10_000) as u32
}

/// A time sample's value in the workload's unit.
pub fn value(workload: Workload, sizes: &Sizes, iters: u32, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64().max(1e-9);
    match workload {
        Workload::Throughput => sizes.throughput_tasks as f64 * f64::from(iters) / secs,
        _ => secs * 1e9 / f64::from(iters),
    }
}

/// `"4m05s"`.
fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}m{:02}s", s / 60, s % 60)
}

fn progress_bar(budget: Duration) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(budget.as_millis() as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A row's share of the time `left`: its cost `mine` over the `total` of
/// the rows left, and at least its own minimum (the minimum rounds run
/// whatever the budget).
fn share(left: Duration, mine: f64, total: f64) -> Duration {
    let share = if total > 0.0 { left.mul_f64(mine / total) } else { Duration::ZERO };
    share.max(Duration::from_secs_f64(mine))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterations_fill_the_target() {
        let target = Duration::from_millis(50);
        assert_eq!(iterations_for(Duration::from_millis(10), target), 5);
        assert_eq!(iterations_for(Duration::from_millis(200), target), 1);
        assert_eq!(iterations_for(Duration::from_millis(3), target), 17);
        assert_eq!(iterations_for(Duration::ZERO, target), 10_000);
    }

    #[test]
    fn values_are_per_iteration_or_per_second() {
        let sizes = Sizes::full();
        assert_eq!(value(Workload::YieldMany, &sizes, 4, Duration::from_millis(8)), 2e6);
        assert_eq!(value(Workload::Throughput, &sizes, 1, Duration::from_millis(500)), 2e6);
    }

    #[test]
    fn rows_share_the_time_left_by_their_cost() {
        // 100 s left, a row of cost 10 among 40: a quarter of it.
        assert_eq!(share(Duration::from_secs(100), 10.0, 40.0), Duration::from_secs(25));
        // Never below its own minimum.
        assert_eq!(share(Duration::from_secs(10), 10.0, 40.0), Duration::from_secs(10));
    }

    fn plan(rounds: Option<u32>) -> Plan {
        let spec = |label: &str| Spec {
            label: label.into(),
            name: label.into(),
            exe: "/x".into(),
            workloads: vec![],
        };
        Plan {
            workloads: vec![Workload::YieldMany],
            contenders: vec![spec("flume"), spec("tokio")],
            workers: vec![2],
            quick: false,
            fixed_rounds: rounds,
            budget: Duration::from_secs(100),
            full: false,
        }
    }

    #[test]
    fn a_tight_cell_stops_and_a_noisy_one_goes_on() {
        let plan = plan(None);
        let mut row = Row::new(&plan, Workload::YieldMany, 2, Duration::from_secs(3600));
        let min = row.rounds.min as usize;
        row.cells[0].samples = vec![100.0; min];
        row.cells[1].samples = (0..min).map(|i| 100.0 + 40.0 * (i % 2) as f64).collect();
        row.close_settled();
        assert_eq!(row.open, [false, true]);
        assert!(!row.cells[0].short);
        // The noisy one stops at the maximum.
        row.cells[1].samples = (0..row.rounds.max).map(|i| 100.0 + 40.0 * (i % 2) as f64).collect();
        row.close_settled();
        assert!(!row.any_open());
    }

    #[test]
    fn below_the_minimum_only_the_cells_cap_stops_a_cell() {
        let plan = plan(None);
        let mut row = Row::new(&plan, Workload::YieldMany, 2, Duration::from_secs(10));
        row.cells[0].samples = vec![100.0; 2];
        row.cells[1].samples = vec![100.0; 2];
        row.spent[1] = Duration::from_secs(11); // over 2 × 10 s / 2 cells
        row.close_settled();
        assert_eq!(row.open, [true, false]);
        assert!(row.cells[1].short);
    }

    #[test]
    fn fixed_rounds_stop_at_their_count() {
        let plan = plan(Some(2));
        let mut row = Row::new(&plan, Workload::YieldMany, 2, Duration::from_secs(3600));
        row.cells[0].samples = vec![1.0, 50.0];
        row.cells[1].samples = vec![1.0];
        row.close_settled();
        assert_eq!(row.open, [false, true]);
    }
}
