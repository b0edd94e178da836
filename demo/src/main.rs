//! `cargo run -p demo`: the runtime's scenes, on any queue backend.
//!
//! The scenes are generic over the [`Queue`](runtime_core::Queue) type;
//! `main` parses the flags and dispatches once, through
//! [`pluggable_runtime::backends::with_backend`], on the backend chosen with
//! `--queue` among those compiled in (features `flume`, `crossbeam`, `mutex`,
//! `all-queues`). Without any backend the binary still builds, and says which
//! feature to enable. Run `cargo run -p demo -- --help` for everything else.

mod backend;
mod cli;
mod report;
mod scenes;
mod settings;

use std::process::ExitCode;

use pluggable_runtime::backends::{self, WithQueue};
use runtime_core::Queue;

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
    let run = RunScene { backend, scene, settings };
    // `choose` only returns compiled-in backends, which `with_backend` knows.
    backends::with_backend(backend.name(), run)
        .unwrap_or_else(|| Err(backend::NotCompiledIn(Some(backend)).into()))
}

/// The scene to run, once the queue type is known.
struct RunScene {
    backend: Backend,
    scene: cli::Scene,
    settings: Settings,
}

impl WithQueue for RunScene {
    type Output = anyhow::Result<()>;

    fn call<Q: Queue>(self) -> Self::Output {
        scenes::run::<Q>(self.backend, self.scene, &self.settings)
    }
}
