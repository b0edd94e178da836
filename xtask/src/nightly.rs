//! The nightly toolchain that `cargo xtask miri` and `cargo xtask tsan` run
//! on: `cargo +nightly`, and a check for the rustup components they need.

use std::process::Command;

use crate::cmd::project_root;

/// `cargo +nightly` in the workspace root. Runs the `cargo` proxy from
/// `PATH`, not `$CARGO` (which is the stable toolchain's cargo binary and
/// does not understand `+nightly`).
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(project_root()).arg("+nightly");
    // Variables that pin the stable toolchain would override `+nightly`.
    cmd.env_remove("RUSTC").env_remove("RUSTDOC").env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// Checks that the nightly toolchain and `components` are installed. If not,
/// says what is missing and exits with code 2, or returns `false` if
/// `skip_if_missing` asks to skip `tool` instead.
pub(crate) fn ensure(tool: &str, components: &[&str], skip_if_missing: bool) -> anyhow::Result<bool> {
    let Err(missing) = components_installed(components) else {
        return Ok(true);
    };
    let message = format!("cargo xtask {tool}: cannot run, missing {missing}");
    if skip_if_missing {
        eprintln!("{message}; skipped (--skip-if-missing)");
        Ok(false)
    } else {
        eprintln!("{message}");
        std::process::exit(2)
    }
}

/// Checks that the nightly toolchain and `components` are installed; `Err`
/// lists what is missing.
fn components_installed(components: &[&str]) -> Result<(), String> {
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
