//! The Markdown tables of a run: the results (one table per worker count),
//! the scheduling latencies, the I/O rows with their counts, and scaling.

use std::fmt::Write as _;

use crate::{
    results::{Cell, Results},
    workload::{Kind, Unit, Workload},
};

/// `"#### 2 workers (2 cores)"`, saying when the workers outnumber the cores.
fn heading(results: &Results, workers: usize, what: &str) -> String {
    let cores = results.cores;
    let machine = if workers > cores {
        format!("on {cores} core{}: oversubscribed", plural(cores))
    } else {
        format!("on {cores} core{}", plural(cores))
    };
    format!("#### {what}{workers} worker{} ({machine})\n\n", plural(workers))
}

fn header(out: &mut String, first: &str, contenders: &[String]) {
    let _ = writeln!(out, "| {first} | {} |", contenders.join(" | "));
    let _ = writeln!(out, "|:--|{}", "--:|".repeat(contenders.len()));
}

/// The results tables, one per worker count: a cell per (workload, contender).
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    for &workers in &results.workers {
        out.push_str(&heading(results, workers, ""));
        header(&mut out, "workload", &results.contenders);
        for &workload in &results.workloads {
            let _ = write!(out, "| {} ({}) |", workload.name(), row_unit(workload.unit()));
            for contender in &results.contenders {
                let text = results.cell(workload, workers, contender).map_or("–".into(), format_cell);
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
        let cells = || results.cells.iter().filter(move |c| c.workers == workers);
        if cells().any(|c| c.warm_up_only) {
            out.push_str(
                "\n† one cold run only: the warm-up alone overran the cell's share of the time budget, \
                 so no timed rounds followed.\n",
            );
        }
        if cells().any(|c| c.short) {
            out.push_str("\n‡ fewer rounds than the minimum: the samples overran the cell's share of the time budget.\n");
        }
        let failed: Vec<&Cell> = cells().filter(|c| c.error.is_some()).collect();
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

/// The scheduling-latency tables: wake-to-poll p50, p99 and p99.9 per
/// contender (the p99 with its ratio to tokio's), one table per worker count.
pub fn latency_markdown(results: &Results) -> String {
    let wakes: Vec<Workload> = results.workloads.iter().copied().filter(|w| w.kind() == Kind::Wake).collect();
    if wakes.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for &workers in &results.workers {
        out.push_str(&heading(results, workers, "Wake-to-poll latency, "));
        header(&mut out, "workload", &results.contenders);
        for &workload in &wakes {
            for (label, pick) in PERCENTILES {
                let _ = write!(out, "| {} {label} |", workload.name());
                for contender in &results.contenders {
                    let text = results
                        .cell(workload, workers, contender)
                        .and_then(|c| percentile_text(c, pick))
                        .unwrap_or_else(|| "–".into());
                    let _ = write!(out, " {text} |");
                }
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// Which percentile of a [`crate::results::Latency`].
#[derive(Clone, Copy)]
enum Pick {
    P50,
    P99,
    P999,
}

const PERCENTILES: [(&str, Pick); 3] = [("p50", Pick::P50), ("p99", Pick::P99), ("p99.9", Pick::P999)];

fn percentile_text(cell: &Cell, pick: Pick) -> Option<String> {
    let latency = cell.latency.as_ref()?;
    let summary = match pick {
        Pick::P50 => latency.p50,
        Pick::P99 => latency.p99,
        Pick::P999 => latency.p999,
    }?;
    let mut text = format_time(summary.median);
    if let (Pick::P99, Some(r)) = (pick, latency.p99_ratio) {
        let _ = write!(text, " {}", times(r));
    }
    Some(text)
}

/// The I/O tables: for each I/O workload its rate, latencies, CPU and
/// syscalls per request, one table per worker count.
pub fn io_markdown(results: &Results) -> String {
    let io: Vec<Workload> = results.workloads.iter().copied().filter(|w| w.is_io()).collect();
    if io.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for &workers in &results.workers {
        out.push_str(&heading(results, workers, "I/O, "));
        header(&mut out, "workload", &results.contenders);
        let mut missing: Vec<String> = Vec::new();
        for &workload in &io {
            let per = if workload == Workload::TcpEcho { "round trip" } else { "request" };
            let rows: [(String, &CellText); 7] = [
                (format!("{} ({})", workload.name(), row_unit(workload.unit())), &|c: &Cell| {
                    let s = c.summary?;
                    let (scale, suffix) = rate_scale(s.median);
                    let ratio = c.ratio.map(|r| format!(" {}", times(r))).unwrap_or_default();
                    Some(format!("{} {suffix}{}{ratio}", sig3(s.median / scale), spread(c)))
                }),
                ("p50".into(), &|c: &Cell| percentile_text(c, Pick::P50)),
                ("p99".into(), &|c: &Cell| percentile_text(c, Pick::P99)),
                ("p99.9".into(), &|c: &Cell| percentile_text(c, Pick::P999)),
                (format!("CPU per {per}"), &|c: &Cell| Some(format_time(c.counts.as_ref()?.cpu?.median))),
                (format!("syscalls per {per}"), &|c: &Cell| {
                    let counts = c.counts.as_ref()?;
                    Some(counts.syscalls.map_or("n/a".into(), |n| format!("{n:.2}")))
                }),
                ("  of which".into(), &|c: &Cell| {
                    let counts = c.counts.as_ref()?;
                    let mut top: Vec<(&String, &f64)> = counts.syscalls_by_name.iter().collect();
                    top.sort_by(|a, b| b.1.total_cmp(a.1));
                    let top: Vec<String> =
                        top.iter().take(3).map(|(name, n)| format!("{name} {n:.2}")).collect();
                    (!top.is_empty()).then(|| top.join(", "))
                }),
            ];
            for (label, text) in rows {
                let label = if label.starts_with(workload.name()) {
                    label
                } else {
                    format!("{} {}", workload.name(), label.trim())
                };
                let _ = write!(out, "| {label} |");
                for contender in &results.contenders {
                    let text = results
                        .cell(workload, workers, contender)
                        .and_then(text)
                        .unwrap_or_else(|| "–".into());
                    let _ = write!(out, " {text} |");
                }
                out.push('\n');
            }
            for contender in &results.contenders {
                let why = results
                    .cell(workload, workers, contender)
                    .and_then(|c| c.counts.as_ref()?.syscalls_missing.clone());
                if let Some(why) = why.filter(|w| !missing.contains(w)) {
                    missing.push(why);
                }
            }
        }
        for why in missing {
            let _ = writeln!(out, "\nn/a: {why}");
        }
        out.push('\n');
    }
    out
}

/// What one row of a table shows of a cell.
type CellText = dyn Fn(&Cell) -> Option<String>;

/// The scaling table: each contender's speed-up from the first worker count
/// to every other one, per time and I/O workload (above 1 is faster with
/// more workers; latencies and memory are not work that scales).
pub fn scaling_markdown(results: &Results) -> String {
    let Some((&first, rest)) = results.workers.split_first() else { return String::new() };
    if rest.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Speed-up from {first} worker{} (its median over the median at N workers; above 1 is faster), \
         on {} core{}{}:\n",
        plural(first),
        results.cores,
        plural(results.cores),
        if rest.iter().any(|w| *w > results.cores) {
            " (counts above the cores are oversubscribed)"
        } else {
            ""
        }
    );
    header(&mut out, "workload", &results.contenders);
    for &workload in results.workloads.iter().filter(|w| matches!(w.kind(), Kind::Time | Kind::Io)) {
        let _ = write!(out, "| {} |", workload.name());
        for contender in &results.contenders {
            let parts: Vec<String> = rest
                .iter()
                .filter_map(|&w| results.speedup(workload, w, contender).map(|s| format!("{w}w {s:.2}x")))
                .collect();
            let _ = write!(out, " {} |", if parts.is_empty() { "–".into() } else { parts.join(", ") });
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

fn row_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Nanos => "time",
        Unit::TasksPerSec => "tasks/s",
        Unit::RoundTripsPerSec => "round trips/s",
        Unit::RequestsPerSec => "req/s",
        Unit::LatencyNanos => "p99",
        Unit::BytesPerTask => "bytes/task",
    }
}

/// The spread of a cell's median: `" ±2.1%"` (its 95% confidence interval)
/// where there are enough samples for one, else `" [1.10–1.40]"` (min–max)
/// in the median's scale, or nothing for a single sample.
fn spread(cell: &Cell) -> String {
    let Some(s) = cell.summary else { return String::new() };
    if let Some(half) = s.ci_half_width() {
        return if half > 1.0 { " ±>100%".into() } else { format!(" ±{}%", sig2(half * 100.0)) };
    }
    let scale = match cell.workload.unit() {
        Unit::Nanos | Unit::LatencyNanos => time_scale(s.median).0,
        Unit::TasksPerSec | Unit::RoundTripsPerSec | Unit::RequestsPerSec => rate_scale(s.median).0,
        Unit::BytesPerTask => 1.0,
    };
    let (low, high) = (sig3(s.min / scale), sig3(s.max / scale));
    if low == high { String::new() } else { format!(" [{low}–{high}]") }
}

/// `"1.23 ms ±2.1% 0.45x"`, with `", base 1.01x"` for a backend run
/// against its baseline; a cell whose contender failed, `"✗ failed"` (the
/// reason is under the table).
pub fn format_cell(cell: &Cell) -> String {
    let Some(s) = cell.summary else {
        return if cell.error.is_some() { "✗ failed".into() } else { "–".into() };
    };
    let median = match cell.workload.unit() {
        Unit::Nanos => format_time(s.median),
        Unit::LatencyNanos => format!("p99 {}", format_time(s.median)),
        Unit::TasksPerSec | Unit::RoundTripsPerSec | Unit::RequestsPerSec => {
            let (scale, suffix) = rate_scale(s.median);
            format!("{} {suffix}", sig3(s.median / scale))
        }
        Unit::BytesPerTask => format!("{} B", sig3(s.median)),
    };
    let mut text = median;
    if cell.warm_up_only {
        text.push_str(" †");
    }
    text.push_str(&spread(cell));
    if let Some(r) = cell.ratio {
        let _ = write!(text, " {}", times(r));
    }
    if let Some(r) = cell.baseline_ratio {
        let _ = write!(text, ", base {}", times(r));
    }
    if cell.short {
        text.push_str(" ‡");
    }
    if cell.error.is_some() {
        text.push_str(" ✗");
    }
    text
}

/// A ratio: `"0.45x"`, with two significant digits below 0.1 (`"0.0047x"`).
pub fn times(r: f64) -> String {
    let decimals = if r > 0.0 && r < 0.1 { (-r.log10().floor()) as usize + 1 } else { 2 };
    format!("{r:.decimals$}x")
}

/// `"2.31 ms"`.
pub fn format_time(ns: f64) -> String {
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

/// Two significant digits, no exponent.
fn sig2(x: f64) -> String {
    match x.abs() {
        a if a >= 10.0 => format!("{x:.0}"),
        _ => format!("{x:.1}"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{
        Counts, Latency,
        tests::{cell, results},
    };

    #[test]
    fn table_has_a_row_per_workload_and_a_column_per_contender() {
        let r = results(
            vec![Workload::YieldMany, Workload::Throughput],
            &["flume", "tokio"],
            vec![
                cell(Workload::YieldMany, 2, "flume", &[1.1e6, 2e6, 3e6]),
                cell(Workload::YieldMany, 2, "tokio", &[4e6]),
                cell(Workload::Throughput, 2, "tokio", &[2.5e6]),
            ],
        );
        let md = markdown(&r);
        assert!(md.contains("#### 2 workers (on 2 cores)"), "{md}");
        assert!(md.contains("| workload | flume | tokio |"), "{md}");
        assert!(md.contains("| yield_many (time) | 2.00 ms [1.10–3.00] 0.50x | 4.00 ms 1.00x |"), "{md}");
        assert!(md.contains("| throughput (tasks/s) | – | 2.50 M/s 1.00x |"), "{md}");
    }

    #[test]
    fn enough_samples_show_the_confidence_interval_and_the_baseline_ratio() {
        let mut flume = cell(Workload::YieldMany, 2, "flume", &[95.0, 98.0, 99.0, 101.0, 102.0, 105.0]);
        flume.baseline_ratio = Some(1.02);
        flume.summary = crate::stats::Summary::of(&flume.samples);
        flume.ratio = Some(0.5);
        assert_eq!(format_cell(&flume), "100 ns ±5.0% 0.50x, base 1.02x");
        flume.short = true;
        assert!(format_cell(&flume).ends_with(" ‡"));
    }

    #[test]
    fn io_tables_show_latencies_counts_and_failures() {
        let mut flume = cell(Workload::HttpPlaintext, 2, "flume", &[40e3, 45e3, 50e3]);
        flume.latency = Some(Latency {
            p50_ns: vec![600e3; 3],
            p99_ns: vec![2.4e6; 3],
            p999_ns: vec![3e6; 3],
            ..Latency::default()
        });
        flume.counts = Some(Counts {
            cpu_ns: vec![24e3, 25e3, 26e3],
            syscalls: Some(4.35),
            syscalls_by_name: [
                ("recvfrom".to_string(), 2.0),
                ("epoll_ctl".to_string(), 1.11),
                ("writev".to_string(), 1.0),
                ("futex".to_string(), 0.2),
            ]
            .into(),
            ..Counts::default()
        });
        let mut tokio = cell(Workload::HttpPlaintext, 2, "tokio", &[60e3]);
        tokio.latency = Some(Latency {
            p50_ns: vec![500e3],
            p99_ns: vec![2e6],
            p999_ns: vec![2.5e6],
            ..Latency::default()
        });
        tokio.counts = Some(Counts {
            cpu_ns: vec![17e3],
            syscalls_missing: Some("not counted: perf not found".into()),
            ..Counts::default()
        });
        let mut mutex = cell(Workload::HttpPlaintext, 2, "mutex", &[]);
        mutex.error = Some("did not finish within 30s".into());
        let r =
            results(vec![Workload::HttpPlaintext], &["flume", "mutex", "tokio"], vec![flume, mutex, tokio]);

        let md = markdown(&r);
        assert!(
            md.contains(
                "| http_plaintext (req/s) | 45.0 k/s [40.0–50.0] 1.33x | ✗ failed | 60.0 k/s 1.00x |"
            ),
            "{md}"
        );
        assert!(md.contains("✗ http_plaintext on mutex: did not finish within 30s"), "{md}");

        let io = io_markdown(&r);
        assert!(io.contains("| http_plaintext p99 | 2.40 ms 1.20x | – | 2.00 ms 1.00x |"), "{io}");
        assert!(io.contains("| http_plaintext CPU per request | 25.0 µs | – | 17.0 µs |"), "{io}");
        assert!(io.contains("| http_plaintext syscalls per request | 4.35 | – | n/a |"), "{io}");
        assert!(
            io.contains("| http_plaintext of which | recvfrom 2.00, epoll_ctl 1.11, writev 1.00 | – | – |"),
            "{io}"
        );
        assert!(io.contains("n/a: not counted: perf not found"), "{io}");

        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(json["cells"][0]["latency"]["p99_ns"], serde_json::json!([2.4e6, 2.4e6, 2.4e6]));
        assert_eq!(json["cells"][0]["counts"]["syscalls"], 4.35);
        assert_eq!(json["cells"][1]["error"], "did not finish within 30s");
    }

    #[test]
    fn latency_tables_show_three_percentiles() {
        let mut flume = cell(Workload::WakeRemote, 2, "flume", &[40e3]);
        flume.latency = Some(Latency {
            p50_ns: vec![5e3],
            p99_ns: vec![40e3],
            p999_ns: vec![120e3],
            ..Latency::default()
        });
        let mut tokio = cell(Workload::WakeRemote, 2, "tokio", &[50e3]);
        tokio.latency = Some(Latency {
            p50_ns: vec![8e3],
            p99_ns: vec![50e3],
            p999_ns: vec![200e3],
            ..Latency::default()
        });
        let r = results(vec![Workload::WakeRemote], &["flume", "tokio"], vec![flume, tokio]);
        assert!(markdown(&r).contains("| wake_remote (p99) | p99 40.0 µs 0.80x | p99 50.0 µs 1.00x |"));
        let md = latency_markdown(&r);
        assert!(md.contains("| wake_remote p50 | 5.00 µs | 8.00 µs |"), "{md}");
        assert!(md.contains("| wake_remote p99 | 40.0 µs 0.80x | 50.0 µs 1.00x |"), "{md}");
        assert!(md.contains("| wake_remote p99.9 | 120 µs | 200 µs |"), "{md}");
    }

    #[test]
    fn scaling_shows_speedups_and_oversubscription() {
        let mut r = results(
            vec![Workload::YieldMany],
            &["flume"],
            vec![
                cell(Workload::YieldMany, 1, "flume", &[4e6]),
                cell(Workload::YieldMany, 2, "flume", &[2e6]),
                cell(Workload::YieldMany, 4, "flume", &[2.5e6]),
            ],
        );
        let md = scaling_markdown(&r);
        assert!(md.contains("| yield_many | 2w 2.00x, 4w 1.60x |"), "{md}");
        assert!(md.contains("oversubscribed"), "{md}");
        assert!(markdown(&r).contains("#### 4 workers (on 2 cores: oversubscribed)"));
        r.workers = vec![2];
        assert_eq!(scaling_markdown(&r), "");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(times(0.4567), "0.46x");
        assert_eq!(times(12.345), "12.35x");
        assert_eq!(times(0.0047), "0.0047x");
        assert_eq!(times(0.05), "0.050x");
        assert_eq!(sig3(1.234), "1.23");
        assert_eq!(sig3(12.34), "12.3");
        assert_eq!(sig3(123.4), "123");
        assert_eq!(time_scale(2.5e3), (1e3, "µs"));
        assert_eq!(rate_scale(999.0), (1.0, "/s"));
    }

    #[test]
    fn json_holds_every_sample() {
        let r = results(
            vec![Workload::YieldMany],
            &["tokio"],
            vec![cell(Workload::YieldMany, 2, "tokio", &[1.0, 2.0, 3.0])],
        );
        let json: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(json["cells"][0]["samples"], serde_json::json!([1.0, 2.0, 3.0]));
        assert_eq!(json["cells"][0]["workload"], "yield_many");
        assert_eq!(json["cells"][0]["unit"], "ns/iter");
    }
}
