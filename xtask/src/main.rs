//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! `main` only parses the command line and dispatches; each command lives in
//! its own module.

use std::{env, path::PathBuf, process::Command};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod bench;
mod loom;
mod miri;
mod soak;
mod tsan;

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Project automation for the pluggable runtime")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Benchmark every backend against tokio and async-executor.
    Bench(bench::Args),
    /// Run the loom models of runtime-core.
    Loom(loom::Args),
    /// Run runtime-core's tests under Miri (nightly).
    Miri(miri::Args),
    /// Run the workspace tests under ThreadSanitizer (nightly).
    Tsan(tsan::Args),
    /// Run a randomized soak test on every backend.
    Soak(soak::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Bench(args) => bench::run(args),
        Cmd::Loom(args) => loom::run(args),
        Cmd::Miri(args) => miri::run(args),
        Cmd::Tsan(args) => tsan::run(args),
        Cmd::Soak(args) => soak::run(args),
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// A `cargo` command (the one running us, per `$CARGO`) in the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, failing with the command line if it does not succeed.
pub(crate) fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}
