//! `cargo xtask bench`: builds the `bench` crate in release and runs it.
//!
//! The benchmark lives in its own crate (`xtask/bench`) because `cargo xtask`
//! builds this one in debug, and because tokio, async-executor and the
//! reporting crates must stay out of everything but that crate. Every
//! argument goes through unchanged: `cargo xtask bench --help` lists them.

use std::ffi::OsString;

use anyhow::Context;

use crate::cargo;

/// Arguments of `cargo xtask bench`, handed to the bench binary as they are.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Args {
    /// Arguments for the benchmark (see `cargo xtask bench --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--quiet", "--package", "bench", "--bin", "bench", "--"]).args(&args.args);
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        // The benchmark (or cargo) has already said what went wrong; pass its
        // exit code on rather than repeating it with a backtrace.
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
