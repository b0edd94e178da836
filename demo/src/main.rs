//! `cargo run -p demo`: the runtime's scenes, on any queue backend.
//!
//! The scenes are generic over the [`Queue`](runtime_core::Queue) type;
//! `main` parses the flags and dispatches once, on the backend chosen with
//! `--queue` among those compiled in (features `flume`, `crossbeam`, `mutex`,
//! `all-queues`). Run `cargo run -p demo -- --help` for everything else.
// Without any backend feature there is nothing to run the scenes on: the
// binary still builds, and says which feature to enable.
#![cfg_attr(
    not(any(feature = "flume", feature = "crossbeam", feature = "mutex")),
    allow(dead_code, unused_variables)
)]

mod backend;
mod cli;
mod report;
mod scenes;
mod settings;

use std::process::ExitCode;

use crate::{backend::Backend, cli::Cli, settings::Settings};

fn main() -> ExitCode {
    match run(cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let backend = Backend::choose(cli.queue)?;
    let scene = cli.scene.unwrap_or(cli::Scene::Tour);
    let settings = Settings { workers: cli.workers, verbose: cli.verbose };
    match backend {
        #[cfg(feature = "flume")]
        Backend::Flume => scenes::run::<queue_flume::FlumeQueue>(backend, scene, &settings),
        #[cfg(feature = "crossbeam")]
        Backend::Crossbeam => scenes::run::<queue_crossbeam::CrossbeamQueue>(backend, scene, &settings),
        #[cfg(feature = "mutex")]
        Backend::Mutex => scenes::run::<queue_mutex::MutexQueue>(backend, scene, &settings),
        // `choose` only returns compiled-in backends; this arm is unreachable
        // exactly when every backend is.
        #[allow(unreachable_patterns)]
        other => Err(backend::NotCompiledIn(Some(other)).into()),
    }
}
