//! `cargo xtask loom`: runs runtime-core's loom models, in two sets:
//! - the *component* models next to the components (`src/tests/loom_*.rs`:
//!   `Idle`'s park against `notify_one`, `LifoSlot::replace` against `take`,
//!   `Registry::insert` against `close`), small enough for a higher
//!   preemption bound (`--component-preemptions`, default 4: about 30 s);
//! - the *whole-runtime* models of `tests/loom.rs`, through the public API,
//!   at a lower bound (`--preemptions`, default 2: a few minutes).
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
    /// Preemptions loom explores per interleaving of the whole-runtime
    /// models (`LOOM_MAX_PREEMPTIONS`). 2 covers their races in a few
    /// seconds each; 3 takes much longer.
    #[arg(long, default_value_t = 2)]
    preemptions: usize,
    /// Preemptions for the component models (`src/tests/loom_*.rs`): 3 takes
    /// about a second, 4 about 30 s, 5 about two minutes.
    #[arg(long, default_value_t = 4)]
    component_preemptions: usize,
    /// Extra arguments for both test binaries, after `--` (a test name
    /// filter, `--nocapture`, ...).
    #[arg(last = true)]
    test_args: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let sets: [(&[&str], usize); 2] =
        [(&["--lib", "tests::loom_"], args.component_preemptions), (&["--test", "loom"], args.preemptions)];
    for (target, preemptions) in sets {
        let mut cmd = cargo();
        cmd.args(["test", "--package", "runtime-core", "--release"])
            .args(target)
            .arg("--")
            .args(&args.test_args)
            .env_append("RUSTFLAGS", "--cfg loom")
            .env("CARGO_TARGET_DIR", project_root().join("target/loom"))
            .env("LOOM_MAX_PREEMPTIONS", preemptions.to_string())
            // Loom prints the interleaving of a failure when asked; a failure
            // without it is hard to read, so keep the backtrace short by default.
            .env_default("RUST_BACKTRACE", "0");
        run_checked(&mut cmd)?;
    }
    eprintln!(
        "loom models passed in {:.1?} (components at LOOM_MAX_PREEMPTIONS={}, whole runtime at {})",
        start.elapsed(),
        args.component_preemptions,
        args.preemptions
    );
    Ok(())
}
