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
//! The sanitizer flag reaches this cargo only, as
//! `--config target.x86_64-unknown-linux-gnu.rustflags=[..]`, not through
//! `RUSTFLAGS`: a test that starts a cargo build of its own (`xtask/bench`'s
//! `own_queue` test builds a user's crate) inherits the environment, and
//! `RUSTFLAGS=-Zsanitizer=thread` there built that crate with the sanitizer
//! but without `-Zbuild-std` ("mixing `-Zsanitizer` will cause an ABI
//! mismatch"), and its build scripts failed too. Such a nested build is a
//! plain one. The user's own `RUSTFLAGS` (or `CARGO_ENCODED_RUSTFLAGS`) go
//! into that setting too, and are removed from the child's environment:
//! with either set, cargo would ignore the configured flags.
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
    let mut rustflags = user_rustflags();
    rustflags.push("-Zsanitizer=thread".to_owned());
    cmd.arg("--config").arg(format!("target.{TARGET}.rustflags={}", toml_strings(&rustflags)));
    cmd.arg("--")
        .args(&args.test_args)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
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

/// The flags the user set for rustc: `CARGO_ENCODED_RUSTFLAGS` (separated by
/// `0x1f`) if set, else `RUSTFLAGS` (by whitespace), as cargo reads them.
fn user_rustflags() -> Vec<String> {
    if let Ok(encoded) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        return encoded.split('\x1f').filter(|f| !f.is_empty()).map(str::to_owned).collect();
    }
    std::env::var("RUSTFLAGS").map(|f| f.split_whitespace().map(str::to_owned).collect()).unwrap_or_default()
}

/// `flags` as a TOML array of strings (`["-Za", "-Zb"]`), for `--config`.
fn toml_strings(flags: &[String]) -> String {
    let quoted: Vec<String> =
        flags.iter().map(|f| format!("\"{}\"", f.replace('\\', "\\\\").replace('"', "\\\""))).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::toml_strings;

    #[test]
    fn flags_become_a_toml_array() {
        assert_eq!(toml_strings(&[]), "[]");
        let flags = ["-Zsanitizer=thread".to_owned(), "--cfg".to_owned(), "a=\"b\\c\"".to_owned()];
        assert_eq!(toml_strings(&flags), r#"["-Zsanitizer=thread", "--cfg", "a=\"b\\c\""]"#);
    }
}
