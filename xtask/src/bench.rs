//! `cargo xtask bench`: builds the `bench` crate in release and runs it.
//!
//! The benchmark lives in its own crate (`xtask/bench`) because `cargo xtask`
//! builds this one in debug, and because tokio, async-executor and the
//! reporting crates must stay out of everything but that crate. Every
//! argument goes through unchanged: `cargo xtask bench --help` lists them,
//! `--queue PATH::Type --queue-path DIR` (bench your own queue) and
//! `--baseline REV` (revision REV's backends beside the current ones, built
//! by the bench itself in a git worktree under `target/bench-baseline/`)
//! included.

use crate::cmd::{Passthrough, run_release};

pub(crate) fn run(args: Passthrough) -> anyhow::Result<()> {
    run_release("bench", &args)
}
