//! The command line: flags, scenes, and the help text that documents features.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::backend::Backend;

/// Scenes from a multi-threaded async runtime whose task queue is a plug-in.
///
/// With no scene, runs the tour: every scene in turn, in a few seconds.
#[derive(Debug, Parser)]
#[command(name = "demo", version)]
pub struct Cli {
    /// The queue backend to run on, among those compiled in (see Features
    /// below). Default: the first compiled in of crossbeam, mutex, flume
    /// (pluggable_runtime::DefaultQueue's order).
    #[arg(long, short, value_enum, value_name = "NAME", global = true)]
    pub queue: Option<Backend>,

    /// Worker threads, 1 to 1024. Default: $RUNTIME_WORKER_THREADS, else one
    /// per CPU. (The `priorities` scene always uses one.)
    #[arg(long, short, value_name = "N", global = true)]
    pub workers: Option<usize>,

    /// Print the `tutorial` scene's per-poll trace ("Received runnable").
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// The scene to run (default: tour).
    #[command(subcommand)]
    pub scene: Option<Scene>,
}

/// One scene of the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Scene {
    /// Every scene below, in turn (the default).
    Tour,
    /// The tutorial program this project grew from, on this runtime.
    ///
    /// A `spawn_task` function over a global `static` `LazyLock` runtime, and
    /// an `ExternalCall` future that wakes itself five times and is ready on
    /// its sixth poll. `--verbose` adds the per-poll "Received runnable" trace.
    // `seed` was this scene's name; the hidden alias keeps old command lines working.
    #[command(alias = "seed")]
    Tutorial,
    /// High-priority tasks run first; Low ones still progress.
    ///
    /// On one worker: a burst of interleaved Low and High tasks runs High
    /// first; then one Low task keeps getting turns under a stream of High work.
    /// On two workers: how long High tasks wait to start while Low tasks block,
    /// without and with a worker reserved for High work.
    Priorities,
    /// Tasks spawned on one worker are run by all of them.
    ///
    /// A task spawns 400 tasks onto its worker's local queue; idle siblings
    /// steal them. Prints per-worker counts and the steal count.
    Stealing,
    /// A timer task ticks in the background, and stops at shutdown.
    ///
    /// It ticks on the runtime's own timers (`runtime_core::time`) while
    /// foreground jobs run, and is dropped cleanly when the runtime shuts down.
    Background,
    /// A TCP echo server and a few hundred clients on one runtime.
    ///
    /// The runtime's own sockets (`runtime_core::net`) on 127.0.0.1 (an
    /// ephemeral port), 200 client tasks, 1000 requests. Prints requests
    /// served, the p50 and p99 round trip, and what the I/O driver did.
    Echo,
    /// A hyper server and its clients on the runtime's own sockets, no adaptor.
    ///
    /// A hyper 1.x "Hello, World!" server and 32 keep-alive hyper clients,
    /// 6400 requests on 127.0.0.1. Prints requests/s, the p50 and p99 of a
    /// request, and readiness events per request.
    Http,
    /// A task panics; the runtime carries on.
    ///
    /// The awaiter of the panicked task sees the panic, the worker survives,
    /// and more tasks run after it.
    Panic,
    /// A task that blocks in its poll stalls nothing; `spawn_blocking` does it right.
    ///
    /// A task sleeps 300 ms inside its poll while 100 small tasks spawned
    /// around it still run at once (the worst wait is printed): the stall
    /// watcher reports it (`on_stall`: task id, spawn location, how long)
    /// and counts it (`Metrics::stalls`). Then the same sleep through
    /// `spawn_blocking`, on the blocking pool: no stall.
    Blocking,
}

impl Scene {
    /// The scenes the tour runs, in order.
    pub const TOUR: [Scene; 8] = [
        Scene::Tutorial,
        Scene::Priorities,
        Scene::Stealing,
        Scene::Background,
        Scene::Echo,
        Scene::Http,
        Scene::Panic,
        Scene::Blocking,
    ];

    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Scene::Tour => "tour",
            Scene::Tutorial => "tutorial",
            Scene::Priorities => "priorities",
            Scene::Stealing => "stealing",
            Scene::Background => "background",
            Scene::Echo => "echo",
            Scene::Http => "http",
            Scene::Panic => "panic",
            Scene::Blocking => "blocking",
        }
    }

    /// What the scene shows, for its heading.
    pub fn tagline(self) -> &'static str {
        match self {
            Scene::Tour => "every scene in turn",
            Scene::Tutorial => "the tutorial program, on this runtime",
            Scene::Priorities => "High runs first, Low still progresses; a reserved High lane",
            Scene::Stealing => "tasks spawned on one worker, run by all",
            Scene::Background => "a timer task ticks while foreground work runs",
            Scene::Echo => "a TCP echo server and its clients on one runtime",
            Scene::Http => "a hyper server and its clients, on the runtime's own sockets",
            Scene::Panic => "a task panics; the runtime carries on",
            Scene::Blocking => "a task that blocks stalls nothing; spawn_blocking does it right",
        }
    }
}

const AFTER_HELP: &str = "\
Features (enable backends at build time; --queue chooses among those enabled):
  flume       queue-flume, a flume channel (default)
  crossbeam   queue-crossbeam, a crossbeam-channel channel
  mutex       queue-mutex, a Mutex<VecDeque>
  all-queues  all three

Examples:
  cargo run -p demo                                 the tour, on the default backend
  cargo run -p demo -- tutorial --verbose           one scene, with its trace
  cargo run -p demo -- stealing --workers 4
  cargo run -p demo --features crossbeam -- --queue crossbeam
  cargo run -p demo --features all-queues -- echo --queue mutex";

/// Parses the command line (exiting with clap's usual errors on bad flags),
/// with a help epilogue that says which backends this build has.
pub fn parse() -> Cli {
    let have: Vec<_> = Backend::compiled_in().map(Backend::name).collect();
    let note = if have.is_empty() {
        "This build has no backend: enable one of the features above.".to_owned()
    } else {
        format!("This build has: {}.", have.join(", "))
    };
    let matches = Cli::command().after_help(format!("{AFTER_HELP}\n\n{note}")).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_tour_covers_every_scene() {
        for scene in Scene::TOUR {
            assert_ne!(scene, Scene::Tour);
        }
        assert_eq!(Scene::TOUR.len(), 8);
    }
}
