//! `cargo xtask miri`: being written (see the open issues).

/// Arguments of `cargo xtask miri`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask miri is not written yet")
}
