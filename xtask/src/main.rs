//! Project automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! `main` only parses the command line and dispatches; each command lives in
//! its own module, and what they share in `cmd` (child commands) and
//! `nightly` (the toolchain of `miri` and `tsan`).

use clap::{Parser, Subcommand};

mod bench;
mod cmd;
mod loom;
mod miri;
mod nightly;
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
    Bench(cmd::Passthrough),
    /// Run the loom models of runtime-core.
    Loom(loom::Args),
    /// Run runtime-core's tests and the backends' conformance suites under Miri (nightly).
    Miri(miri::Args),
    /// Run the workspace tests under ThreadSanitizer (nightly).
    Tsan(tsan::Args),
    /// Run a randomized soak test on every backend.
    Soak(cmd::Passthrough),
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
