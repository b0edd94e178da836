//! Building and running the child commands every xtask command starts: cargo
//! in the workspace root, environment settings that keep the user's own, and
//! the tools that live in crates of their own (`bench`, `soak`).

use std::{env, ffi::OsString, path::PathBuf, process::Command};

use anyhow::{Context, bail};

/// The workspace root (the parent of this crate's directory).
pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// A `cargo` command (the one running us, per `$CARGO`) in the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(project_root());
    cmd
}

/// Runs `cmd`, failing with the command line if it does not succeed.
pub(crate) fn run_checked(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// Environment settings for a child that keep what the user set.
pub(crate) trait EnvExt {
    /// Sets `var` to `ours` appended to the user's value (space-separated,
    /// as `RUSTFLAGS`, `MIRIFLAGS` and `TSAN_OPTIONS` take them), or to
    /// `ours` alone if the user set none.
    fn env_append(&mut self, var: &str, ours: &str) -> &mut Self;

    /// Sets `var` to `default` unless the user set it.
    fn env_default(&mut self, var: &str, default: &str) -> &mut Self;
}

impl EnvExt for Command {
    fn env_append(&mut self, var: &str, ours: &str) -> &mut Self {
        match env::var(var) {
            Ok(theirs) if !theirs.trim().is_empty() => self.env(var, format!("{theirs} {ours}")),
            _ => self.env(var, ours),
        }
    }

    fn env_default(&mut self, var: &str, default: &str) -> &mut Self {
        if env::var_os(var).is_none() { self.env(var, default) } else { self }
    }
}

/// Arguments handed unchanged to a tool's own binary, `--help` included.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub(crate) struct Passthrough {
    /// Arguments for the tool (its `--help` lists them).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Builds `package` in release and runs its binary with `args`. If it fails,
/// exits with its exit code: it has already said what went wrong, and a
/// second message with a backtrace would only bury that.
pub(crate) fn run_release(package: &str, args: &Passthrough) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", package, "--"]).args(&args.args);
    eprintln!("$ {cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
