//! `cargo xtask soak`: runs the randomized soak test (`xtask/soak`)
//! in release mode on every backend.

use std::time::Instant;

use crate::{cargo, run_checked};

/// Arguments of `cargo xtask soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Seconds to soak each backend for.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Only this backend (flume, crossbeam or mutex).
    #[arg(long)]
    backend: Option<String>,
    /// Random seed, to replay a failure (the soak prints the seed it used).
    #[arg(long)]
    seed: Option<u64>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "soak", "--", "--seconds"]).arg(args.seconds.to_string());
    if let Some(backend) = &args.backend {
        cmd.args(["--backend", backend]);
    }
    if let Some(seed) = args.seed {
        cmd.args(["--seed", &seed.to_string()]);
    }
    run_checked(&mut cmd)?;
    eprintln!("soak passed in {:.1?}", start.elapsed());
    Ok(())
}
