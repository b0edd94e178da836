//! `cargo xtask miri`: runs the tests of `runtime-core` and of the backends'
//! conformance suites under Miri (nightly), once per seed.
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
//! queues of about 2 minutes each). So by default each seed runs a
//! representative slice, with no test left out by name:
//!
//! - the conformance suite on one queue, [`conformance_queue`]: `tiny` (the
//!   user-defined queue of `runtime-core/tests/conformance.rs`) or a backend
//!   (`queue-{name}/tests/conformance.rs`), in turn;
//! - every other test target of `runtime-core` (`--lib` and each file in
//!   `runtime-core/tests` but `conformance.rs`), with their per-backend
//!   modules (torture, stress, ...) for one backend, [`other_tests_backend`],
//!   and every test that is not in a backend module.
//!
//! Every check runs under Miri on every seed; the queue rotates, so the
//! default seeds 0 and 1 cover all four queues (conformance on `tiny` and
//! `flume`, the other tests on `mutex` and `crossbeam`), and 12 consecutive
//! seeds run every (seed, queue) pairing once per suite. The backends' own
//! code is third-party or trivially safe; what Miri checks here is
//! `runtime-core`'s unsafe code, which every backend drives the same way.
//! `--all` runs everything on every seed (about 15 minutes a seed). One seed
//! takes about 5 minutes on this 2-core machine, the default two 10.6.
//!
//! Needs the nightly toolchain with `miri` and `rust-src`; what is missing is
//! installed with rustup first (see `nightly::ensure`), and
//! `cargo +nightly miri setup` builds Miri's sysroot.

use std::{process::Command, time::Instant};

use backends::BACKENDS;

use crate::{
    cmd::{EnvExt, project_root, run_checked},
    nightly,
};

/// The conformance suite's queue that isn't a backend: `runtime-core`'s own
/// test of a user-defined queue, `mod tiny` in `tests/conformance.rs`.
const TINY: &str = "tiny";

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
    /// If the nightly toolchain or its `miri` / `rust-src` components are
    /// missing, skip (successfully, with a message) instead of installing
    /// them.
    #[arg(long)]
    skip_if_missing: bool,
    /// Extra arguments for the test binaries, after `--` (a test name
    /// filter); they apply on top of the per-seed selection.
    #[arg(last = true)]
    test_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    if !nightly::ensure("miri", &["miri", "rust-src"], args.skip_if_missing)? {
        return Ok(());
    }
    // Build the sysroot once, up front, so that its output does not mix with
    // the first seed's.
    run_checked(nightly::cargo().args(["miri", "setup"]))?;
    let start = Instant::now();
    for seed in args.first_seed..args.first_seed + args.seeds {
        let seed_start = Instant::now();
        if args.all {
            eprintln!("miri seed {seed}: every test");
            let mut packages = vec!["runtime-core".to_owned()];
            packages.extend(BACKENDS.map(queue_package));
            run_checked(&mut miri_test(seed, &packages, &[], &args.test_args))?;
        } else {
            let queue = conformance_queue(seed);
            let backend = other_tests_backend(seed);
            eprintln!("miri seed {seed}: conformance on {queue}, other tests on {backend}");
            run_checked(&mut conformance(seed, queue, &args.test_args))?;
            let mut targets = vec!["--lib".to_owned()];
            for name in other_test_targets()? {
                targets.extend(["--test".to_owned(), name]);
            }
            let test_args = skip_backends_but(&args.test_args, backend);
            run_checked(&mut miri_test(seed, &["runtime-core".to_owned()], &targets, &test_args))?;
        }
        eprintln!("miri seed {seed} passed in {:.1?}", seed_start.elapsed());
    }
    eprintln!("miri: {} seed(s) passed in {:.1?}", args.seeds, start.elapsed());
    Ok(())
}

/// The queue whose conformance suite seed `seed` runs: `tiny`, then each of
/// [`BACKENDS`], in turn.
fn conformance_queue(seed: u64) -> &'static str {
    let queues = 1 + BACKENDS.len() as u64;
    match seed % queues {
        0 => TINY,
        n => BACKENDS[n as usize - 1],
    }
}

/// The backend whose modules of the other test files seed `seed` runs:
/// [`BACKENDS`] in reverse order, so that the seeds whose conformance runs on
/// `tiny` and the first backend run the other tests on the other two.
fn other_tests_backend(seed: u64) -> &'static str {
    let n = BACKENDS.len() as u64;
    BACKENDS[(n - 1 - seed % n) as usize]
}

/// The package of backend `name`.
fn queue_package(name: &str) -> String {
    format!("queue-{name}")
}

/// The conformance suite on `queue`: `tiny`'s module in `runtime-core`, or
/// a backend crate's own `tests/conformance.rs`.
fn conformance(seed: u64, queue: &str, user_args: &[String]) -> Command {
    let targets = ["--test".to_owned(), "conformance".to_owned()];
    if queue == TINY {
        miri_test(seed, &["runtime-core".to_owned()], &targets, &skip_backends_but(user_args, TINY))
    } else {
        miri_test(seed, &[queue_package(queue)], &targets, user_args)
    }
}

/// The user's test arguments, then `--skip {backend}::` for every backend but
/// `keep`: the per-backend modules of `runtime-core`'s test files.
fn skip_backends_but(user_args: &[String], keep: &str) -> Vec<String> {
    let mut args = user_args.to_vec();
    for backend in BACKENDS.iter().filter(|b| **b != keep) {
        args.extend(["--skip".to_owned(), format!("{backend}::")]);
    }
    args
}

/// `cargo +nightly miri test -p {packages} {targets} -- {test_args}` with
/// the flags for `seed`.
fn miri_test(seed: u64, packages: &[String], targets: &[String], test_args: &[String]) -> Command {
    let mut cmd = nightly::cargo();
    cmd.args(["miri", "test"]);
    for package in packages {
        cmd.args(["--package", package]);
    }
    cmd.args(targets)
        .arg("--")
        .args(test_args)
        .env("CARGO_TARGET_DIR", project_root().join("target/miri"))
        .env_append(
            "MIRIFLAGS",
            &format!("-Zmiri-strict-provenance -Zmiri-disable-isolation -Zmiri-seed={seed}"),
        );
    cmd
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_two_seeds_cover_every_queue() {
        // BACKENDS is the facade's order: crossbeam, mutex, flume.
        assert_eq!([conformance_queue(0), other_tests_backend(0)], ["tiny", "flume"]);
        assert_eq!([conformance_queue(1), other_tests_backend(1)], ["crossbeam", "mutex"]);
        let mut covered: Vec<_> =
            (0..2).flat_map(|s| [conformance_queue(s), other_tests_backend(s)]).collect();
        covered.sort_unstable();
        let mut every: Vec<_> = BACKENDS.iter().copied().chain([TINY]).collect();
        every.sort_unstable();
        assert_eq!(covered, every);
    }

    #[test]
    fn twelve_seeds_pair_every_queue_with_every_seed_class() {
        let pairs: std::collections::HashSet<_> =
            (0..12).map(|s| (conformance_queue(s), other_tests_backend(s))).collect();
        assert_eq!(pairs.len(), 12);
    }
}
