//! `--baseline REV`: revision REV of this repository, checked out clean in
//! a git worktree under `target/bench-baseline/` (`git worktree add
//! --detach`), its bench built in release, and its backends run as extra
//! contenders (`flume@abc1234`, …) beside the current ones.
//!
//! Two versions of runtime-core cannot share one binary's `Queue` trait,
//! so the baseline's contenders run in the baseline's own bench binary,
//! as child processes (`protocol`), exactly as the current ones run in
//! this one's: the same jobs with the same sizes, interleaved round by
//! round in one run. REV must have that protocol (`xtask/bench/src/serve.rs`);
//! an older revision is refused with what it lacks.
//!
//! The build has a target directory of its own, in the worktree: cargo
//! names a workspace crate's artifacts by its path relative to the
//! workspace root, so the baseline's runtime-core and the current one would
//! overwrite each other in a shared directory, and a stale artifact could
//! pass for a fresh one. The first `--baseline` run of a revision compiles
//! its dependencies; later ones reuse them.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

use crate::{
    protocol::{Hello, VERSION},
    remote,
    results::BaselineInfo,
};

/// The file whose presence in a revision says it has the child protocol.
pub const PROTOCOL_FILE: &str = "xtask/bench/src/serve.rs";

/// A built baseline revision.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// Its revision and commit.
    pub info: BaselineInfo,
    /// Its bench binary.
    pub exe: PathBuf,
    /// What that binary can run.
    pub hello: Hello,
}

/// Resolves `rev` in the repository at `root`, checks it has the protocol,
/// checks it out and builds it (see the module docs).
pub fn prepare(rev: &str, root: &Path) -> anyhow::Result<Baseline> {
    let commit = git(root, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .with_context(|| {
            format!("--baseline {rev}: not a revision of the repository at {}", root.display())
        })?;
    let short = git(root, &["rev-parse", "--short=10", &commit])?;
    let named = format!("--baseline {rev} ({short})");
    if git(root, &["cat-file", "-e", &format!("{commit}:{PROTOCOL_FILE}")]).is_err() {
        let added = git(root, &["log", "--diff-filter=A", "--format=%h", "--reverse", "--", PROTOCOL_FILE])
            .ok()
            .and_then(|log| log.lines().next().map(str::to_owned));
        let since = added
            .map_or(String::new(), |c| format!(" (it was added in {c}: pick that revision or a later one)"));
        bail!(
            "{named}: this revision's bench has no child-process protocol (no {PROTOCOL_FILE}, \
             no `__serve`), which --baseline needs to run its backends beside the current ones{since}"
        );
    }

    let dir = root.join("target").join("bench-baseline").join(&short);
    // Reused if it is that commit, unchanged (its target/ is ignored).
    let checked_out = git(&dir, &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit)
        && git(&dir, &["status", "--porcelain"]).is_ok_and(|s| s.is_empty());
    if !checked_out {
        // Forget worktrees whose directories are gone (a `cargo clean`).
        git(root, &["worktree", "prune"])?;
        if dir.exists() {
            let _ = git(root, &["worktree", "remove", "--force", &dir.to_string_lossy()]);
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("could not remove {}", dir.display()))?;
            }
        }
        eprintln!("bench: checking out {short} in {}", dir.display());
        git(root, &["worktree", "add", "--detach", &dir.to_string_lossy(), &commit])
            .with_context(|| format!("{named}: could not check it out"))?;
    }

    let target = dir.join("target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--locked", "--package", "bench", "--bin", "bench"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target);
    eprintln!("bench: building {short}'s bench\n$ {build:?}");
    let status = build.status().with_context(|| format!("could not start {build:?}"))?;
    if !status.success() {
        bail!("{named}: its bench did not build ({status}); see above");
    }
    let exe = target.join("release").join("bench");

    let hello =
        remote::hello_of(&exe).with_context(|| format!("{named}: its bench does not say what it runs"))?;
    if hello.protocol != VERSION {
        bail!(
            "{named}: its bench speaks protocol {}, this one {VERSION}; pick a revision with the same",
            hello.protocol
        );
    }
    let suffix = format!("@{}", &short[..short.len().min(7)]);
    Ok(Baseline { info: BaselineInfo { rev: rev.to_owned(), commit, suffix }, exe, hello })
}

/// Runs `git args` in `dir`; its trimmed stdout, or an error with its stderr.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("could not run git in {}", dir.display()))?;
    if !output.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revision_that_is_not_one_is_a_clear_error() {
        let err = prepare("no-such-rev-anywhere", &crate::root()).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("--baseline no-such-rev-anywhere: not a revision"), "{err}");
    }

    /// The commit this harness's tree started from has no protocol: the
    /// error names it and what it lacks, before anything is built.
    #[test]
    fn a_revision_without_the_protocol_is_refused_by_name() {
        let root = crate::root();
        // The oldest commit of the repository has no bench protocol.
        let Ok(first) = git(&root, &["rev-list", "--max-parents=0", "HEAD"]) else {
            eprintln!("skipped: not in a git checkout");
            return;
        };
        let first = first.lines().next().unwrap().to_owned();
        let err = format!("{:#}", prepare(&first, &root).unwrap_err());
        assert!(err.contains(&format!("--baseline {first}")), "{err}");
        assert!(err.contains("no child-process protocol") && err.contains(PROTOCOL_FILE), "{err}");
    }
}
