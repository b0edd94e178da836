//! `cargo xtask loom`: runs the loom models of `runtime-core/tests/loom.rs`.
//!
//! The models need `RUSTFLAGS="--cfg loom"`, which changes every crate's
//! build, so they get their own target directory (`target/loom`) and do not
//! invalidate the normal build. They run in release mode (loom explores
//! thousands of interleavings; debug builds are ~10x slower) with a bounded
//! number of preemptions per interleaving.

use std::time::Instant;

use crate::cmd::{EnvExt, cargo, project_root, run_checked};

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
        .env_append("RUSTFLAGS", "--cfg loom")
        .env("CARGO_TARGET_DIR", project_root().join("target/loom"))
        .env("LOOM_MAX_PREEMPTIONS", args.preemptions.to_string())
        // Loom prints the interleaving of a failure when asked; a failure
        // without it is hard to read, so keep the backtrace short by default.
        .env_default("RUST_BACKTRACE", "0");
    run_checked(&mut cmd)?;
    eprintln!("loom models passed in {:.1?} (LOOM_MAX_PREEMPTIONS={})", start.elapsed(), args.preemptions);
    Ok(())
}
