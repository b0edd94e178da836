//! The nightly toolchain that `cargo xtask miri` and `cargo xtask tsan` run
//! on: `cargo +nightly`, and the rustup components they need, installed when
//! missing so that both work from a fresh clone.

use std::process::Command;

use anyhow::{Context, bail};

use crate::cmd::project_root;

/// The toolchain, as `cargo +{TOOLCHAIN}` and `rustup --toolchain` name it.
const TOOLCHAIN: &str = "nightly";

/// `cargo +nightly` in the workspace root. Runs the `cargo` proxy from
/// `PATH`, not `$CARGO` (which is the stable toolchain's cargo binary and
/// does not understand `+nightly`).
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(project_root()).arg(format!("+{TOOLCHAIN}"));
    // Variables that pin the stable toolchain would override `+nightly`.
    cmd.env_remove("RUSTC").env_remove("RUSTDOC").env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

/// Makes sure the nightly toolchain and its `components` are installed,
/// installing whatever is missing with rustup (after one line that says
/// what). Returns `false`, having said so, if something is missing and
/// `skip_if_missing` asks to skip `tool` rather than install it.
pub(crate) fn ensure(tool: &str, components: &[&str], skip_if_missing: bool) -> anyhow::Result<bool> {
    let install = match installed_components()? {
        Some(installed) => {
            let missing = missing(&installed, components);
            if missing.is_empty() {
                return Ok(true);
            }
            let what = format!("nightly component(s) {}", missing.join(", "));
            let mut cmd = rustup(&["component", "add", "--toolchain", TOOLCHAIN]);
            cmd.args(&missing);
            (what, cmd)
        }
        None => {
            let what = format!("the nightly toolchain, with {}", components.join(", "));
            let mut cmd = rustup(&["toolchain", "install", TOOLCHAIN, "--profile", "minimal"]);
            for component in components {
                cmd.args(["--component", component]);
            }
            (what, cmd)
        }
    };
    let (what, mut cmd) = install;
    let command_line = shell_line(&cmd);
    if skip_if_missing {
        eprintln!(
            "cargo xtask {tool}: skipped (--skip-if-missing): missing {what}; `{command_line}` installs it"
        );
        return Ok(false);
    }
    eprintln!("cargo xtask {tool}: installing {what}: {command_line}");
    let installed = cmd.status().is_ok_and(|status| status.success());
    if !installed {
        bail!(
            "cargo xtask {tool} needs {what}, and installing it failed: run `{command_line}`, then try again"
        );
    }
    Ok(true)
}

/// The components the nightly toolchain has, one per line as rustup lists
/// them; `None` if the toolchain is not installed.
fn installed_components() -> anyhow::Result<Option<String>> {
    let output = rustup(&["component", "list", "--installed", "--toolchain", TOOLCHAIN])
        .output()
        .context("cargo xtask miri and tsan need rustup (https://rustup.rs) to find the nightly toolchain")?;
    Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// The `components` not in `installed`: rustup's list, where a component
/// built for the host carries its triple (`miri-x86_64-unknown-linux-gnu`)
/// and one for any target does not (`rust-src`). The host triple is the one
/// `rustc` carries, which every toolchain has.
fn missing<'a>(installed: &str, components: &[&'a str]) -> Vec<&'a str> {
    let lines: Vec<&str> = installed.lines().map(str::trim).collect();
    let host = lines.iter().find_map(|line| line.strip_prefix("rustc-")).unwrap_or("");
    let has = |component: &str| lines.iter().any(|l| *l == component || *l == format!("{component}-{host}"));
    components.iter().copied().filter(|c| !has(c)).collect()
}

fn rustup(args: &[&str]) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(args);
    cmd
}

/// `cmd` as one would type it (its arguments need no quoting here).
fn shell_line(cmd: &Command) -> String {
    let words = std::iter::once(cmd.get_program()).chain(cmd.get_args());
    words.map(|w| w.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rustup component list --installed` printed on this machine,
    /// before and after `rustup component add miri rust-src`.
    const BEFORE: &str = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n\
                          rust-docs-x86_64-unknown-linux-gnu\nrust-std-x86_64-unknown-linux-gnu\n\
                          rustc-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n";
    const AFTER: &str = "cargo-x86_64-unknown-linux-gnu\nclippy-x86_64-unknown-linux-gnu\n\
                         miri-x86_64-unknown-linux-gnu\nrust-docs-x86_64-unknown-linux-gnu\nrust-src\n\
                         rust-std-x86_64-unknown-linux-gnu\nrustc-x86_64-unknown-linux-gnu\n\
                         rustfmt-x86_64-unknown-linux-gnu\n";

    #[test]
    fn missing_components_are_found_by_name_with_or_without_a_target() {
        assert_eq!(missing(BEFORE, &["miri", "rust-src"]), ["miri", "rust-src"]);
        assert_eq!(missing(AFTER, &["miri", "rust-src"]), Vec::<&str>::new());
        // `rust` is not `rust-std` or `rust-src`, nor `rustc` `rust`.
        assert_eq!(missing(AFTER, &["rustc", "rust"]), ["rust"]);
        assert_eq!(missing("rust-src\n", &["rust-std", "rust-src"]), ["rust-std"]);
    }

    #[test]
    fn the_install_command_is_printed_as_typed() {
        let mut cmd = rustup(&["component", "add", "--toolchain", TOOLCHAIN]);
        cmd.args(["miri", "rust-src"]);
        assert_eq!(shell_line(&cmd), "rustup component add --toolchain nightly miri rust-src");
    }
}
