//! `cargo xtask miri`: runs `runtime-core`'s unit and integration tests under
//! Miri (nightly), once per seed.
//!
//! - `-Zmiri-strict-provenance`: every pointer keeps its provenance (the LIFO
//!   slot stores `Runnable`s as raw pointers in an `AtomicPtr`).
//! - `-Zmiri-disable-isolation`: the tests sleep and read the clock.
//! - `-Zmiri-seed=N` for each seed: Miri's scheduler and weak-memory
//!   emulation take different paths with different seeds.
//! - Leak checking is Miri's default (a leaked task or runtime fails the run).
//!
//! The tests shrink their sizes under `cfg(miri)` (`testing::size`) rather
//! than skipping. The loom models are `#![cfg(loom)]` and compile to nothing.
//!
//! Needs `rustup component add --toolchain nightly miri rust-src`; if that is
//! missing, this command says so and fails with exit code 2, which CI can
//! treat as "skipped" (see `--skip-if-missing`).

use std::{process::Command, time::Instant};

use crate::{project_root, run_checked};

/// Arguments of `cargo xtask miri`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many seeds to run, starting at `--first-seed`.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Exit successfully (with a message) if the nightly toolchain or its
    /// `miri` / `rust-src` components are not installed.
    #[arg(long)]
    skip_if_missing: bool,
    /// Extra arguments for the test binaries, after `--` (a test name filter).
    #[arg(last = true)]
    test_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if let Err(missing) = nightly_components(&["miri", "rust-src"]) {
        return missing_toolchain("miri", &missing, args.skip_if_missing);
    }
    // Build the sysroot once, up front, so that its output does not mix with
    // the first seed's.
    run_checked(nightly_cargo().args(["miri", "setup"]))?;
    let start = Instant::now();
    for seed in args.first_seed..args.first_seed + args.seeds {
        let seed_start = Instant::now();
        let mut cmd = nightly_cargo();
        cmd.args(["miri", "test", "--package", "runtime-core", "--"])
            .args(&args.test_args)
            .env("CARGO_TARGET_DIR", project_root().join("target/miri"))
            .env("MIRIFLAGS", miriflags(seed));
        run_checked(&mut cmd)?;
        eprintln!("miri seed {seed} passed in {:.1?}", seed_start.elapsed());
    }
    eprintln!("miri: {} seed(s) passed in {:.1?}", args.seeds, start.elapsed());
    Ok(())
}

fn miriflags(seed: u64) -> String {
    let ours = format!("-Zmiri-strict-provenance -Zmiri-disable-isolation -Zmiri-seed={seed}");
    match std::env::var("MIRIFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} {ours}"),
        _ => ours,
    }
}

/// `cargo +nightly` in the workspace root. Runs the `cargo` proxy from
/// `PATH`, not `$CARGO` (which is the stable toolchain's cargo binary and
/// does not understand `+nightly`).
pub(crate) fn nightly_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(project_root()).arg("+nightly");
    // Variables that pin the stable toolchain would override `+nightly`.
    cmd.env_remove("RUSTC").env_remove("RUSTDOC").env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// Checks that the nightly toolchain and `components` are installed; `Err`
/// lists what is missing.
pub(crate) fn nightly_components(components: &[&str]) -> Result<(), String> {
    let output =
        Command::new("rustup").args(["component", "list", "--installed", "--toolchain", "nightly"]).output();
    let installed = match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(_) => return Err("the nightly toolchain (rustup toolchain install nightly)".into()),
        Err(e) => return Err(format!("rustup ({e})")),
    };
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| !installed.lines().any(|line| line == *c || line.starts_with(&format!("{c}-"))))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "nightly component(s) {} (rustup component add --toolchain nightly {})",
            missing.join(", "),
            missing.join(" ")
        ))
    }
}

/// Reports a missing toolchain: an error, or a skip if `skip` is set.
pub(crate) fn missing_toolchain(tool: &str, missing: &str, skip: bool) -> anyhow::Result<()> {
    let message = format!("cargo xtask {tool}: cannot run, missing {missing}");
    if skip {
        eprintln!("{message}; skipped (--skip-if-missing)");
        Ok(())
    } else {
        eprintln!("{message}");
        std::process::exit(2)
    }
}
