//! The measurement loop: for each worker count, start every contender; for
//! each workload, warm each one up (and pick how many iterations make a
//! sample), then run interleaved rounds, A B C … A B C …, so that drift on a
//! noisy machine hits every contender alike.
//!
//! The I/O workloads ([`Workload::is_io`]) run on contenders started afresh
//! for their row, for a fixed time a sample (a quarter of it to warm up),
//! each sample on a thread of its own under a deadline: a contender that
//! fails or hangs fails its cell, with the reason, and the run goes on.

use std::{
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    cli::Plan,
    contenders::{self, Contender},
    io_workloads::IoSample,
    memory,
    report::{Cell, Latency},
    workloads::{Sizes, Workload},
};

/// How long one sample may run before the watchdog calls it a hang. Generous:
/// a contender that starves its queues can take minutes for one iteration,
/// and that is a result to report, not a reason to lose the run.
const HANG_LIMIT: Duration = Duration::from_secs(600);

/// Runs `plan` and returns every sample (not yet summarised).
pub fn run(plan: &Plan, sizes: &Sizes) -> anyhow::Result<Vec<Cell>> {
    let progress = progress_bar(plan);
    let watchdog = Watchdog::start();
    // A sample should take about this long, so that timer and scheduling
    // noise stays small next to it.
    let target = if plan.quick { Duration::from_millis(10) } else { Duration::from_millis(50) };
    // A contender so slow that its rounds would take longer than this gets
    // fewer rounds (at least one), rather than stalling the whole run.
    let budget = if plan.quick { Duration::from_secs(1) } else { Duration::from_secs(15) };
    let mut cells = Vec::new();

    for &workers in &plan.workers {
        let needs_runtimes = plan.workloads.iter().any(|w| *w != Workload::Memory && !w.is_io());
        let started: Vec<(&'static str, Box<dyn Contender>)> = if needs_runtimes {
            plan.contenders.iter().map(|&name| (name, contenders::start(name, workers))).collect()
        } else {
            Vec::new()
        };

        for &workload in &plan.workloads {
            let rounds = plan.rounds_for(workload);
            let mut row: Vec<Cell> =
                plan.contenders.iter().map(|&name| empty_cell(workload, workers, name)).collect();

            if workload == Workload::Memory {
                for _ in 0..rounds {
                    for cell in &mut row {
                        let label = format!("{workers}w {} {}", workload.name(), cell.contender);
                        progress.set_message(label.clone());
                        watchdog.arm(&label);
                        let reading = memory::measure(cell.contender, workers, sizes.memory_tasks)?;
                        watchdog.disarm();
                        cell.samples.push(reading.peak_per_task());
                        cell.readings.push(reading);
                        progress.inc(1);
                    }
                }
                cells.extend(row);
                continue;
            }

            if workload.is_io() {
                cells.extend(io_row(plan, sizes, workload, workers, &progress, &watchdog));
                continue;
            }

            // Warm-up, the iterations per sample, and the rounds that fit the
            // time budget, for each contender.
            let mut planned = vec![rounds; row.len()];
            for ((cell, (name, contender)), planned) in row.iter_mut().zip(&started).zip(&mut planned) {
                let label = format!("{workers}w {} {name} (warm-up)", workload.name());
                progress.set_message(label.clone());
                watchdog.arm(&label);
                let sample_time = if workload == Workload::Throughput {
                    let small = Sizes { throughput_tasks: sizes.throughput_tasks / 10, ..sizes.clone() };
                    contender.sample(workload, &small, 1) * 10
                } else {
                    let mut one = contender.sample(workload, sizes, 1);
                    if one < target {
                        // Cold caches and lazy set-up make the first one slow.
                        one = one.min(contender.sample(workload, sizes, 1));
                        cell.iters_per_sample = iterations_for(one, target);
                    } else if one >= budget {
                        // Pathologically slow: one more run would blow the
                        // budget again, so the warm-up is the only sample.
                        cell.samples.push(value(workload, sizes, 1, one));
                        cell.warm_up_only = true;
                    }
                    one * cell.iters_per_sample
                };
                *planned = if cell.warm_up_only { 0 } else { rounds_within(budget, sample_time, rounds) };
                // Skipped rounds still count on the progress bar.
                progress.inc(1 + u64::from(rounds - *planned));
                watchdog.disarm();
            }

            for round in 0..rounds {
                for ((cell, (name, contender)), planned) in row.iter_mut().zip(&started).zip(&planned) {
                    if round >= *planned {
                        continue;
                    }
                    let label = format!("{workers}w {} {name}", workload.name());
                    progress.set_message(label.clone());
                    watchdog.arm(&label);
                    let elapsed = contender.sample(workload, sizes, cell.iters_per_sample);
                    watchdog.disarm();
                    cell.samples.push(value(workload, sizes, cell.iters_per_sample, elapsed));
                    progress.inc(1);
                }
            }
            cells.extend(row);
        }
        progress.set_message(format!("{workers}w: stopping the runtimes"));
        drop(started);
    }
    progress.finish_and_clear();
    Ok(cells)
}

fn empty_cell(workload: Workload, workers: usize, contender: &'static str) -> Cell {
    Cell {
        workload,
        unit: workload.unit().name(),
        workers,
        contender,
        iters_per_sample: 1,
        samples: Vec::new(),
        warm_up_only: false,
        summary: None,
        ratio: None,
        readings: Vec::new(),
        latency: None,
        error: None,
    }
}

/// One row of an I/O workload: fresh contenders, a warm-up each, then
/// interleaved rounds of fixed-time samples, each under a deadline.
fn io_row(
    plan: &Plan,
    sizes: &Sizes,
    workload: Workload,
    workers: usize,
    progress: &ProgressBar,
    watchdog: &Watchdog,
) -> Vec<Cell> {
    let duration = sizes.io_duration(workload);
    let warm_up = duration / 4;
    let mut row: Vec<Cell> = plan
        .contenders
        .iter()
        .map(|&name| Cell { latency: Some(Latency::default()), ..empty_cell(workload, workers, name) })
        .collect();
    progress.set_message(format!("{workers}w {}: starting the runtimes", workload.name()));
    let started: Vec<Arc<dyn Contender>> =
        plan.contenders.iter().map(|&name| contenders::start_io(name, workers)).collect();
    // Round 0 is the warm-up.
    for round in 0..=plan.rounds_for(workload) {
        for (cell, contender) in row.iter_mut().zip(&started) {
            if cell.error.is_some() {
                progress.inc(1);
                continue;
            }
            let warm = if round == 0 { " (warm-up)" } else { "" };
            let label = format!("{workers}w {} {}{warm}", workload.name(), cell.contender);
            progress.set_message(label.clone());
            watchdog.arm(&label);
            let duration = if round == 0 { warm_up } else { duration };
            let result = io_sample_within(contender, workload, sizes, duration, io_deadline(duration));
            watchdog.disarm();
            match result {
                Ok(sample) if round > 0 => {
                    cell.samples.push(sample.rate);
                    let latency = cell.latency.as_mut().expect("set above");
                    latency.p50_ns.push(sample.p50_ns);
                    latency.p99_ns.push(sample.p99_ns);
                }
                Ok(_) => {}
                Err(error) => {
                    let error = format!("{error:#}");
                    progress.println(format!("bench: {label} failed: {error}"));
                    cell.error = Some(error);
                }
            }
            progress.inc(1);
        }
    }
    progress.set_message(format!("{workers}w {}: stopping the runtimes", workload.name()));
    // A contender that hung stays with its sample's thread, never dropped
    // (dropping it could hang too); the rest stop here.
    drop(started);
    row
}

/// How long an I/O sample of `duration` may run, set-up and wind-down
/// included, before its contender is called hung.
pub fn io_deadline(duration: Duration) -> Duration {
    duration * 2 + Duration::from_secs(20)
}

/// Runs one I/O sample on a thread of its own and waits for it for `limit`
/// at most: a hang or a panic is an error, not a stalled run.
fn io_sample_within(
    contender: &Arc<dyn Contender>,
    workload: Workload,
    sizes: &Sizes,
    duration: Duration,
    limit: Duration,
) -> anyhow::Result<IoSample> {
    let (done, result) = mpsc::channel();
    let (contender, sizes) = (contender.clone(), sizes.clone());
    thread::Builder::new()
        .name("bench-io-sample".into())
        .spawn(move || {
            let _ = done.send(contender.io_sample(workload, &sizes, duration));
        })
        .map_err(|e| anyhow!("could not start a sample thread: {e}"))?;
    match result.recv_timeout(limit) {
        Ok(sample) => sample,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            bail!(
                "a {}s sample did not finish within {}s: the contender hung",
                duration.as_secs_f64(),
                limit.as_secs_f64()
            )
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the sample panicked (see above)"),
    }
}

/// How many iterations of a workload taking `one` fill `target`: at least 1,
/// at most 10 000.
pub fn iterations_for(one: Duration, target: Duration) -> u32 {
    let one = one.as_nanos().max(1);
    (target.as_nanos().div_ceil(one)).clamp(1, 10_000) as u32
}

/// Rounds of samples taking `sample` each that fit in `budget`: from 1 to `rounds`.
pub fn rounds_within(budget: Duration, sample: Duration, rounds: u32) -> u32 {
    let fit = budget.as_nanos() / sample.as_nanos().max(1);
    fit.clamp(1, u128::from(rounds)) as u32
}

/// A sample's value in the workload's unit.
pub fn value(workload: Workload, sizes: &Sizes, iters: u32, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64().max(1e-9);
    match workload {
        Workload::Throughput => sizes.throughput_tasks as f64 * f64::from(iters) / secs,
        _ => secs * 1e9 / f64::from(iters),
    }
}

/// Samples in the whole plan, warm-ups included (the progress bar's length).
pub fn total_steps(plan: &Plan) -> u64 {
    let per_workers: u64 = plan
        .workloads
        .iter()
        .map(|&w| {
            let warm_up = u64::from(w != Workload::Memory);
            (u64::from(plan.rounds_for(w)) + warm_up) * plan.contenders.len() as u64
        })
        .sum();
    per_workers * plan.workers.len() as u64
}

fn progress_bar(plan: &Plan) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total_steps(plan)), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Ends the process if a sample runs for [`HANG_LIMIT`]: a contender that
/// deadlocks must fail the run (and CI), not stall it forever.
struct Watchdog {
    current: Arc<Mutex<Option<(String, Instant)>>>,
}

impl Watchdog {
    fn start() -> Self {
        let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::default();
        let watched = current.clone();
        thread::Builder::new()
            .name("bench-watchdog".into())
            .spawn(move || {
                loop {
                    thread::sleep(Duration::from_millis(500));
                    let guard = watched.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some((label, since)) = guard.as_ref()
                        && since.elapsed() > HANG_LIMIT
                    {
                        eprintln!(
                            "\nbench: {label} has run for over {}s; a contender is probably deadlocked",
                            HANG_LIMIT.as_secs()
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("could not start the watchdog thread");
        Self { current }
    }

    fn arm(&self, label: &str) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some((label.to_owned(), Instant::now()));
    }

    fn disarm(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
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
    fn slow_contenders_get_fewer_rounds() {
        let budget = Duration::from_secs(15);
        assert_eq!(rounds_within(budget, Duration::from_millis(50), 10), 10);
        assert_eq!(rounds_within(budget, Duration::from_secs(4), 10), 3);
        assert_eq!(rounds_within(budget, Duration::from_secs(60), 10), 1);
    }

    #[test]
    fn values_are_per_iteration_or_per_second() {
        let sizes = Sizes::full();
        assert_eq!(value(Workload::YieldMany, &sizes, 4, Duration::from_millis(8)), 2e6);
        assert_eq!(value(Workload::Throughput, &sizes, 1, Duration::from_millis(500)), 2e6);
    }

    /// A contender whose I/O sample hangs, or panics.
    struct Stuck {
        panics: bool,
    }

    impl Contender for Stuck {
        fn sample(&self, _: Workload, _: &Sizes, _: u32) -> Duration {
            unimplemented!()
        }

        fn park(&self, _: usize) -> memory::Reading {
            unimplemented!()
        }

        fn io_sample(&self, _: Workload, _: &Sizes, _: Duration) -> anyhow::Result<IoSample> {
            assert!(!self.panics, "the sample panicked on purpose");
            thread::sleep(Duration::from_secs(3600));
            unreachable!("woke from an hour's sleep")
        }
    }

    #[test]
    fn a_hung_or_panicking_io_sample_is_an_error_in_time() {
        let sizes = Sizes::tiny();
        let stuck: Arc<dyn Contender> = Arc::new(Stuck { panics: false });
        let start = Instant::now();
        let limit = Duration::from_millis(200);
        let err = io_sample_within(&stuck, Workload::TcpEcho, &sizes, Duration::from_millis(50), limit)
            .unwrap_err()
            .to_string();
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        assert!(err.contains("did not finish within 0.2s: the contender hung"), "{err}");

        // The panic is reported as soon as the thread is gone, however long
        // the panic hook takes to print (with RUST_BACKTRACE set, resolving
        // the backtrace on a loaded machine took longer than `limit`).
        let panics: Arc<dyn Contender> = Arc::new(Stuck { panics: true });
        let err = io_sample_within(
            &panics,
            Workload::TcpEcho,
            &sizes,
            Duration::from_millis(50),
            Duration::from_secs(60),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("panicked"), "{err}");
    }

    #[test]
    fn steps_count_warm_ups_and_rounds() {
        let plan = Plan {
            workloads: vec![Workload::YieldMany, Workload::Memory],
            contenders: vec!["flume", "tokio"],
            workers: vec![1, 2],
            quick: true,
            rounds: 3,
            full: false,
        };
        // yield_many: (3 + 1) × 2; memory: 1 × 2; at two worker counts.
        assert_eq!(total_steps(&plan), 2 * (8 + 2));
    }
}
