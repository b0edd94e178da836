//! Results and their outputs: the Markdown table, the JSON file, BENCHMARKS.md.

use std::{fmt::Write as _, path::Path};

use crate::{
    contenders::BASELINE,
    memory::Reading,
    stats::{self, Summary},
    targets::Check,
    workloads::{Sizes, Unit, Workload},
};

/// Every sample of one (workload, workers, contender) cell, and its summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cell {
    /// The workload.
    pub workload: Workload,
    /// `ns/iter`, `tasks/s`, `round trips/s`, `req/s` or `bytes/task`.
    pub unit: &'static str,
    /// Worker threads.
    pub workers: usize,
    /// The contender.
    pub contender: &'static str,
    /// Iterations timed together in each sample (time workloads).
    pub iters_per_sample: u32,
    /// Every sample, in round order.
    pub samples: Vec<f64>,
    /// The one sample is the (cold) warm-up run, which alone overran the
    /// cell's time budget; marked `†` in the table.
    pub warm_up_only: bool,
    /// Median, min and max of the samples.
    pub summary: Option<Summary>,
    /// The median relative to tokio's in the same run (lower is better).
    pub ratio: Option<f64>,
    /// For `memory`: what each child process read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<Reading>,
    /// For the I/O workloads: the latencies beside each rate sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Why the cell has no (or fewer) samples: the contender failed or hung
    /// (I/O workloads, which carry on without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The latencies of an I/O cell: one p50 and one p99 per sample, their
/// summaries, and the median p99's ratio to tokio's.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Latency {
    /// Each sample's median latency, in nanoseconds, in round order.
    pub p50_ns: Vec<f64>,
    /// Each sample's 99th percentile latency, in nanoseconds.
    pub p99_ns: Vec<f64>,
    /// Summary of `p50_ns`.
    pub p50: Option<Summary>,
    /// Summary of `p99_ns`.
    pub p99: Option<Summary>,
    /// The median p99 relative to tokio's (lower is better).
    pub p99_ratio: Option<f64>,
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
    /// Whether it was a `--quick` run.
    pub quick: bool,
    /// Rounds for the short workloads.
    pub rounds: u32,
    /// The workloads' sizes.
    pub sizes: Sizes,
    /// Rows.
    pub workloads: Vec<Workload>,
    /// Panels / tables.
    pub workers: Vec<usize>,
    /// Columns.
    pub contenders: Vec<&'static str>,
    /// Every cell.
    pub cells: Vec<Cell>,
    /// The targets, checked at two workers.
    pub targets: Vec<Check>,
}

impl Results {
    /// The cell for `(workload, workers, contender)`.
    pub fn cell(&self, workload: Workload, workers: usize, contender: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.workload == workload && c.workers == workers && c.contender == contender)
    }

    /// Fills in every cell's summary and ratio to tokio.
    pub fn summarise(&mut self) {
        for cell in &mut self.cells {
            cell.summary = Summary::of(&cell.samples);
            if let Some(latency) = &mut cell.latency {
                latency.p50 = Summary::of(&latency.p50_ns);
                latency.p99 = Summary::of(&latency.p99_ns);
            }
        }
        let p99_medians: Vec<Option<f64>> = self
            .cells
            .iter()
            .map(|c| {
                let baseline = self.cell(c.workload, c.workers, BASELINE)?;
                Some(baseline.latency.as_ref()?.p99?.median)
            })
            .collect();
        for (cell, baseline) in self.cells.iter_mut().zip(p99_medians) {
            if let (Some(latency), Some(baseline)) = (&mut cell.latency, baseline) {
                latency.p99_ratio = latency.p99.and_then(|p99| stats::ratio(p99.median, baseline, false));
            }
        }
        let medians: Vec<Option<f64>> = self
            .cells
            .iter()
            .map(|c| self.cell(c.workload, c.workers, BASELINE).and_then(|b| b.summary).map(|s| s.median))
            .collect();
        for (cell, baseline) in self.cells.iter_mut().zip(medians) {
            cell.ratio = match (cell.summary, baseline) {
                (Some(s), Some(b)) => stats::ratio(s.median, b, cell.workload.unit().higher_is_better()),
                _ => None,
            };
        }
    }

    /// The Markdown tables, one per worker count.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for &workers in &self.workers {
            let _ = writeln!(out, "#### {workers} worker{}\n", if workers == 1 { "" } else { "s" });
            let _ = writeln!(out, "| workload | {} |", self.contenders.join(" | "));
            let _ = writeln!(out, "|:--|{}", "--:|".repeat(self.contenders.len()));
            for &workload in &self.workloads {
                let _ = write!(out, "| {} ({}) |", workload.name(), row_unit(workload.unit()));
                for contender in &self.contenders {
                    let text = self.cell(workload, workers, contender).map_or("–".into(), format_cell);
                    let _ = write!(out, " {text} |");
                }
                out.push('\n');
            }
            if self.cells.iter().any(|c| c.workers == workers && c.warm_up_only) {
                out.push_str(
                    "\n† one cold run only: the warm-up alone overran the cell's time budget, \
                     so no timed rounds followed.\n",
                );
            }
            let failed: Vec<&Cell> =
                self.cells.iter().filter(|c| c.workers == workers && c.error.is_some()).collect();
            if !failed.is_empty() {
                out.push('\n');
                for cell in failed {
                    let error = cell.error.as_deref().unwrap_or_default();
                    let _ = writeln!(out, "✗ {} on {}: {error}", cell.workload.name(), cell.contender);
                }
            }
            out.push('\n');
        }
        out
    }

    /// The targets as a Markdown list.
    pub fn targets_markdown(&self) -> String {
        let mut out = String::new();
        for check in &self.targets {
            let mark = match check.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(out, "- {}: {mark}. {}", check.target, check.detail);
        }
        out
    }

    /// Writes every sample as JSON.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)? + "\n")?;
        Ok(())
    }

    /// The text of BENCHMARKS.md, linking `chart` (relative to the file).
    pub fn benchmarks_md(&self, chart: &str) -> String {
        let cpu = self.cpu.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
        format!(
            "<!-- Generated by `cargo xtask bench` (xtask/bench/src/report.rs). Do not edit by hand: rerun it. -->\n\
             # Benchmarks\n\n\
             This runtime with each queue backend (`flume`, `crossbeam`, `mutex`) against tokio's \
             multi-thread runtime, async-executor run by N threads, and `tutorial` (the design this \
             project grew from: one `flume` channel drained by N threads blocking in `recv`), on the \
             same workloads, in one run.\n\n\
             - Command: `{command}`\n\
             - Machine: {cores} core{s}{cpu}, shared with other work while it ran, so expect noise.\n\
             - Method: one warm-up per cell, then {rounds} interleaved rounds (every contender once per \
             round, in column order); fewer for the million-task and I/O workloads, and for a contender whose \
             samples would overrun the cell's time budget (15 s; the JSON has every sample). Each cell is the median, \
             the [min–max] of the samples, and the median's ratio to tokio's in the same run \
             (below 1 is better; for throughput, tokio's rate over the contender's). Time cells are per \
             iteration of the workload.\n\
             - `memory` is measured in a child process per sample: (VmHWM after parking − VmRSS before) \
             / tasks, with the join handles' vector allocated before the baseline.\n\
             - `tcp_echo` and `http_plaintext` run over 127.0.0.1, each contender on its own sockets \
             (tokio on `tokio::net`, the others on `async-net`; async-executor's threads in \
             `async_io::block_on`, as smol runs it), on runtimes started afresh for the row. A sample \
             runs for a fixed time (1 s and 5 s, after a warm-up of a quarter of that); its cell adds \
             the median p50 and p99 latencies and the p99's ratio to tokio's. `http_plaintext`'s \
             load generator is this binary in a process of its own (64 keep-alive connections, \
             requests back to back), the same for every contender.\n\
             - Every sample is in the JSON file (`--json`); workloads and their sizes are documented in \
             `xtask/bench/src/workloads.rs`.\n\n\
             ![Median relative to tokio, per workload and worker count]({chart})\n\n\
             ## Results\n\n{tables}\
             ## Targets (2 workers, medians, ratio to tokio)\n\n{targets}",
            command = self.command,
            cores = self.cores,
            s = if self.cores == 1 { "" } else { "s" },
            rounds = self.rounds,
            tables = self.markdown(),
            targets = self.targets_markdown(),
        )
    }
}

fn row_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanos => "time",
        Unit::TasksPerSec => "tasks/s",
        Unit::RoundTripsPerSec => "round trips/s",
        Unit::RequestsPerSec => "req/s",
        Unit::BytesPerTask => "bytes/task",
    }
}

/// `"1.23 ms [1.10–1.40] 0.45x"`; an I/O cell adds its latencies,
/// `"45.1 k/s [44.0–46.2] 1.02x, p50 610 µs, p99 2.31 ms 1.05x"`; a cell
/// whose contender failed, `"✗ failed"` (the reason is under the table).
pub fn format_cell(cell: &Cell) -> String {
    let Some(s) = cell.summary else {
        return if cell.error.is_some() { "✗ failed".into() } else { "–".into() };
    };
    let (median, low, high) = match cell.workload.unit() {
        Unit::Nanos => {
            let (scale, suffix) = time_scale(s.median);
            (format!("{} {suffix}", sig3(s.median / scale)), sig3(s.min / scale), sig3(s.max / scale))
        }
        Unit::TasksPerSec | Unit::RoundTripsPerSec | Unit::RequestsPerSec => {
            let (scale, suffix) = rate_scale(s.median);
            (format!("{} {suffix}", sig3(s.median / scale)), sig3(s.min / scale), sig3(s.max / scale))
        }
        Unit::BytesPerTask => (format!("{} B", sig3(s.median)), sig3(s.min), sig3(s.max)),
    };
    let ratio = cell.ratio.map(|r| format!(" {r:.2}x")).unwrap_or_default();
    let median = if cell.warm_up_only { format!("{median} †") } else { median };
    let mut text =
        if low == high { format!("{median}{ratio}") } else { format!("{median} [{low}–{high}]{ratio}") };
    if let Some(latency) = &cell.latency {
        if let Some(p50) = latency.p50 {
            let _ = write!(text, ", p50 {}", format_time(p50.median));
        }
        if let Some(p99) = latency.p99 {
            let _ = write!(text, ", p99 {}", format_time(p99.median));
            if let Some(r) = latency.p99_ratio {
                let _ = write!(text, " {r:.2}x");
            }
        }
    }
    if cell.error.is_some() {
        text.push_str(" ✗");
    }
    text
}

/// `"2.31 ms"`.
fn format_time(ns: f64) -> String {
    let (scale, suffix) = time_scale(ns);
    format!("{} {suffix}", sig3(ns / scale))
}

fn time_scale(ns: f64) -> (f64, &'static str) {
    match ns {
        ns if ns >= 1e9 => (1e9, "s"),
        ns if ns >= 1e6 => (1e6, "ms"),
        ns if ns >= 1e3 => (1e3, "µs"),
        _ => (1.0, "ns"),
    }
}

fn rate_scale(rate: f64) -> (f64, &'static str) {
    match rate {
        r if r >= 1e6 => (1e6, "M/s"),
        r if r >= 1e3 => (1e3, "k/s"),
        _ => (1.0, "/s"),
    }
}

/// Three significant digits, no exponent.
pub fn sig3(x: f64) -> String {
    match x.abs() {
        a if a >= 100.0 => format!("{x:.0}"),
        a if a >= 10.0 => format!("{x:.1}"),
        _ => format!("{x:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(workload: Workload, contender: &'static str, samples: &[f64]) -> Cell {
        Cell {
            workload,
            unit: workload.unit().name(),
            workers: 2,
            contender,
            iters_per_sample: 1,
            samples: samples.to_vec(),
            warm_up_only: false,
            summary: None,
            ratio: None,
            readings: vec![],
            latency: None,
            error: None,
        }
    }

    fn results(cells: Vec<Cell>) -> Results {
        let mut results = Results {
            command: "cargo xtask bench".into(),
            cores: 2,
            cpu: None,
            quick: false,
            rounds: 3,
            sizes: Sizes::full(),
            workloads: vec![Workload::YieldMany, Workload::Throughput],
            workers: vec![2],
            contenders: vec!["flume", "tokio"],
            cells,
            targets: vec![],
        };
        results.summarise();
        results
    }

    #[test]
    fn ratios_are_to_tokio_in_the_same_cell() {
        let r = results(vec![
            cell(Workload::YieldMany, "flume", &[1e6, 2e6, 3e6]),
            cell(Workload::YieldMany, "tokio", &[4e6, 4e6, 4e6]),
            cell(Workload::Throughput, "flume", &[4e6]),
            cell(Workload::Throughput, "tokio", &[2e6]),
        ]);
        assert_eq!(r.cell(Workload::YieldMany, 2, "flume").unwrap().ratio, Some(0.5));
        assert_eq!(r.cell(Workload::YieldMany, 2, "tokio").unwrap().ratio, Some(1.0));
        assert_eq!(r.cell(Workload::Throughput, 2, "flume").unwrap().ratio, Some(0.5));
    }

    #[test]
    fn table_has_a_row_per_workload_and_a_column_per_contender() {
        let r = results(vec![
            cell(Workload::YieldMany, "flume", &[1.1e6, 2e6, 3e6]),
            cell(Workload::YieldMany, "tokio", &[4e6]),
            cell(Workload::Throughput, "tokio", &[2.5e6]),
        ]);
        let md = r.markdown();
        assert!(md.contains("| workload | flume | tokio |"), "{md}");
        assert!(md.contains("| yield_many (time) | 2.00 ms [1.10–3.00] 0.50x | 4.00 ms 1.00x |"), "{md}");
        assert!(md.contains("| throughput (tasks/s) | – | 2.50 M/s 1.00x |"), "{md}");
    }

    #[test]
    fn io_cells_show_latencies_and_failures() {
        let mut flume = cell(Workload::HttpPlaintext, "flume", &[40e3, 45e3, 50e3]);
        flume.latency =
            Some(Latency { p50_ns: vec![600e3; 3], p99_ns: vec![2.4e6; 3], ..Latency::default() });
        let mut tokio = cell(Workload::HttpPlaintext, "tokio", &[60e3]);
        tokio.latency = Some(Latency { p50_ns: vec![500e3], p99_ns: vec![2e6], ..Latency::default() });
        let mut mutex = cell(Workload::HttpPlaintext, "mutex", &[]);
        mutex.error = Some("did not finish within 30s".into());
        let mut r = results(vec![flume, tokio, mutex]);
        r.workloads = vec![Workload::HttpPlaintext];
        r.contenders = vec!["flume", "mutex", "tokio"];
        let md = r.markdown();
        assert!(
            md.contains("| http_plaintext (req/s) | 45.0 k/s [40.0–50.0] 1.33x, p50 600 µs, p99 2.40 ms 1.20x | ✗ failed | 60.0 k/s 1.00x, p50 500 µs, p99 2.00 ms 1.00x |"),
            "{md}"
        );
        assert!(md.contains("✗ http_plaintext on mutex: did not finish within 30s"), "{md}");
        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(json["cells"][0]["latency"]["p99_ns"], serde_json::json!([2.4e6, 2.4e6, 2.4e6]));
        assert_eq!(json["cells"][0]["unit"], "req/s");
        assert_eq!(json["cells"][2]["error"], "did not finish within 30s");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(sig3(1.234), "1.23");
        assert_eq!(sig3(12.34), "12.3");
        assert_eq!(sig3(123.4), "123");
        assert_eq!(time_scale(2.5e3), (1e3, "µs"));
        assert_eq!(rate_scale(999.0), (1.0, "/s"));
    }

    #[test]
    fn json_holds_every_sample() {
        let r = results(vec![cell(Workload::YieldMany, "tokio", &[1.0, 2.0, 3.0])]);
        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(json["cells"][0]["samples"], serde_json::json!([1.0, 2.0, 3.0]));
        assert_eq!(json["cells"][0]["workload"], "yield_many");
        assert_eq!(json["cells"][0]["unit"], "ns/iter");
    }
}
