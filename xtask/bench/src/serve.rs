//! The child side of `protocol`: a process that hosts one contender and
//! runs the jobs its parent sends, one at a time, in order.
//!
//! It exits as soon as its stdin closes, and right after a [`Job::Park`]
//! (a million pending tasks take a while to drop, and nobody would read the
//! result), without tearing the runtime down: the parent is done with it.

use std::io::{BufRead, Write};

use anyhow::{Context, anyhow, bail};

use crate::{
    contenders,
    protocol::{self, Hello, Job, Outcome, Role, SERVE_ARG, VERSION},
    workload::Workload,
};

/// What this binary can run.
pub fn hello() -> Hello {
    Hello {
        protocol: VERSION,
        contenders: contenders::names().iter().map(|n| n.to_string()).collect(),
        backends: contenders::backend_names().iter().map(|n| n.to_string()).collect(),
        workloads: Workload::names().iter().map(|n| n.to_string()).collect(),
    }
}

/// `HELLO_ARG`: prints [`hello`] and exits.
pub fn hello_main() -> anyhow::Result<()> {
    protocol::send(&mut std::io::stdout().lock(), &hello())
}

/// `SERVE_ARG CONTENDER WORKERS ROLE`: see the module docs.
pub fn main(args: &[String]) -> anyhow::Result<()> {
    let [name, workers, role] = args else {
        bail!("usage: bench {SERVE_ARG} CONTENDER WORKERS compute|io");
    };
    let workers: usize = workers.parse().with_context(|| format!("WORKERS: {workers:?} is not a number"))?;
    let role = Role::from_name(role).ok_or_else(|| anyhow!("ROLE: {role:?} is neither compute nor io"))?;
    let contender = contenders::start(name, workers, role).ok_or_else(|| {
        anyhow!("unknown contender {name:?}; valid contenders: {}", contenders::names().join(", "))
    })?;
    let mut out = std::io::stdout().lock();
    protocol::send(&mut out, &hello())?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading a job")?;
        let (outcome, last) = match protocol::parse::<Job>(&line, "job") {
            Ok(job) => (contender.run(&job), matches!(job, Job::Park { .. })),
            Err(e) => (Outcome::Failed { error: format!("{e:#}") }, false),
        };
        protocol::send(&mut out, &outcome)?;
        if last {
            break;
        }
    }
    out.flush()?;
    std::process::exit(0);
}
