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
//! The tests shrink their sizes under `cfg(miri)` (`testing::size`) and
//! stretch their deadlines (`testing::deadline`) rather than skipping. The
//! loom models are `#![cfg(loom)]` and compile to nothing.
//!
//! **What one seed runs.** Every test of every backend is too slow for CI:
//! Miri interprets one thread at a time, and one seed of everything takes
//! about 15 minutes on a 2-core machine (the conformance suite alone is four
//! backends of about 2 minutes each). So by default each seed runs a
//! representative slice, with no test left out by name:
//!
//! - the conformance suite (`tests/conformance.rs`) of one backend,
//!   [`CONFORMANCE`]`[seed % 4]`;
//! - every other test target (`--lib` and each file in `runtime-core/tests`
//!   but `conformance.rs`), with their per-backend modules (torture, stress)
//!   for one backend, [`BACKENDS`]`[seed % 3]`, and every test that is not in
//!   a backend module.
//!
//! Every check runs under Miri on every seed; the backend rotates, so the
//! default seeds 0 and 1 cover all four queues (conformance on `tiny` and
//! `flume`, torture and stress on `mutex` and `crossbeam`), and 12
//! consecutive seeds run every (seed, backend) pairing once per suite. The
//! backends' own code is third-party or trivially safe; what Miri checks here
//! is `runtime-core`'s unsafe code, which every backend drives the same way.
//! `--all` runs everything on every seed (about 15 minutes a seed). The
//! default (2 seeds) took 10.6 minutes on this 2-core machine.
//!
//! Needs `rustup component add --toolchain nightly miri rust-src`; if that is
//! missing, this command says so and fails with exit code 2, which CI can
//! treat as "skipped" (see `--skip-if-missing`).

use std::{process::Command, time::Instant};

use crate::{project_root, run_checked};

/// The modules of `tests/conformance.rs`, one per backend; seed `s` runs
/// `CONFORMANCE[s % 4]` (unless `--all`).
const CONFORMANCE: [&str; 4] = ["tiny", "flume", "crossbeam", "mutex"];
/// The per-backend modules of the other test files (`torture.rs`,
/// `stress.rs`); seed `s` runs `BACKENDS[s % 3]` (unless `--all`).
const BACKENDS: [&str; 3] = ["mutex", "crossbeam", "flume"];

/// Arguments of `cargo xtask miri`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How many seeds to run, starting at `--first-seed`.
    #[arg(long, default_value_t = 2)]
    seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Run every test of every backend on every seed, instead of one
    /// backend's per seed (see the module docs; about 15 minutes a seed).
    #[arg(long)]
    all: bool,
    /// Exit successfully (with a message) if the nightly toolchain or its
    /// `miri` / `rust-src` components are not installed.
    #[arg(long)]
    skip_if_missing: bool,
    /// Extra arguments for the test binaries, after `--` (a test name
    /// filter); they apply on top of the per-seed selection.
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
        if args.all {
            eprintln!("miri seed {seed}: every test");
            run_checked(&mut miri_test(seed, &[], &args.test_args))?;
        } else {
            let conformance = CONFORMANCE[(seed % 4) as usize];
            let backend = BACKENDS[(seed % 3) as usize];
            eprintln!("miri seed {seed}: conformance on {conformance}, other tests on {backend}");
            run_checked(&mut miri_test(
                seed,
                &["--test", "conformance"],
                &test_args(&args.test_args, &CONFORMANCE, conformance),
            ))?;
            let mut targets = vec!["--lib".to_owned()];
            for name in other_test_targets()? {
                targets.extend(["--test".to_owned(), name]);
            }
            let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
            run_checked(&mut miri_test(seed, &targets, &test_args(&args.test_args, &BACKENDS, backend)))?;
        }
        eprintln!("miri seed {seed} passed in {:.1?}", seed_start.elapsed());
    }
    eprintln!("miri: {} seed(s) passed in {:.1?}", args.seeds, start.elapsed());
    Ok(())
}

/// `cargo +nightly miri test -p runtime-core {targets} -- {test_args}` with
/// the flags for `seed`.
fn miri_test(seed: u64, targets: &[&str], test_args: &[String]) -> Command {
    let mut cmd = nightly_cargo();
    cmd.args(["miri", "test", "--package", "runtime-core"])
        .args(targets)
        .arg("--")
        .args(test_args)
        .env("CARGO_TARGET_DIR", project_root().join("target/miri"))
        .env("MIRIFLAGS", miriflags(seed));
    cmd
}

/// The user's test arguments, then `--skip {module}::` for every module of
/// `modules` but `keep`.
fn test_args(user: &[String], modules: &[&str], keep: &str) -> Vec<String> {
    let mut args = user.to_vec();
    for module in modules.iter().filter(|m| **m != keep) {
        args.extend(["--skip".to_owned(), format!("{module}::")]);
    }
    args
}

/// The integration test targets of `runtime-core` but `conformance`: the
/// `.rs` files directly under `runtime-core/tests` (Cargo's auto-discovery).
fn other_test_targets() -> anyhow::Result<Vec<String>> {
    let dir = project_root().join("runtime-core/tests");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        match path.file_stem().and_then(|s| s.to_str()) {
            Some("conformance") | None => {}
            Some(stem) => names.push(stem.to_owned()),
        }
    }
    names.sort();
    Ok(names)
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
