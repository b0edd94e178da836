//! `cargo xtask tsan`: being written (see the open issues).

/// Arguments of `cargo xtask tsan`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("cargo xtask tsan is not written yet")
}
