//! A run's results as data: every sample of every (workload, workers,
//! contender) cell, their summaries, and each cell's ratios to tokio and to
//! its own baseline. Rendering is elsewhere (`report`, `chart`, `docs`), and
//! so is the verdict on the targets (`targets`).

use std::collections::BTreeMap;

use crate::{
    contenders::REFERENCE,
    memory::Reading,
    stats::{self, Summary},
    workload::{Rounds, Sizes, Workload},
};

/// Every sample of one (workload, workers, contender) cell, and its summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    /// The workload.
    pub workload: Workload,
    /// `ns/iter`, `tasks/s`, `round trips/s`, `req/s`, `ns (p99)` or `bytes/task`.
    pub unit: &'static str,
    /// Worker threads.
    pub workers: usize,
    /// The contender (`flume`, or `flume@abc1234` for a baseline's).
    pub contender: String,
    /// Iterations timed together in each sample (time workloads).
    pub iters_per_sample: u32,
    /// Every sample, in round order.
    pub samples: Vec<f64>,
    /// The one sample is the (cold) warm-up run, which alone overran the
    /// cell's share of the time budget; marked `†` in the table.
    pub warm_up_only: bool,
    /// Fewer samples than the minimum: its samples overran the cell's share
    /// of the time budget; marked `‡` in the table.
    pub short: bool,
    /// Median, min, max and the median's confidence interval.
    pub summary: Option<Summary>,
    /// The median relative to tokio's in the same run (lower is better).
    pub ratio: Option<f64>,
    /// The median relative to its own baseline's (`flume` against
    /// `flume@REV`), with `--baseline` (lower is better).
    pub baseline_ratio: Option<f64>,
    /// For `memory`: what each child process read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<Reading>,
    /// For the wake and I/O workloads: the latencies beside each sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// For the I/O workloads: CPU and syscalls per request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<Counts>,
    /// Why the cell has no (or fewer) samples: the contender failed or hung.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Cell {
    /// An empty cell.
    pub fn new(workload: Workload, workers: usize, contender: &str) -> Self {
        Self {
            workload,
            unit: workload.unit().name(),
            workers,
            contender: contender.to_owned(),
            iters_per_sample: 1,
            samples: Vec::new(),
            warm_up_only: false,
            short: false,
            summary: None,
            ratio: None,
            baseline_ratio: None,
            readings: Vec::new(),
            latency: None,
            counts: None,
            error: None,
        }
    }
}

/// The latencies of a wake or I/O cell: one p50, p99 and p99.9 per sample,
/// their summaries, and the median p99's ratio to tokio's. (For a wake
/// cell the samples themselves are the p99s.)
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Latency {
    /// Each sample's median latency, in nanoseconds, in round order.
    pub p50_ns: Vec<f64>,
    /// Each sample's 99th percentile latency, in nanoseconds.
    pub p99_ns: Vec<f64>,
    /// Each sample's 99.9th percentile latency, in nanoseconds.
    pub p999_ns: Vec<f64>,
    /// Summary of `p50_ns`.
    pub p50: Option<Summary>,
    /// Summary of `p99_ns`.
    pub p99: Option<Summary>,
    /// Summary of `p999_ns`.
    pub p999: Option<Summary>,
    /// The median p99 relative to tokio's (lower is better).
    pub p99_ratio: Option<f64>,
}

impl Latency {
    /// Adds one sample's percentiles.
    pub fn push(&mut self, p50_ns: f64, p99_ns: f64, p999_ns: f64) {
        self.p50_ns.push(p50_ns);
        self.p99_ns.push(p99_ns);
        self.p999_ns.push(p999_ns);
    }
}

/// What an I/O cell cost per request (per round trip for `tcp_echo`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counts {
    /// CPU time of the server's process per request, in nanoseconds, for
    /// each timed sample (`getrusage` over the counting window).
    pub cpu_ns: Vec<f64>,
    /// Summary of `cpu_ns`.
    pub cpu: Option<Summary>,
    /// Syscalls per request, from one more sample counted by perf (so that
    /// the timed ones run without it).
    pub syscalls: Option<f64>,
    /// The same by syscall, for each one made at least once per 100 requests.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub syscalls_by_name: BTreeMap<String, f64>,
    /// Why `syscalls` is missing: no perf here, or its sample failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscalls_missing: Option<String>,
}

/// The `--baseline` revision of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BaselineInfo {
    /// As given on the command line (`HEAD~1`).
    pub rev: String,
    /// Its commit.
    pub commit: String,
    /// What its contenders are suffixed with (`@` and the short commit).
    pub suffix: String,
}

/// A whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Results {
    /// The command line that produced it.
    pub command: String,
    /// `available_parallelism` on this machine.
    pub cores: usize,
    /// The CPU, from `/proc/cpuinfo`, if known.
    pub cpu: Option<String>,
    /// The 1-minute load average at the start and at the end, if known.
    pub load: Option<(f64, f64)>,
    /// Whether it was a `--quick` run.
    pub quick: bool,
    /// The time budget it was planned in, in seconds.
    pub budget_s: f64,
    /// How long its measurements took, in seconds.
    pub elapsed_s: f64,
    /// When the time rows' cells stopped (the others' are in `measure.rs`).
    pub time_rounds: Rounds,
    /// The workloads' sizes.
    pub sizes: Sizes,
    /// Rows.
    pub workloads: Vec<Workload>,
    /// Panels / tables.
    pub workers: Vec<usize>,
    /// Columns.
    pub contenders: Vec<String>,
    /// The `--baseline` revision, if any.
    pub baseline: Option<BaselineInfo>,
    /// Why syscalls could not be counted on this machine, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscalls_unavailable: Option<String>,
    /// Every cell.
    pub cells: Vec<Cell>,
}

impl Results {
    /// The cell for `(workload, workers, contender)`.
    pub fn cell(&self, workload: Workload, workers: usize, contender: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.workload == workload && c.workers == workers && c.contender == contender)
    }

    /// The baseline of `contender` in this run (`flume@abc1234` for `flume`).
    pub fn baseline_of(&self, contender: &str) -> Option<String> {
        let baseline = format!("{contender}{}", self.baseline.as_ref()?.suffix);
        self.contenders.contains(&baseline).then_some(baseline)
    }

    /// Fills in every summary and ratio.
    pub fn summarise(&mut self) {
        for cell in &mut self.cells {
            cell.summary = Summary::of(&cell.samples);
            if let Some(latency) = &mut cell.latency {
                latency.p50 = Summary::of(&latency.p50_ns);
                latency.p99 = Summary::of(&latency.p99_ns);
                latency.p999 = Summary::of(&latency.p999_ns);
            }
            if let Some(counts) = &mut cell.counts {
                counts.cpu = Summary::of(&counts.cpu_ns);
            }
        }
        let median = |cell: Option<&Cell>| cell.and_then(|c| c.summary).map(|s| s.median);
        let p99 = |cell: Option<&Cell>| cell.and_then(|c| c.latency.as_ref()?.p99).map(|s| s.median);
        let references: Vec<_> = self
            .cells
            .iter()
            .map(|c| {
                let tokio = self.cell(c.workload, c.workers, REFERENCE);
                let own = self.baseline_of(&c.contender).and_then(|b| self.cell(c.workload, c.workers, &b));
                (median(tokio), p99(tokio), median(own))
            })
            .collect();
        for (cell, (tokio, tokio_p99, own)) in self.cells.iter_mut().zip(references) {
            let higher = cell.workload.unit().higher_is_better();
            let mine = cell.summary.map(|s| s.median);
            cell.ratio = mine.zip(tokio).and_then(|(m, t)| stats::ratio(m, t, higher));
            cell.baseline_ratio = mine.zip(own).and_then(|(m, b)| stats::ratio(m, b, higher));
            if let Some(latency) = &mut cell.latency {
                let mine = latency.p99.map(|s| s.median);
                latency.p99_ratio = mine.zip(tokio_p99).and_then(|(m, t)| stats::ratio(m, t, false));
            }
        }
    }

    /// How `contender`'s median at `workers` compares with its median at
    /// the first worker count of the run: the speed-up (above 1 is faster).
    pub fn speedup(&self, workload: Workload, workers: usize, contender: &str) -> Option<f64> {
        let first = *self.workers.first()?;
        let base = self.cell(workload, first, contender)?.summary?.median;
        let here = self.cell(workload, workers, contender)?.summary?.median;
        // The ratio of costs, inverted: a speed-up.
        stats::ratio(here, base, workload.unit().higher_is_better()).map(|r| 1.0 / r)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn cell(workload: Workload, workers: usize, contender: &str, samples: &[f64]) -> Cell {
        Cell { samples: samples.to_vec(), ..Cell::new(workload, workers, contender) }
    }

    pub(crate) fn results(workloads: Vec<Workload>, contenders: &[&str], cells: Vec<Cell>) -> Results {
        let mut workers: Vec<usize> = cells.iter().map(|c| c.workers).collect();
        workers.sort_unstable();
        workers.dedup();
        let mut results = Results {
            command: "cargo xtask bench".into(),
            cores: 2,
            cpu: None,
            load: None,
            quick: false,
            budget_s: 780.0,
            elapsed_s: 700.0,
            time_rounds: Rounds { min: 6, max: 30, tolerance: 0.03 },
            sizes: Sizes::full(),
            workloads,
            workers,
            contenders: contenders.iter().map(|c| c.to_string()).collect(),
            baseline: None,
            syscalls_unavailable: None,
            cells,
        };
        results.summarise();
        results
    }

    #[test]
    fn ratios_are_to_tokio_in_the_same_cell() {
        let r = results(
            vec![Workload::YieldMany, Workload::Throughput],
            &["flume", "tokio"],
            vec![
                cell(Workload::YieldMany, 2, "flume", &[1e6, 2e6, 3e6]),
                cell(Workload::YieldMany, 2, "tokio", &[4e6, 4e6, 4e6]),
                cell(Workload::Throughput, 2, "flume", &[4e6]),
                cell(Workload::Throughput, 2, "tokio", &[2e6]),
            ],
        );
        assert_eq!(r.cell(Workload::YieldMany, 2, "flume").unwrap().ratio, Some(0.5));
        assert_eq!(r.cell(Workload::YieldMany, 2, "tokio").unwrap().ratio, Some(1.0));
        assert_eq!(r.cell(Workload::Throughput, 2, "flume").unwrap().ratio, Some(0.5));
        assert_eq!(r.cell(Workload::YieldMany, 2, "flume").unwrap().baseline_ratio, None);
    }

    #[test]
    fn each_backend_is_compared_with_its_own_baseline() {
        let mut r = results(
            vec![Workload::YieldMany],
            &["flume", "flume@abc1234", "tokio"],
            vec![
                cell(Workload::YieldMany, 2, "flume", &[3e6]),
                cell(Workload::YieldMany, 2, "flume@abc1234", &[2e6]),
                cell(Workload::YieldMany, 2, "tokio", &[4e6]),
            ],
        );
        r.baseline = Some(BaselineInfo {
            rev: "HEAD~1".into(),
            commit: "abc1234ff".into(),
            suffix: "@abc1234".into(),
        });
        r.summarise();
        let flume = r.cell(Workload::YieldMany, 2, "flume").unwrap();
        assert_eq!((flume.ratio, flume.baseline_ratio), (Some(0.75), Some(1.5)));
        assert_eq!(r.cell(Workload::YieldMany, 2, "flume@abc1234").unwrap().ratio, Some(0.5));
    }

    #[test]
    fn speedups_are_against_the_first_worker_count() {
        let r = results(
            vec![Workload::YieldMany, Workload::Throughput],
            &["flume"],
            vec![
                cell(Workload::YieldMany, 1, "flume", &[4e6]),
                cell(Workload::YieldMany, 2, "flume", &[2e6]),
                cell(Workload::Throughput, 1, "flume", &[1e6]),
                cell(Workload::Throughput, 2, "flume", &[1.5e6]),
            ],
        );
        assert_eq!(r.speedup(Workload::YieldMany, 2, "flume"), Some(2.0));
        assert_eq!(r.speedup(Workload::Throughput, 2, "flume"), Some(1.5));
        assert_eq!(r.speedup(Workload::YieldMany, 1, "flume"), Some(1.0));
    }
}
