//! The contenders by name: this runtime on each backend, then the
//! references (tokio, async-executor, `tutorial`); and [`Contender`], one
//! started contender behind the [`Job`] / [`Outcome`] interface that its
//! process serves (see `serve`).
//!
//! A contender is a runner (`adapters`) and, for the I/O rows, a network
//! stack (`net`), put together in a [`Harness`]: tokio on `tokio::net`,
//! everyone else on `async-net`. Adding a contender is one arm in
//! [`start`] and its name in [`REFERENCES`] (or, for this runtime, a
//! backend in the `backends` crate). In a build with this crate's feature
//! `native` the backends run on the runtime's own sockets (`NativeNet`);
//! a run hosts that build's backends as `flume/native` and so on, in that
//! binary's processes (`native.rs`).

use std::{marker::PhantomData, sync::OnceLock, time::Duration};

use anyhow::bail;

use crate::{
    adapters::{AsyncExecutor, Ours, Park, Tokio, TutorialRunner},
    io_workloads::{self, IoSetup},
    net::{AsyncNet, NetStack, TokioNet},
    protocol::{Job, Outcome, Role},
    runner::Runner,
    tutorial::Tutorial,
    wake,
    window::Window,
    workload::Kind,
    workloads,
};

/// The contenders beside this runtime, in the order of the table's columns.
pub const REFERENCES: [&str; 3] = ["tokio", "async-executor", "tutorial"];

/// The contender every ratio is taken against.
pub const REFERENCE: &str = "tokio";

/// Other names the command line accepts for a contender: `seed` is what
/// `tutorial` used to be called.
pub const ALIASES: [(&str, &str); 1] = [("seed", "tutorial")];

/// A user's queue, run as one more contender (see [`add_queue`]).
struct Extra {
    name: &'static str,
    start: fn(usize) -> Box<dyn Contender>,
}

/// Set at most once, before anything runs, by [`crate::main_with_queue`].
static EXTRA: OnceLock<Extra> = OnceLock::new();

/// Adds this runtime on the queue `Q` as a contender called `name`, after the
/// built-in backends. Once per process, before anything runs.
pub fn add_queue<Q: runtime_core::Queue>(name: &str) -> anyhow::Result<()> {
    let name = name.trim();
    if name.is_empty() || name.contains(',') || name.contains('@') {
        bail!("--queue: {name:?} cannot name a contender (it must be non-empty, without commas or @)");
    }
    if names().contains(&name) || ALIASES.iter().any(|(alias, _)| *alias == name) {
        bail!("--queue: {name:?} is already a contender's name; valid contenders: {}", names().join(", "));
    }
    // Leaked once: every name in the registry is a `&'static str`.
    let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
    let extra = Extra {
        name,
        start: |workers| Box::new(Harness::<_, AsyncNet>::new(Ours::<Q>::new(workers), workers)),
    };
    if EXTRA.set(extra).is_err() {
        bail!("a queue was already added to this benchmark: one --queue per run");
    }
    Ok(())
}

/// The name of the user's queue, if one was added.
pub fn extra_name() -> Option<&'static str> {
    EXTRA.get().map(|extra| extra.name)
}

/// This runtime's contenders: each backend, then the user's queue if any.
pub fn backend_names() -> Vec<&'static str> {
    let mut names = backends::BACKENDS.to_vec();
    names.extend(extra_name());
    names
}

/// Every contender, in the order of the table's columns.
pub fn names() -> Vec<&'static str> {
    let mut names = backend_names();
    names.extend(REFERENCES);
    names
}

/// A started contender; see the module docs.
pub trait Contender {
    /// Runs `job`. A failure is an [`Outcome::Failed`] that says why.
    fn run(&self, job: &Job) -> Outcome;
}

/// Starts contender `name` with `workers` worker threads, for `role`;
/// `None` if there is no contender of that name.
pub fn start(name: &str, workers: usize, role: Role) -> Option<Box<dyn Contender>> {
    if let Some(extra) = EXTRA.get().filter(|extra| extra.name == name) {
        return Some((extra.start)(workers));
    }
    // A `native` build runs the backends on the runtime's own sockets.
    #[cfg(not(feature = "native"))]
    let ours = backends::with_backend!(name, |Q| {
        Box::new(Harness::<_, AsyncNet>::new(Ours::<Q>::new(workers), workers)) as Box<dyn Contender>
    });
    #[cfg(feature = "native")]
    let ours = backends::with_backend!(name, |Q| {
        Box::new(Harness::<_, crate::net::NativeNet>::new(Ours::<Q>::new(workers), workers))
            as Box<dyn Contender>
    });
    ours.or_else(|| {
        let started: Box<dyn Contender> = match name {
            "tokio" => Box::new(Harness::<_, TokioNet>::new(Tokio::new(workers), workers)),
            "async-executor" => {
                // For the I/O rows its threads drive async-io's reactor while idle.
                let park = if role == Role::Io { Park::Reactor } else { Park::Plain };
                Box::new(Harness::<_, AsyncNet>::new(AsyncExecutor::new(workers, park), workers))
            }
            "tutorial" => {
                Box::new(Harness::<_, AsyncNet>::new(TutorialRunner(Tutorial::new(workers)), workers))
            }
            _ => return None,
        };
        Some(started)
    })
}

/// A runner, its worker count, and the network stack of its I/O rows.
struct Harness<R, N> {
    runner: R,
    workers: usize,
    net: PhantomData<fn() -> N>,
}

impl<R, N> Harness<R, N> {
    fn new(runner: R, workers: usize) -> Self {
        Self { runner, workers, net: PhantomData }
    }
}

impl<R: Runner, N: NetStack> Contender for Harness<R, N> {
    fn run(&self, job: &Job) -> Outcome {
        let (rt, workers) = (&self.runner, self.workers);
        if let Some(workload) = job.workload() {
            let fits = match job {
                Job::Time { .. } => Kind::Time,
                Job::Wake { .. } => Kind::Wake,
                Job::Io { .. } => Kind::Io,
                Job::Park { .. } => Kind::Memory,
            };
            if workload.kind() != fits {
                return failed(format!("{} is not a {fits:?} workload", workload.name()));
            }
        }
        match job {
            Job::Time { workload, sizes, iters } => {
                let elapsed = workloads::sample(rt, workers, *workload, sizes, *iters);
                Outcome::Elapsed { ns: elapsed.as_nanos() as u64 }
            }
            Job::Wake { workload, sizes, millis } => {
                match wake::sample(rt, workers, *workload, sizes, Duration::from_millis(*millis)) {
                    Ok(sample) => Outcome::Wake(sample),
                    Err(e) => failed(format!("{e:#}")),
                }
            }
            Job::Io { workload, sizes, millis, loadgen, perf } => {
                let mut window = Window::new(perf.clone());
                let setup = IoSetup { loadgen: loadgen.as_deref(), window: &mut window };
                match io_workloads::sample::<R, N>(
                    rt,
                    *workload,
                    sizes,
                    Duration::from_millis(*millis),
                    setup,
                ) {
                    Ok(sample) => Outcome::Io(sample),
                    Err(e) => failed(format!("{e:#}")),
                }
            }
            Job::Park { tasks } => Outcome::Parked(workloads::park(rt, *tasks)),
        }
    }
}

fn failed(error: String) -> Outcome {
    Outcome::Failed { error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Sizes, Workload};

    /// Whether a test can run `workload` here: all but memory (a `Park`
    /// job, checked apart) and `http_plaintext` (which needs this binary as
    /// its load generator).
    fn in_process(workload: Workload) -> bool {
        !matches!(workload, Workload::Memory | Workload::HttpPlaintext)
    }

    fn job(workload: Workload, sizes: &Sizes) -> Job {
        let sizes = sizes.clone();
        match workload.kind() {
            Kind::Time => Job::Time { workload, sizes, iters: 1 },
            Kind::Wake => Job::Wake { workload, sizes, millis: 30 },
            Kind::Io => Job::Io { workload, sizes, millis: 50, loadgen: None, perf: None },
            Kind::Memory => Job::Park { tasks: 100 },
        }
    }

    /// Every contender runs every workload but `http_plaintext` (which needs
    /// this binary as its load generator: the bench's own runs check it), at
    /// its smallest size, to the end, with results to show for it.
    #[test]
    fn every_contender_runs_every_workload() {
        let sizes = Sizes::tiny();
        for name in names() {
            for (workers, role) in [(1, Role::Compute), (2, Role::Compute), (2, Role::Io)] {
                let contender = start(name, workers, role).unwrap();
                for workload in Workload::ALL.into_iter().filter(|w| in_process(*w)) {
                    if (role == Role::Io) != workload.is_io() {
                        continue;
                    }
                    let outcome = contender.run(&job(workload, &sizes));
                    let ok = match &outcome {
                        Outcome::Elapsed { ns } => *ns > 0,
                        Outcome::Wake(s) => s.measured > 0 && s.p999_ns >= s.p50_ns,
                        Outcome::Io(s) => s.rate > 0.0 && s.p99_ns >= s.p50_ns && s.cpu_ns > 0,
                        _ => false,
                    };
                    assert!(ok, "{name} ({workers} workers) on {}: {outcome:?}", workload.name());
                }
                if role == Role::Compute {
                    let outcome = contender.run(&Job::Park { tasks: 100 });
                    assert!(matches!(outcome, Outcome::Parked(r) if r.tasks == 100), "{name}: {outcome:?}");
                }
            }
        }
    }

    #[test]
    fn a_job_of_the_wrong_kind_fails_with_the_reason() {
        let contender = start("tokio", 1, Role::Compute).unwrap();
        let outcome =
            contender.run(&Job::Time { workload: Workload::TcpEcho, sizes: Sizes::tiny(), iters: 1 });
        assert!(
            matches!(&outcome, Outcome::Failed { error } if error.contains("tcp_echo is not a Time")),
            "{outcome:?}"
        );
        assert!(start("smol", 1, Role::Compute).is_none());
    }
}
