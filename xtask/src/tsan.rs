//! `cargo xtask tsan`: runs the workspace tests under ThreadSanitizer.
//!
//! `RUSTFLAGS="-Zsanitizer=thread"` needs a nightly toolchain and
//! `-Zbuild-std` (the standard library must be instrumented too, or every
//! synchronization inside it looks like a race), which needs `rust-src`. The
//! build goes to its own target directory (`target/tsan`).
//!
//! Instrumented code runs several times slower, so the tests' deadlines
//! (which only turn a hang into a failure) are stretched: this command sets
//! `RUNTIME_CORE_SLOW_TESTS` (read by `runtime_core::testing::deadline`) to
//! [`SLOW_TESTS_FACTOR`] unless it is already set.
//!
//! Doctests are skipped (`--lib --bins --tests`): rustdoc does not take the
//! sanitizer flags. If the nightly toolchain or its `rust-src` is missing,
//! it is installed with rustup first (see `nightly::ensure`).

use std::time::Instant;

use crate::{
    cmd::{EnvExt, project_root, run_checked},
    nightly,
};

/// The only target ThreadSanitizer builds are set up for here.
const TARGET: &str = "x86_64-unknown-linux-gnu";

/// How much longer the tests' deadlines are under ThreadSanitizer.
const SLOW_TESTS_FACTOR: &str = "10";
/// The variable `runtime_core::testing::SLOW_TESTS_ENV` names (xtask does not
/// depend on `runtime-core`).
const SLOW_TESTS_ENV: &str = "RUNTIME_CORE_SLOW_TESTS";

/// Arguments of `cargo xtask tsan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// If the nightly toolchain or its `rust-src` component is missing, skip
    /// (successfully, with a message) instead of installing it.
    #[arg(long)]
    skip_if_missing: bool,
    /// Test only this package (default: the whole workspace).
    #[arg(long, short)]
    package: Option<String>,
    /// Extra arguments for the test binaries, after `--` (a test name filter).
    #[arg(last = true)]
    test_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if !nightly::ensure("tsan", &["rust-src"], args.skip_if_missing)? {
        return Ok(());
    }
    let start = Instant::now();
    let mut cmd = nightly::cargo();
    cmd.args(["test", "-Zbuild-std", "--target", TARGET, "--lib", "--bins", "--tests"]);
    match &args.package {
        Some(package) => cmd.args(["--package", package]),
        None => cmd.arg("--workspace"),
    };
    cmd.arg("--")
        .args(&args.test_args)
        .env_append("RUSTFLAGS", "-Zsanitizer=thread")
        .env_append("RUSTDOCFLAGS", "-Zsanitizer=thread")
        .env("CARGO_TARGET_DIR", project_root().join("target/tsan"))
        .env_default(SLOW_TESTS_ENV, SLOW_TESTS_FACTOR)
        // Fail on the first report, with the second stack (the other side of
        // the race) included.
        .env_append("TSAN_OPTIONS", "halt_on_error=1 second_deadlock_stack=1");
    run_checked(&mut cmd)?;
    eprintln!("tsan: clean in {:.1?}", start.elapsed());
    Ok(())
}
