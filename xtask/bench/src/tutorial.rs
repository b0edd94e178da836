//! `tutorial`: the tutorial's executor, kept as the baseline the scheduler must beat.
//!
//! One `flume` unbounded channel of [`Runnable`]s, drained by N threads that
//! each block in `recv()` and run what they get. Scheduling a task (spawning
//! it, or waking it, from anywhere, a task included) sends it into the channel.
//! Nothing else: no local queues, no parking protocol of its own.

use std::{fmt, future::Future, thread};

use async_task::Runnable;

/// What the worker threads receive: a task to poll, or the order to exit.
enum Message {
    Run(Runnable),
    Stop,
}

/// The spawning side: a clone of the channel's sender.
#[derive(Clone)]
pub struct TutorialSpawner {
    sender: flume::Sender<Message>,
}

impl fmt::Debug for TutorialSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TutorialSpawner").field("queued", &self.sender.len()).finish()
    }
}

impl TutorialSpawner {
    /// Spawns `future`: its first schedule (and every wake) sends it into the channel.
    pub fn spawn<F>(&self, future: F) -> async_task::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let sender = self.sender.clone();
        let schedule = move |runnable| {
            // Fails only once every worker has gone, at teardown: the task is
            // then dropped with the message, which cancels it.
            let _ = sender.send(Message::Run(runnable));
        };
        let (runnable, task) = async_task::spawn(future, schedule);
        runnable.schedule();
        task
    }
}

/// The executor: the channel and the threads draining it.
pub struct Tutorial {
    spawner: TutorialSpawner,
    threads: Vec<thread::JoinHandle<()>>,
}

impl fmt::Debug for Tutorial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tutorial").field("threads", &self.threads.len()).finish()
    }
}

impl Tutorial {
    /// Starts `workers` threads on a fresh channel.
    pub fn new(workers: usize) -> Self {
        let (sender, receiver) = flume::unbounded::<Message>();
        let threads = (0..workers)
            .map(|i| {
                let receiver = receiver.clone();
                thread::Builder::new()
                    .name(format!("tutorial-{i}"))
                    .spawn(move || {
                        while let Ok(Message::Run(runnable)) = receiver.recv() {
                            runnable.run();
                        }
                    })
                    .expect("could not start a tutorial worker thread")
            })
            .collect();
        Self { spawner: TutorialSpawner { sender }, threads }
    }

    /// A handle to spawn with.
    pub fn spawner(&self) -> TutorialSpawner {
        self.spawner.clone()
    }
}

impl Drop for Tutorial {
    fn drop(&mut self) {
        // Tasks still pending keep senders alive, so the channel may never
        // disconnect: tell each thread to stop instead.
        for _ in &self.threads {
            let _ = self.spawner.sender.send(Message::Stop);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
