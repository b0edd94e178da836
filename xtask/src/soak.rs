//! `cargo xtask soak`: being written (see the open issues).

/// Arguments of `cargo xtask soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask soak is not written yet")
}
