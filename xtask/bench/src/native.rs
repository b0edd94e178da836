//! The backends on the runtime's own sockets: a second build of this crate,
//! with its feature `native` (runtime-core's `net` and `hyper`) instead of
//! `async-io`, whose backends a run hosts as `flume/native`,
//! `crossbeam/native`, … for the I/O rows, beside the same backends on
//! async-net.
//!
//! One binary cannot hold both: with runtime-core's `net` on, idle workers
//! wait in the runtime's own driver, and async-io's reactor would run on
//! async-io's own thread instead of the workers ("Which reactor" in
//! runtime-core's `idle.rs`), so the async-net rows would no longer measure
//! what a user of feature `io` alone gets. So each stack is measured in the
//! build a user would have, each contender in its own processes (the child
//! protocol of `serve`/`remote`, as `--baseline` uses it), interleaved
//! round by round in one run.
//!
//! The build has a target directory of its own (`target/bench-native`): in
//! the shared one, the second build's `bench` binary would replace the
//! first's. The first run compiles the dependencies once more; later ones
//! reuse them.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};

use crate::{
    protocol::{Hello, VERSION},
    remote,
};

/// What the labels of the native build's contenders end with.
pub const SUFFIX: &str = "/native";

/// The native build of this tree's bench.
#[derive(Debug, Clone, PartialEq)]
pub struct Native {
    /// Its bench binary.
    pub exe: PathBuf,
    /// What that binary can run.
    pub hello: Hello,
}

/// Whether this binary is the native build.
pub const THIS_IS_NATIVE: bool = cfg!(feature = "native");

/// Builds the bench of the workspace at `root` with feature `native`, in
/// `target/bench-native`, and asks it what it runs.
pub fn prepare(root: &Path) -> anyhow::Result<Native> {
    let target = root.join("target").join("bench-native");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--release",
            "--package",
            "bench",
            "--bin",
            "bench",
            "--no-default-features",
            "--features",
            "native",
        ])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target);
    eprintln!("bench: building the native-sockets bench (--no-native skips it)\n$ {build:?}");
    let status = build.status().with_context(|| format!("could not start {build:?}"))?;
    if !status.success() {
        bail!("the bench with feature `native` did not build ({status}); see above, or pass --no-native");
    }
    let exe = target.join("release").join("bench");
    let hello = remote::hello_of(&exe).context("the native bench does not say what it runs")?;
    if hello.protocol != VERSION {
        bail!("the native bench speaks protocol {}, this one {VERSION}", hello.protocol);
    }
    Ok(Native { exe, hello })
}
