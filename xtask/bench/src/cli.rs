//! The command line: flags, and the lists they name (workloads, contenders,
//! worker counts), each checked against the valid names.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{
    baseline::Baseline,
    contenders::{self, ALIASES},
    native::{self, Native},
    workload::{Kind, Rounds, Workload},
};

/// `cargo xtask bench`: every backend of this runtime against tokio,
/// async-executor and `tutorial` (the one-channel executor this project grew
/// from), on the same workloads, interleaved; each contender in a process
/// of its own.
#[derive(Debug, clap::Parser)]
#[command(name = "cargo xtask bench", bin_name = "cargo xtask bench", about, long_about = None)]
pub struct Args {
    /// A small version of everything (smaller workloads, a few fixed rounds),
    /// for CI and a quick look. Never rewrites BENCHMARKS.md.
    #[arg(long)]
    pub quick: bool,

    /// Only these workloads (comma-separated, or repeat the flag).
    #[arg(long, value_name = "WORKLOAD", value_delimiter = ',')]
    pub filter: Vec<String>,

    /// Only these contenders (comma-separated, or repeat the flag). Ratios need `tokio`.
    /// `seed` is accepted for `tutorial`.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub contenders: Vec<String>,

    /// Worker-thread counts to run the set at: numbers, `N` for
    /// `available_parallelism`, and `pow2` for 1, 2, 4… up to it and `N`
    /// itself. Duplicates are dropped.
    #[arg(long, value_name = "LIST", default_value = DEFAULT_WORKERS)]
    pub workers: String,

    /// Exactly this many timed rounds per cell, instead of adaptive rounds
    /// (which stop a cell once its median's 95% confidence interval is
    /// within a few percent, or at its share of the time budget).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,

    /// The time budget of the measurements, in seconds (default: 780, or
    /// 240 with --quick), shared out between the rows by their cost; a row
    /// that settles early leaves its time to the others.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(10..))]
    pub budget: Option<u64>,

    /// Also run revision REV's backends (`flume@abc1234`, …), built from a
    /// clean checkout in a git worktree under target/, interleaved with the
    /// current ones; each backend's ratio to its baseline is printed beside
    /// its ratio to tokio. REV must have this bench's child protocol. The
    /// first run of a revision builds it from scratch, in its own target
    /// directory (minutes); later ones reuse that build.
    #[arg(long, value_name = "REV")]
    pub baseline: Option<String>,

    /// Skip the backends on the runtime's own sockets (`flume/native`, …)
    /// in the I/O rows, and the second build of the bench they need.
    #[arg(long)]
    pub no_native: bool,

    /// Where to write every sample as JSON.
    #[arg(long, value_name = "PATH", default_value = "target/bench/bench.json")]
    pub json: PathBuf,

    /// Where to draw the SVG chart of ratios to tokio and scaling.
    #[arg(long, value_name = "PATH", default_value = "target/bench/bench.svg")]
    pub chart: PathBuf,

    /// Do not rewrite BENCHMARKS.md and docs/bench.svg, even on a full run.
    #[arg(long)]
    pub no_docs: bool,

    /// List the workloads and contenders, then exit.
    #[arg(long)]
    pub list: bool,

    /// Bench your own queue too: the path of a type that implements
    /// `runtime_core::Queue`, like `my_crate::MyQueue`; it runs beside the
    /// built-in contenders, under this name. Needs --queue-path.
    #[arg(long, value_name = "PATH::TYPE", requires = "queue_path")]
    pub queue: Option<String>,

    /// The directory of the crate that defines --queue (relative to the
    /// workspace root). It must depend on this workspace's runtime-core (by
    /// path, or from crates.io: the generated crate patches it to this one).
    #[arg(long, value_name = "DIR", requires = "queue")]
    pub queue_path: Option<PathBuf>,

    /// Build the --queue crate in the dev profile instead of release (for
    /// the harness's own tests: the numbers mean nothing).
    #[arg(long, hide = true)]
    pub queue_dev_profile: bool,
}

/// Whether this run needs the native build (`native.rs`): an I/O row and a
/// backend among what it runs, no `--no-native`, and this binary not the
/// native build itself.
pub fn wants_native(args: &Args) -> anyhow::Result<bool> {
    let io = parse_workloads(&args.filter)?.iter().any(|w| w.is_io());
    let backends = contenders::backend_names();
    let ours = parse_contenders(&args.contenders)?.iter().any(|c| backends.contains(c));
    Ok(io && ours && !args.no_native && !native::THIS_IS_NATIVE && contenders::extra_name().is_none())
}

/// `--workers` unless told otherwise.
pub const DEFAULT_WORKERS: &str = "pow2";

/// One contender of the run: what the tables call it, and which binary
/// hosts it under which name.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Its column: `flume`, or `flume@abc1234` for a baseline's.
    pub label: String,
    /// Its name in the binary that hosts it (`flume`).
    pub name: String,
    /// That binary.
    pub exe: PathBuf,
    /// The workloads that binary can run.
    pub workloads: Vec<String>,
}

impl Spec {
    /// Whether its binary can run `workload`.
    pub fn runs(&self, workload: Workload) -> bool {
        self.workloads.iter().any(|w| w == workload.name())
    }
}

/// What to run, resolved from [`Args`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub workloads: Vec<Workload>,
    pub contenders: Vec<Spec>,
    pub workers: Vec<usize>,
    pub quick: bool,
    /// `--rounds`: fixed rounds instead of adaptive ones.
    pub fixed_rounds: Option<u32>,
    /// The measurements' time budget.
    pub budget: Duration,
    /// A full run: every workload and contender at the default worker
    /// counts, adaptive, not `--quick`, no baseline.
    pub full: bool,
}

impl Plan {
    /// Resolves the lists in `args`, with `cores` standing for `N`, the
    /// contenders hosted by `exe` (this binary) and by `baseline`'s.
    pub fn from_args(
        args: &Args,
        cores: usize,
        exe: &Path,
        baseline: Option<&Baseline>,
        native: Option<&Native>,
    ) -> anyhow::Result<Self> {
        let workloads = parse_workloads(&args.filter)?;
        let picked = parse_contenders(&args.contenders)?;
        let workers = parse_workers(&args.workers, cores)?;
        let ours: Vec<String> = Workload::names().iter().map(|n| n.to_string()).collect();
        let mut contenders = Vec::new();
        for name in picked {
            contenders.push(Spec {
                label: name.into(),
                name: name.into(),
                exe: exe.to_owned(),
                workloads: ours.clone(),
            });
            if let Some(baseline) = baseline.filter(|b| b.hello.backends.iter().any(|b| b == name)) {
                contenders.push(Spec {
                    label: format!("{name}{}", baseline.info.suffix),
                    name: name.into(),
                    exe: baseline.exe.clone(),
                    workloads: baseline.hello.workloads.clone(),
                });
            }
            if let Some(native) = native.filter(|n| n.hello.backends.iter().any(|b| b == name)) {
                // The I/O rows only: elsewhere it is the same runtime.
                let io = native
                    .hello
                    .workloads
                    .iter()
                    .filter(|w| Workload::from_name(w).is_some_and(Workload::is_io));
                contenders.push(Spec {
                    label: format!("{name}{}", native::SUFFIX),
                    name: name.into(),
                    exe: native.exe.clone(),
                    workloads: io.cloned().collect(),
                });
            }
        }
        let budget = Duration::from_secs(args.budget.unwrap_or(if args.quick { 240 } else { 780 }));
        // A run with a user's queue or a baseline never rewrites BENCHMARKS.md.
        let full = !args.quick
            && args.filter.is_empty()
            && args.contenders.is_empty()
            && args.rounds.is_none()
            && args.workers == DEFAULT_WORKERS
            && baseline.is_none()
            && contenders::extra_name().is_none();
        Ok(Self {
            workloads,
            contenders,
            workers,
            quick: args.quick,
            fixed_rounds: args.rounds,
            budget,
            full,
        })
    }

    /// When the cells of `workload` stop; see [`Rounds`].
    pub fn rounds(&self, workload: Workload) -> Rounds {
        let fixed = |n: u32| Rounds { min: n, max: n, tolerance: 0.0 };
        if let Some(n) = self.fixed_rounds {
            return fixed(n);
        }
        if self.quick {
            return fixed(match workload {
                Workload::Memory => 1,
                Workload::Throughput | Workload::HttpPlaintext => 2,
                _ => 3,
            });
        }
        match workload.kind() {
            Kind::Memory => fixed(3),
            Kind::Time if workload == Workload::Throughput => Rounds { min: 6, max: 12, tolerance: 0.03 },
            Kind::Time => Rounds { min: 6, max: 30, tolerance: 0.03 },
            Kind::Wake => Rounds { min: 6, max: 12, tolerance: 0.05 },
            Kind::Io => Rounds { min: 6, max: 10, tolerance: 0.03 },
        }
    }
}

/// Workload names, in the order given, or all of them for an empty list.
pub fn parse_workloads(names: &[String]) -> anyhow::Result<Vec<Workload>> {
    if names.is_empty() {
        return Ok(Workload::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names.iter().map(|n| n.trim()) {
        let Some(workload) = Workload::from_name(name) else {
            bail!("unknown workload {name:?}; valid workloads: {}", Workload::names().join(", "));
        };
        if !out.contains(&workload) {
            out.push(workload);
        }
    }
    Ok(out)
}

/// Contender names (or their [`ALIASES`]), in the canonical order
/// ([`contenders::names`]), or all of them for an empty list.
pub fn parse_contenders(names: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let all = contenders::names();
    if names.is_empty() {
        return Ok(all);
    }
    let mut picked = Vec::new();
    for name in names.iter().map(|n| n.trim()) {
        let alias = ALIASES.iter().find(|(alias, _)| *alias == name).map(|(_, contender)| *contender);
        let Some(contender) = all.iter().copied().find(|c| *c == name).or(alias) else {
            bail!("unknown contender {name:?}; valid contenders: {}", all.join(", "));
        };
        picked.push(contender);
    }
    Ok(all.into_iter().filter(|c| picked.contains(c)).collect())
}

/// `"1,2,N"` → `[1, 2, cores]`, `"pow2"` → `[1, 2, 4, …, cores]`, without
/// duplicates, in the order given.
pub fn parse_workers(list: &str, cores: usize) -> anyhow::Result<Vec<usize>> {
    let mut out = Vec::new();
    let add = |n: usize, out: &mut Vec<usize>| {
        if !out.contains(&n) {
            out.push(n);
        }
    };
    for item in list.split(',').map(str::trim) {
        if item.eq_ignore_ascii_case("n") {
            add(cores, &mut out);
        } else if item.eq_ignore_ascii_case("pow2") {
            for n in std::iter::successors(Some(1usize), |n| n.checked_mul(2)).take_while(|n| *n < cores) {
                add(n, &mut out);
            }
            add(cores, &mut out);
        } else {
            let n: usize = item.parse().with_context(|| {
                format!("--workers: {item:?} is not a worker count; expected numbers, N or pow2, like 1,2,N")
            })?;
            if !(1..=runtime_core::MAX_WORKER_THREADS).contains(&n) {
                bail!("--workers: {n} is out of range; expected 1 to {}", runtime_core::MAX_WORKER_THREADS);
            }
            add(n, &mut out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn args(argv: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("bench").chain(argv.iter().copied()))
    }

    #[test]
    fn workers_list_expands_n_and_drops_duplicates() {
        assert_eq!(parse_workers("1,2,N", 2).unwrap(), vec![1, 2]);
        assert_eq!(parse_workers("1, 2, n", 8).unwrap(), vec![1, 2, 8]);
        assert_eq!(parse_workers("4", 2).unwrap(), vec![4]);
    }

    #[test]
    fn pow2_is_every_power_of_two_below_the_cores_and_the_cores() {
        assert_eq!(parse_workers("pow2", 1).unwrap(), vec![1]);
        assert_eq!(parse_workers("pow2", 2).unwrap(), vec![1, 2]);
        assert_eq!(parse_workers("pow2", 6).unwrap(), vec![1, 2, 4, 6]);
        assert_eq!(parse_workers("pow2", 16).unwrap(), vec![1, 2, 4, 8, 16]);
        assert_eq!(parse_workers("1,2,4,8,16", 2).unwrap(), vec![1, 2, 4, 8, 16]);
    }

    #[test]
    fn bad_worker_counts_are_errors() {
        for bad in ["", "0", "two", "1,,2", "-1", "99999"] {
            assert!(parse_workers(bad, 2).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let err = parse_workloads(&["yield_lots".into()]).unwrap_err().to_string();
        assert!(err.contains("yield_lots") && err.contains("yield_many") && err.contains("memory"), "{err}");
        let err = parse_contenders(&["smol".into()]).unwrap_err().to_string();
        assert!(err.contains("smol") && err.contains("async-executor") && err.contains("tutorial"), "{err}");
    }

    #[test]
    fn contenders_keep_canonical_order() {
        let picked = parse_contenders(&["tokio".into(), "flume".into()]).unwrap();
        assert_eq!(picked, vec!["flume", "tokio"]);
    }

    #[test]
    fn seed_is_an_alias_of_tutorial() {
        let picked = parse_contenders(&["seed".into(), "tokio".into()]).unwrap();
        assert_eq!(picked, vec!["tokio", "tutorial"]);
        let picked = parse_contenders(&["tutorial".into(), "seed".into()]).unwrap();
        assert_eq!(picked, vec!["tutorial"]);
    }

    fn plan(argv: &[&str], baseline: Option<&Baseline>) -> Plan {
        Plan::from_args(&args(argv).unwrap(), 2, Path::new("/bench"), baseline, None).unwrap()
    }

    fn labels(plan: &Plan) -> Vec<&str> {
        plan.contenders.iter().map(|c| c.label.as_str()).collect()
    }

    #[test]
    fn plan_defaults_and_quick() {
        let full = plan(&[], None);
        assert!(full.full && !full.quick);
        assert_eq!(full.workers, vec![1, 2]);
        assert_eq!(full.workloads.len(), Workload::ALL.len());
        assert_eq!(labels(&full), contenders::names());
        assert_eq!(full.budget, Duration::from_secs(780));
        let adaptive = full.rounds(Workload::YieldMany);
        assert!(adaptive.min >= 6 && adaptive.max > adaptive.min && adaptive.tolerance > 0.0, "{adaptive:?}");
        assert_eq!(full.rounds(Workload::Memory).max, 3);

        let quick = plan(&["--quick", "--filter", "ping_pong,memory"], None);
        assert!(!quick.full && quick.quick);
        assert_eq!(quick.workloads, vec![Workload::PingPong, Workload::Memory]);
        assert_eq!(quick.rounds(Workload::PingPong), Rounds { min: 3, max: 3, tolerance: 0.0 });
        assert_eq!(quick.rounds(Workload::Memory).max, 1);

        let fixed = plan(&["--rounds", "2", "--workers", "1"], None);
        assert!(!fixed.full, "fixed rounds or other worker counts are not a full run");
        assert_eq!(fixed.rounds(Workload::HttpPlaintext), Rounds { min: 2, max: 2, tolerance: 0.0 });
    }

    #[test]
    fn the_native_build_adds_its_backends_for_the_io_rows_only() {
        let native = Native {
            exe: "/native/bench".into(),
            hello: crate::protocol::Hello {
                protocol: crate::protocol::VERSION,
                contenders: vec!["flume".into(), "tokio".into()],
                backends: vec!["flume".into()],
                workloads: vec!["yield_many".into(), "tcp_echo".into(), "http_plaintext".into()],
            },
        };
        let argv = args(&["--contenders", "flume,tokio"]).unwrap();
        let with = Plan::from_args(&argv, 2, Path::new("/bench"), None, Some(&native)).unwrap();
        let labels = labels(&with);
        assert_eq!(labels, ["flume", "flume/native", "tokio"], "{labels:?}");
        let spec = &with.contenders[1];
        assert_eq!((spec.name.as_str(), spec.exe.as_path()), ("flume", Path::new("/native/bench")));
        assert!(spec.runs(Workload::TcpEcho) && spec.runs(Workload::HttpPlaintext));
        assert!(!spec.runs(Workload::YieldMany), "the same runtime as `flume` outside the I/O rows");
        // Asked for only when an I/O row and a backend are in the run.
        assert!(wants_native(&args(&["--filter", "tcp_echo"]).unwrap()).unwrap());
        assert!(!wants_native(&args(&["--filter", "yield_many"]).unwrap()).unwrap());
        assert!(!wants_native(&args(&["--contenders", "tokio"]).unwrap()).unwrap());
        assert!(!wants_native(&args(&["--no-native"]).unwrap()).unwrap());
    }

    #[test]
    fn a_baseline_adds_its_backends_after_each_current_one() {
        let baseline = Baseline {
            info: crate::results::BaselineInfo {
                rev: "HEAD~1".into(),
                commit: "abc1234def".into(),
                suffix: "@abc1234".into(),
            },
            exe: "/old/bench".into(),
            hello: crate::protocol::Hello {
                protocol: crate::protocol::VERSION,
                contenders: vec!["flume".into(), "mutex".into(), "tokio".into()],
                backends: vec!["flume".into(), "mutex".into()],
                workloads: vec!["yield_many".into()],
            },
        };
        let with = plan(&["--contenders", "flume,crossbeam,tokio"], Some(&baseline));
        // The backends in their canonical order, each baseline right after its own.
        let labels = labels(&with);
        let flume = labels.iter().position(|l| *l == "flume").unwrap();
        assert_eq!(labels[flume + 1], "flume@abc1234", "{labels:?}");
        assert_eq!(labels.len(), 4, "no baseline for crossbeam, none for tokio: {labels:?}");
        assert_eq!(labels.last(), Some(&"tokio"));
        assert!(!with.full);
        let old = &with.contenders[flume + 1];
        assert_eq!((old.name.as_str(), old.exe.as_path()), ("flume", Path::new("/old/bench")));
        assert!(old.runs(Workload::YieldMany) && !old.runs(Workload::WakeLocal));
        assert!(with.contenders[flume].runs(Workload::WakeLocal));
    }

    #[test]
    fn malformed_flags_are_clap_errors() {
        assert!(args(&["--rounds", "0"]).is_err());
        assert!(args(&["--rounds", "many"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--filter"]).is_err());
        assert!(args(&["--budget", "5"]).is_err());
        assert!(args(&["--baseline"]).is_err());
    }
}
