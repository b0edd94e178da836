//! `cargo xtask loom`: runs the loom models of `runtime-core/tests/loom.rs`.
//!
//! The models need `RUSTFLAGS="--cfg loom"`, which changes every crate's
//! build, so they get their own target directory (`target/loom`) and do not
//! invalidate the normal build. They run in release mode (loom explores
//! thousands of interleavings; debug builds are ~10x slower) with a bounded
//! number of preemptions per interleaving.

use std::time::Instant;

use crate::{cargo, project_root, run_checked};

/// Arguments of `cargo xtask loom`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Preemptions loom explores per interleaving (`LOOM_MAX_PREEMPTIONS`).
    /// 2 covers the races of the models in a few seconds each; 3 takes
    /// minutes.
    #[arg(long, default_value_t = 2)]
    preemptions: usize,
    /// Extra arguments for the test binary, after `--` (a test name filter,
    /// `--nocapture`, ...).
    #[arg(last = true)]
    test_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut cmd = cargo();
    cmd.args(["test", "--package", "runtime-core", "--test", "loom", "--release", "--"])
        .args(&args.test_args)
        .env("RUSTFLAGS", rustflags_with("--cfg loom"))
        .env("CARGO_TARGET_DIR", project_root().join("target/loom"))
        .env("LOOM_MAX_PREEMPTIONS", args.preemptions.to_string())
        // Loom prints the interleaving of a failure when asked; a failure
        // without it is hard to read, so keep the backtrace short by default.
        .env("RUST_BACKTRACE", std::env::var("RUST_BACKTRACE").unwrap_or_else(|_| "0".into()));
    run_checked(&mut cmd)?;
    eprintln!("loom models passed in {:.1?} (LOOM_MAX_PREEMPTIONS={})", start.elapsed(), args.preemptions);
    Ok(())
}

/// `RUSTFLAGS` from the environment with `extra` appended.
pub(crate) fn rustflags_with(extra: &str) -> String {
    match std::env::var("RUSTFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} {extra}"),
        _ => extra.to_owned(),
    }
}
