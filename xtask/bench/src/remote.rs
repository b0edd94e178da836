//! The parent side of `protocol`: a contender in a child process, started
//! from this binary or a baseline revision's, sent one job at a time.
//!
//! Each job has a time limit: a child that does not answer in time is
//! killed and the job fails with the reason ("hung"), as does a child that
//! exits (its last lines of stderr say why). Either way the caller drops the
//! `Remote` and starts a fresh one for the next row; the run goes on.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::Duration,
};

use anyhow::{Context, anyhow, bail};

use crate::protocol::{self, Hello, Job, Outcome, Role, SERVE_ARG, VERSION};

/// How long a child may take to start its runtime and say hello.
const HELLO_LIMIT: Duration = Duration::from_secs(60);

/// Lines of a child's stderr kept for error messages.
const STDERR_LINES: usize = 12;

/// A contender in a child process; see the module docs.
#[derive(Debug)]
pub struct Remote {
    label: String,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// What the child said it can do.
    pub hello: Hello,
}

impl Remote {
    /// Starts `exe SERVE_ARG name workers role`, called `label` in errors,
    /// and waits for its hello.
    pub fn start(exe: &Path, name: &str, workers: usize, role: Role, label: &str) -> anyhow::Result<Self> {
        let mut child = Command::new(exe)
            .args([SERVE_ARG, name, &workers.to_string(), role.name()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("{label}: could not start {}", exe.display()))?;
        let stdin = child.stdin.take().expect("piped");
        let (send, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        thread::Builder::new().name(format!("bench-{label}-out")).spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        })?;
        let stderr: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let tail = stderr.clone();
        let child_stderr = BufReader::new(child.stderr.take().expect("piped"));
        thread::Builder::new().name(format!("bench-{label}-err")).spawn(move || {
            for line in child_stderr.lines().map_while(Result::ok) {
                let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                if tail.len() == STDERR_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        })?;
        let mut remote = Self { label: label.to_owned(), child, stdin, lines, stderr, hello: empty_hello() };
        let line = remote.answer(HELLO_LIMIT, "its hello")?;
        let hello: Hello = protocol::parse(&line, "hello")?;
        if hello.protocol != VERSION {
            bail!("{label}: its bench speaks protocol {}, this one {VERSION}", hello.protocol);
        }
        remote.hello = hello;
        Ok(remote)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs `job`, waiting `limit` at most for its outcome. A
    /// [`Outcome::Failed`] is an error too.
    pub fn run(&mut self, job: &Job, limit: Duration) -> anyhow::Result<Outcome> {
        protocol::send(&mut self.stdin, job).map_err(|e| self.gone(e))?;
        let line = self.answer(limit, "the job's outcome")?;
        match protocol::parse::<Outcome>(&line, "outcome")? {
            Outcome::Failed { error } => Err(anyhow!("{error}")),
            outcome => Ok(outcome),
        }
    }

    /// The next line from the child, within `limit`.
    fn answer(&mut self, limit: Duration, what: &str) -> anyhow::Result<String> {
        match self.lines.recv_timeout(limit) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                bail!(
                    "{}: no answer within {}s (waiting for {what}): it hung, and was killed{}",
                    self.label,
                    limit.as_secs_f64(),
                    self.stderr_tail()
                )
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(self.gone(anyhow!("its stdout closed"))),
        }
    }

    /// The error for a child that went away.
    fn gone(&mut self, cause: impl Into<anyhow::Error>) -> anyhow::Error {
        // Its stderr reader may still be draining the last lines.
        thread::sleep(Duration::from_millis(50));
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status.to_string(),
            _ => "still running".into(),
        };
        anyhow!("{}: the process exited ({status}; {}){}", self.label, cause.into(), self.stderr_tail())
    }

    fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends: {}", Vec::from(tail.clone()).join(" / "))
        }
    }
}

impl Drop for Remote {
    /// Kills the child: it holds no state worth a teardown.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn empty_hello() -> Hello {
    Hello { protocol: 0, contenders: Vec::new(), backends: Vec::new(), workloads: Vec::new() }
}

/// `exe HELLO_ARG`: what a bench binary can run, or why it cannot say.
pub fn hello_of(exe: &Path) -> anyhow::Result<Hello> {
    let output = Command::new(exe)
        .arg(protocol::HELLO_ARG)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {}", exe.display()))?;
    if !output.status.success() {
        bail!(
            "`{} {}` failed ({}): {}",
            exe.display(),
            protocol::HELLO_ARG,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    protocol::parse(&String::from_utf8_lossy(&output.stdout), "hello")
}

/// This binary, to re-run as a child: `/proc/self/exe` still runs it after a
/// concurrent build has replaced (deleted) the file at its path.
pub fn this_binary() -> anyhow::Result<PathBuf> {
    let proc_exe = PathBuf::from("/proc/self/exe");
    if proc_exe.exists() {
        Ok(proc_exe)
    } else {
        std::env::current_exe().context("cannot find the bench binary to re-run it")
    }
}
