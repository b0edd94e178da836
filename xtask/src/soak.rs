//! `cargo xtask soak`: builds the `soak` crate (`xtask/soak`) in release and
//! runs it: the randomized soak test, on every backend.
//!
//! Every argument goes through unchanged: `cargo xtask soak --help` lists
//! them (`--seconds`, `--backend`, `--seed` to replay a failure).

use crate::cmd::{Passthrough, run_release};

pub(crate) fn run(args: Passthrough) -> anyhow::Result<()> {
    run_release("soak", &args)
}
