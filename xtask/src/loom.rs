//! `cargo xtask loom`: being written (see the open issues).

/// Arguments of `cargo xtask loom`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask loom is not written yet")
}
