//! The targets for `runtime-core`, checked against a run's results
//! (at two workers, medians, ratio to tokio), so each run says what is met
//! and by how much the rest is missed. The verdict is computed from the
//! results, never stored in them.

use std::fmt::Write as _;

use backends::BACKENDS;

use crate::{
    results::Results,
    workload::{Kind, Workload},
};

/// The worker count the targets are set at.
pub const TARGET_WORKERS: usize = 2;

/// Every backend at most this much of tokio's median, on every workload but
/// the I/O ones (see [`IO_EVERY`]) and the wake ones (latencies, which have
/// no target yet).
const NO_COLLAPSE: f64 = 1.2;

/// The best backend at most this much of tokio's median, on these workloads.
const BEST: [(Workload, f64); 7] = [
    (Workload::SpawnManyLocal, 0.5),
    (Workload::SpawnManyRemoteIdle, 0.5),
    (Workload::Throughput, 0.5),
    (Workload::YieldMany, 0.8),
    (Workload::YieldManyAgnostic, 0.8),
    (Workload::PingPong, 0.8),
    (Workload::ChainedSpawn, 0.8),
];

/// On the I/O workloads (issue 10): the best backend's throughput at least
/// tokio's (ratio at most [`IO_BEST`]) with its p99 at most [`IO_BEST_P99`]
/// of tokio's, and every backend within [`IO_EVERY`].
const IO_BEST: f64 = 1.0;
const IO_BEST_P99: f64 = 1.2;
const IO_EVERY: f64 = 1.1;

/// Issue 20, for the backends on the runtime's own sockets: the best one's
/// throughput at least 5% ahead of tokio's, every one within 5%.
const NATIVE_BEST: f64 = 0.95;
const NATIVE_EVERY: f64 = 1.05;

/// Bytes per parked task.
const MEMORY_BYTES: f64 = 200.0;

/// One target and how the run did against it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// What the issue asks.
    pub target: String,
    /// `None` if the run did not measure it (filtered out, or no tokio).
    pub met: Option<bool>,
    /// The numbers behind the verdict.
    pub detail: String,
}

/// Checks every target against `results`.
pub fn check(results: &Results) -> Vec<Check> {
    let w = TARGET_WORKERS;
    let backends: Vec<&str> =
        BACKENDS.iter().copied().filter(|b| results.contenders.iter().any(|c| c == b)).collect();
    let ratio = |workload, contender| results.cell(workload, w, contender).and_then(|c| c.ratio);
    // The backend with the lowest ratio on `workload`, if any was measured.
    let best_of = |workload| {
        backends.iter().filter_map(|b| ratio(workload, b).map(|r| (r, *b))).min_by(|a, b| a.0.total_cmp(&b.0))
    };
    let median =
        |workload, contender| results.cell(workload, w, contender).and_then(|c| c.summary).map(|s| s.median);
    let mut checks = Vec::new();

    // 1. No backend collapses.
    let mut worst: Option<(f64, String)> = None;
    let mut misses = Vec::new();
    for &workload in results.workloads.iter().filter(|w| !matches!(w.kind(), Kind::Io | Kind::Wake)) {
        for &backend in &backends {
            if let Some(r) = ratio(workload, backend) {
                let label = format!("{backend}/{}", workload.name());
                if r > NO_COLLAPSE {
                    misses.push(format!("{label} {r:.2}x"));
                }
                if worst.as_ref().is_none_or(|(w, _)| r > *w) {
                    worst = Some((r, label));
                }
            }
        }
    }
    checks.push(match worst {
        None => not_measured(format!(
            "every backend ≤ {NO_COLLAPSE}x tokio on every workload but the I/O and wake ones"
        )),
        Some((r, label)) => Check {
            target: format!(
                "every backend ≤ {NO_COLLAPSE}x tokio on every workload but the I/O and wake ones"
            ),
            met: Some(misses.is_empty()),
            detail: if misses.is_empty() {
                format!("worst: {label} {r:.2}x")
            } else {
                format!("over: {}; worst {label} {r:.2}x is {}", misses.join(", "), over(r, NO_COLLAPSE))
            },
        },
    });

    // 2. The best backend is well ahead of tokio where a simple design should be.
    for (workload, limit) in BEST {
        let target = format!("best backend ≤ {limit}x tokio on {}", workload.name());
        let best = best_of(workload);
        checks.push(match best {
            None => not_measured(target),
            Some((r, backend)) => Check {
                target,
                met: Some(r <= limit),
                detail: if r <= limit {
                    format!("best: {backend} {r:.2}x")
                } else {
                    format!("best: {backend} {r:.2}x, {}", over(r, limit))
                },
            },
        });
    }

    // 2b. The I/O workloads: the best backend matches tokio with a p99 close
    // to tokio's, and no backend is far behind.
    for workload in [Workload::TcpEcho, Workload::HttpPlaintext] {
        let name = workload.name();
        let p99 = |contender| {
            results.cell(workload, w, contender).and_then(|c| c.latency.as_ref()).and_then(|l| l.p99_ratio)
        };
        let target = format!("best backend ≤ {IO_BEST}x tokio on {name}, its p99 ≤ {IO_BEST_P99}x tokio's");
        let best = best_of(workload);
        checks.push(match best {
            None => not_measured(target),
            Some((r, backend)) => {
                let p = p99(backend);
                let met = r <= IO_BEST && p.is_some_and(|p| p <= IO_BEST_P99);
                let p_text = p.map_or("p99 not measured".into(), |p| format!("p99 {p:.2}x"));
                let mut detail = format!("best: {backend} {r:.2}x, {p_text}");
                if r > IO_BEST {
                    let _ = write!(detail, "; throughput {}", over(r, IO_BEST));
                }
                if let Some(p) = p.filter(|p| *p > IO_BEST_P99) {
                    let _ = write!(detail, "; p99 {}", over(p, IO_BEST_P99));
                }
                Check { target, met: Some(met), detail }
            }
        });
        let target = format!("every backend ≤ {IO_EVERY}x tokio on {name}");
        let all: Vec<(f64, &str)> =
            backends.iter().filter_map(|b| ratio(workload, b).map(|r| (r, *b))).collect();
        let worst = all.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
        checks.push(match worst {
            None => not_measured(target),
            Some((r, backend)) => Check {
                target,
                met: Some(r <= IO_EVERY),
                detail: if r <= IO_EVERY {
                    format!("worst: {backend} {r:.2}x")
                } else {
                    format!("worst: {backend} {r:.2}x, {}", over(r, IO_EVERY))
                },
            },
        });
    }

    // 2c. Issue 20: the backends on the runtime's own sockets (`flume/native`,
    // ...): syscalls per request at most tokio's + 5%, the best 5% ahead of
    // tokio and every one within 5%, the best one's p99 and CPU per request
    // at most tokio's.
    let natives: Vec<String> = BACKENDS
        .iter()
        .map(|b| format!("{b}{}", crate::native::SUFFIX))
        .filter(|n| results.contenders.iter().any(|c| c == n))
        .collect();
    let counts =
        |workload, contender: &str| results.cell(workload, w, contender).and_then(|c| c.counts.as_ref());
    for workload in [Workload::TcpEcho, Workload::HttpPlaintext] {
        let name = workload.name();
        let rated: Vec<(f64, &str)> =
            natives.iter().filter_map(|n| ratio(workload, n).map(|r| (r, n.as_str()))).collect();
        let best = rated.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0));
        let worst = rated.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
        let target = format!("native: best ≤ {NATIVE_BEST}x tokio on {name}, every one ≤ {NATIVE_EVERY}x");
        checks.push(match (best, worst) {
            (Some((b, bn)), Some((w_, wn))) => Check {
                target,
                met: Some(b <= NATIVE_BEST && w_ <= NATIVE_EVERY),
                detail: format!("best: {bn} {b:.2}x, worst: {wn} {w_:.2}x"),
            },
            _ => not_measured(target),
        });
        let target = format!("native: the best one's p99 and CPU per request ≤ tokio's on {name}");
        checks.push(match best {
            None => not_measured(target),
            Some((_, bn)) => {
                let p99 =
                    results.cell(workload, w, bn).and_then(|c| c.latency.as_ref()).and_then(|l| l.p99_ratio);
                let cpu = |c: &str| counts(workload, c).and_then(|k| k.cpu).map(|s| s.median);
                let cpu_ratio = cpu(bn).zip(cpu(crate::contenders::REFERENCE)).map(|(o, t)| o / t);
                match (p99, cpu_ratio) {
                    (Some(p), Some(c)) => Check {
                        target,
                        met: Some(p <= 1.0 && c <= 1.0),
                        detail: format!("{bn}: p99 {p:.2}x, CPU per request {c:.2}x tokio's"),
                    },
                    _ => not_measured(target),
                }
            }
        });
        let target = format!("native: syscalls per request ≤ tokio's + 5% on {name}");
        let theirs = counts(workload, crate::contenders::REFERENCE).and_then(|k| k.syscalls);
        let ours: Vec<(f64, &str)> = natives
            .iter()
            .filter_map(|n| counts(workload, n).and_then(|k| k.syscalls).map(|s| (s, n.as_str())))
            .collect();
        let most = ours.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0));
        checks.push(match (theirs, most) {
            (Some(t), Some((m, mn))) if t > 0.0 => Check {
                target,
                met: Some(m <= t * 1.05),
                detail: format!("most: {mn} {m:.2} per request, tokio {t:.2} ({:.2}x)", m / t),
            },
            _ => not_measured(target),
        });
    }

    // 3. Ahead of async-executor everywhere.
    let target = "best backend ahead of async-executor on every workload".to_string();
    let mut behind = Vec::new();
    let mut compared = 0;
    for &workload in &results.workloads {
        let Some(theirs) = median(workload, "async-executor") else { continue };
        let higher = workload.unit().higher_is_better();
        let best = backends
            .iter()
            .filter_map(|b| median(workload, b).map(|m| (m, *b)))
            .min_by(|a, b| if higher { b.0.total_cmp(&a.0) } else { a.0.total_cmp(&b.0) });
        let Some((ours, backend)) = best else { continue };
        compared += 1;
        // Our cost relative to theirs: above 1 means behind.
        let relative = if higher { theirs / ours } else { ours / theirs };
        if relative > 1.0 {
            behind.push(format!("{} (best {backend} is {relative:.2}x async-executor)", workload.name()));
        }
    }
    checks.push(if compared == 0 {
        not_measured(target)
    } else {
        Check {
            target,
            met: Some(behind.is_empty()),
            detail: if behind.is_empty() {
                format!("ahead on all {compared} workloads")
            } else {
                format!("behind on {}", behind.join(", "))
            },
        }
    });

    // 4. Memory.
    let target = format!("≤ {MEMORY_BYTES:.0} bytes per parked task");
    let per_backend: Vec<(f64, &str)> =
        backends.iter().filter_map(|b| median(Workload::Memory, b).map(|m| (m, *b))).collect();
    checks.push(if per_backend.is_empty() {
        not_measured(target)
    } else {
        let mut detail = String::new();
        for (i, (bytes, backend)) in per_backend.iter().enumerate() {
            let _ = write!(detail, "{}{backend} {bytes:.0} B", if i == 0 { "" } else { ", " });
        }
        let worst = per_backend.iter().map(|(b, _)| *b).fold(0.0, f64::max);
        if worst > MEMORY_BYTES {
            let _ = write!(detail, "; worst is {}", over(worst, MEMORY_BYTES));
        }
        if let Some(tokio) = median(Workload::Memory, "tokio") {
            let _ = write!(detail, " (tokio {tokio:.0} B)");
        }
        Check { target, met: Some(worst <= MEMORY_BYTES), detail }
    });
    checks
}

/// The checks as a Markdown list.
pub fn markdown(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let mark = match check.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let _ = writeln!(out, "- {}: {mark}. {}", check.target, check.detail);
    }
    out
}

fn not_measured(target: String) -> Check {
    Check { target, met: None, detail: format!("not in this run (needs {TARGET_WORKERS} workers and tokio)") }
}

/// `"24% over the target"`.
fn over(value: f64, limit: f64) -> String {
    format!("{:.0}% over the target", (value / limit - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::cell;

    fn results(cells: &[(Workload, &'static str, f64)]) -> Results {
        crate::results::tests::results(
            vec![Workload::SpawnManyLocal, Workload::YieldMany, Workload::Memory],
            &["flume", "mutex", "tokio", "async-executor"],
            cells
                .iter()
                .map(|&(workload, contender, value)| cell(workload, 2, contender, &[value]))
                .collect(),
        )
    }

    #[test]
    fn verdicts_and_margins() {
        let r = results(&[
            (Workload::SpawnManyLocal, "flume", 40.0),
            (Workload::SpawnManyLocal, "mutex", 130.0),
            (Workload::SpawnManyLocal, "tokio", 100.0),
            (Workload::SpawnManyLocal, "async-executor", 50.0),
            (Workload::YieldMany, "flume", 70.0),
            (Workload::YieldMany, "mutex", 90.0),
            (Workload::YieldMany, "tokio", 100.0),
            (Workload::YieldMany, "async-executor", 300.0),
            (Workload::Memory, "flume", 180.0),
            (Workload::Memory, "mutex", 250.0),
            (Workload::Memory, "tokio", 448.0),
        ]);
        let checks = check(&r);
        let find = |prefix: &str| checks.iter().find(|c| c.target.starts_with(prefix)).unwrap().clone();

        let collapse = find("every backend ≤ 1.2x");
        assert_eq!(collapse.met, Some(false));
        assert!(collapse.detail.contains("mutex/spawn_many_local 1.30x"), "{}", collapse.detail);
        assert!(collapse.detail.contains("8% over"), "{}", collapse.detail);

        assert_eq!(find("best backend ≤ 0.5x tokio on spawn_many_local").met, Some(true));
        assert_eq!(find("best backend ≤ 0.8x tokio on yield_many").met, Some(true));
        assert_eq!(find("best backend ≤ 0.5x tokio on throughput").met, None);

        let ahead = find("best backend ahead");
        assert_eq!(ahead.met, Some(true), "{}", ahead.detail);

        let memory = find("≤ 200 bytes");
        assert_eq!(memory.met, Some(false));
        assert!(memory.detail.contains("25% over"), "{}", memory.detail);
    }

    #[test]
    fn io_targets_weigh_throughput_and_p99() {
        let mut r = results(&[
            (Workload::HttpPlaintext, "flume", 100.0),
            (Workload::HttpPlaintext, "mutex", 80.0),
            (Workload::HttpPlaintext, "tokio", 95.0),
            (Workload::TcpEcho, "flume", 100.0),
            (Workload::TcpEcho, "tokio", 100.0),
        ]);
        r.workloads = vec![Workload::HttpPlaintext, Workload::TcpEcho];
        for cell in &mut r.cells {
            let p99 = match (cell.workload, cell.contender.as_str()) {
                (Workload::TcpEcho, "flume") => 1.5,
                _ => 1.0,
            };
            cell.latency = Some(crate::results::Latency { p99_ns: vec![p99], ..Default::default() });
        }
        r.summarise();
        let checks = check(&r);
        let find = |prefix: &str| checks.iter().find(|c| c.target.starts_with(prefix)).unwrap().clone();

        let best = find("best backend ≤ 1x tokio on http_plaintext");
        assert_eq!(best.met, Some(true), "{}", best.detail);
        assert!(best.detail.contains("best: flume 0.95x, p99 1.00x"), "{}", best.detail);
        let every = find("every backend ≤ 1.1x tokio on http_plaintext");
        assert_eq!(every.met, Some(false));
        assert!(every.detail.contains("mutex 1.19x"), "{}", every.detail);

        // As fast as tokio, but its p99 half again tokio's: missed.
        let echo = find("best backend ≤ 1x tokio on tcp_echo");
        assert_eq!(echo.met, Some(false));
        assert!(echo.detail.contains("p99 1.50x; p99 25% over the target"), "{}", echo.detail);
        // The I/O rows are not judged by the 1.2x rule of the other workloads.
        assert_eq!(find("every backend ≤ 1.2x").met, None);
    }

    #[test]
    fn behind_async_executor_is_reported() {
        let r = results(&[
            (Workload::SpawnManyLocal, "flume", 60.0),
            (Workload::SpawnManyLocal, "tokio", 100.0),
            (Workload::SpawnManyLocal, "async-executor", 50.0),
        ]);
        let ahead = check(&r).into_iter().find(|c| c.target.contains("async-executor")).unwrap();
        assert_eq!(ahead.met, Some(false));
        assert!(ahead.detail.contains("spawn_many_local (best flume is 1.20x"), "{}", ahead.detail);
    }
}
