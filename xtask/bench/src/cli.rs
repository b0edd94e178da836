//! The command line: flags, and the lists they name (workloads, contenders,
//! worker counts), each checked against the valid names.

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::{
    contenders::{self, ALIASES},
    workloads::Workload,
};

/// `cargo xtask bench`: every backend of this runtime against tokio,
/// async-executor and `tutorial` (the one-channel executor this project grew
/// from), on the same workloads, interleaved.
#[derive(Debug, clap::Parser)]
#[command(name = "cargo xtask bench", bin_name = "cargo xtask bench", about, long_about = None)]
pub struct Args {
    /// A small version of everything (smaller workloads, fewer rounds), for CI
    /// and a quick look. Never rewrites BENCHMARKS.md.
    #[arg(long)]
    pub quick: bool,

    /// Only these workloads (comma-separated, or repeat the flag).
    #[arg(long, value_name = "WORKLOAD", value_delimiter = ',')]
    pub filter: Vec<String>,

    /// Only these contenders (comma-separated, or repeat the flag). Ratios need `tokio`.
    /// `seed` is accepted for `tutorial`.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub contenders: Vec<String>,

    /// Worker-thread counts to run the set at: numbers, and `N` for
    /// `available_parallelism`. Duplicates are dropped.
    #[arg(long, value_name = "LIST", default_value = "1,2,N")]
    pub workers: String,

    /// Timed rounds per cell (defaults: 10, or 3 with --quick; the 1M-task
    /// workloads use fewer, and so does a contender whose samples would not
    /// fit the per-cell time budget of 15 s, or 1 s with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: Option<u32>,

    /// Where to write every sample as JSON.
    #[arg(long, value_name = "PATH", default_value = "target/bench/bench.json")]
    pub json: PathBuf,

    /// Where to draw the SVG chart of ratios to tokio.
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

/// What to run, resolved from [`Args`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub workloads: Vec<Workload>,
    pub contenders: Vec<&'static str>,
    pub workers: Vec<usize>,
    pub quick: bool,
    /// Rounds for the short workloads; see [`Plan::rounds_for`].
    pub rounds: u32,
    /// A full run: every workload and contender, not `--quick`.
    pub full: bool,
}

impl Plan {
    /// Resolves the lists in `args`, with `cores` standing for `N`.
    pub fn from_args(args: &Args, cores: usize) -> anyhow::Result<Self> {
        let workloads = parse_workloads(&args.filter)?;
        let contenders = parse_contenders(&args.contenders)?;
        let workers = parse_workers(&args.workers, cores)?;
        let rounds = args.rounds.unwrap_or(if args.quick { 3 } else { 10 });
        // A run with a user's queue never rewrites BENCHMARKS.md.
        let full = !args.quick
            && args.filter.is_empty()
            && args.contenders.is_empty()
            && contenders::extra_name().is_none();
        Ok(Self { workloads, contenders, workers, quick: args.quick, rounds, full })
    }

    /// Rounds for `workload`: the million-task ones take seconds a sample, so
    /// they get fewer, and so do the I/O ones, whose samples run for a fixed
    /// time (1 s and 5 s, or 0.2 s and 1 s with --quick).
    pub fn rounds_for(&self, workload: Workload) -> u32 {
        match workload {
            Workload::Throughput => self.rounds.min(if self.quick { 2 } else { 5 }),
            Workload::Memory => self.rounds.min(if self.quick { 1 } else { 3 }),
            Workload::TcpEcho => self.rounds.min(if self.quick { 3 } else { 5 }),
            Workload::HttpPlaintext => self.rounds.min(if self.quick { 2 } else { 3 }),
            _ => self.rounds,
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

/// `"1,2,N"` → `[1, 2, cores]`, without duplicates, in the order given.
pub fn parse_workers(list: &str, cores: usize) -> anyhow::Result<Vec<usize>> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim) {
        let n = if item.eq_ignore_ascii_case("n") {
            cores
        } else {
            let n: usize = item.parse().with_context(|| {
                format!("--workers: {item:?} is not a worker count; expected numbers or N, like 1,2,N")
            })?;
            if !(1..=runtime_core::MAX_WORKER_THREADS).contains(&n) {
                bail!("--workers: {n} is out of range; expected 1 to {}", runtime_core::MAX_WORKER_THREADS);
            }
            n
        };
        if !out.contains(&n) {
            out.push(n);
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

    #[test]
    fn plan_defaults_and_quick() {
        let plan = Plan::from_args(&args(&[]).unwrap(), 2).unwrap();
        assert!(plan.full && !plan.quick);
        assert_eq!(plan.workers, vec![1, 2]);
        assert_eq!(plan.workloads.len(), Workload::ALL.len());
        assert_eq!(plan.rounds_for(Workload::YieldMany), 10);
        assert_eq!(plan.rounds_for(Workload::Memory), 3);

        let plan = Plan::from_args(&args(&["--quick", "--filter", "ping_pong,memory"]).unwrap(), 2).unwrap();
        assert!(!plan.full && plan.quick);
        assert_eq!(plan.workloads, vec![Workload::PingPong, Workload::Memory]);
        assert_eq!(plan.rounds_for(Workload::PingPong), 3);
        assert_eq!(plan.rounds_for(Workload::Memory), 1);
    }

    #[test]
    fn malformed_flags_are_clap_errors() {
        assert!(args(&["--rounds", "0"]).is_err());
        assert!(args(&["--rounds", "many"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--filter"]).is_err());
    }
}
