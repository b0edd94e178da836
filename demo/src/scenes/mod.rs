//! The scenes, each generic over the queue backend `Q`, one module each.

mod background;
mod blocking;
mod echo;
mod http;
mod panic;
mod priorities;
mod stealing;
mod tutorial;

use anyhow::Context as _;
use runtime_core::Queue;

use crate::{backend::Backend, cli::Scene, report, settings::Settings};

/// Prints what this run is on, then runs `scene` (every scene for the tour).
pub fn run<Q: Queue>(backend: Backend, scene: Scene, settings: &Settings) -> anyhow::Result<()> {
    // Building one runtime up front checks the settings (a bad `--workers`
    // or `RUNTIME_WORKER_THREADS`) before anything runs, and tells us the
    // worker count the defaults resolve to.
    let workers = settings.runtime::<Q>()?.metrics().worker_threads;
    let others: Vec<_> = Backend::compiled_in().filter(|b| *b != backend).map(Backend::name).collect();
    let others =
        if others.is_empty() { String::new() } else { format!(" (also compiled in: {})", others.join(", ")) };
    println!("queue backend: {backend}{others}");
    println!("worker threads: {workers}");
    let scenes: &[Scene] = if scene == Scene::Tour { &Scene::TOUR } else { &[scene] };
    for &scene in scenes {
        run_one::<Q>(scene, settings).with_context(|| format!("scene `{}`", scene.name()))?;
    }
    Ok(())
}

fn run_one<Q: Queue>(scene: Scene, settings: &Settings) -> anyhow::Result<()> {
    report::heading(scene.name(), scene.tagline());
    let metrics = match scene {
        Scene::Tour => unreachable!("the tour is expanded by `run`"),
        Scene::Tutorial => tutorial::run::<Q>(settings)?,
        Scene::Priorities => priorities::run::<Q>(settings)?,
        Scene::Stealing => stealing::run::<Q>(settings)?,
        Scene::Background => background::run::<Q>(settings)?,
        Scene::Echo => echo::run::<Q>(settings)?,
        Scene::Http => http::run::<Q>(settings)?,
        Scene::Panic => panic::run::<Q>(settings)?,
        Scene::Blocking => blocking::run::<Q>(settings)?,
    };
    report::summary(&metrics);
    Ok(())
}
