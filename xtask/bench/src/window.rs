//! The counting window of an I/O sample, in the process that runs the
//! server: the process's CPU time (`getrusage`) over the window, and, when
//! the parent counts syscalls (`perf`, see `perf.rs`), the switch that
//! turns perf's counters on and off exactly at the window's edges.
//!
//! The switch is perf's control FIFO pair (`perf stat --delay=-1
//! --control=fifo:CTL,ACK`: counters start disabled): [`Window::begin`]
//! writes `enable` to CTL and waits for perf's `ack` on ACK, then reads the
//! CPU clock; [`Window::end`] reads the CPU clock, then writes `disable` and
//! waits for the `ack`. Between the two, the window counts one `read` and one
//! `write` of its own.

use std::{
    fs::File,
    io::{Read, Write},
    os::unix::fs::OpenOptionsExt,
    path::PathBuf,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

/// perf's control FIFOs, as the parent made them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fifos {
    /// Commands to perf (`enable`, `disable`).
    pub ctl: PathBuf,
    /// perf's `ack` of each.
    pub ack: PathBuf,
}

/// What a window measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// CPU time of the whole process (user and system, every thread).
    pub cpu_ns: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Window {
    fifos: Option<Fifos>,
    open: Option<(File, File)>,
    cpu_at_begin: Option<Duration>,
}

/// How long perf may take to open its FIFOs, or to answer a command.
const PERF_LIMIT: Duration = Duration::from_secs(10);

impl Window {
    /// A window that reads the CPU clock, and switches perf's counters if
    /// `fifos` are given.
    pub fn new(fifos: Option<Fifos>) -> Self {
        Self { fifos, open: None, cpu_at_begin: None }
    }

    /// Opens the window.
    pub fn begin(&mut self) -> anyhow::Result<()> {
        if let Some(fifos) = &self.fifos {
            let (mut ctl, mut ack) = open_fifos(fifos)?;
            command(&mut ctl, &mut ack, "enable")?;
            self.open = Some((ctl, ack));
        }
        self.cpu_at_begin = Some(process_cpu()?);
        Ok(())
    }

    /// Closes the window and says what it measured.
    pub fn end(&mut self) -> anyhow::Result<Reading> {
        let cpu = process_cpu()?;
        let Some(begin) = self.cpu_at_begin.take() else { bail!("the window was never opened") };
        if let Some((mut ctl, mut ack)) = self.open.take() {
            command(&mut ctl, &mut ack, "disable")?;
        }
        Ok(Reading { cpu_ns: cpu.saturating_sub(begin).as_nanos() as u64 })
    }
}

/// Opens CTL for writing (retrying until perf has it open for reading) and
/// ACK for blocking reads.
fn open_fifos(fifos: &Fifos) -> anyhow::Result<(File, File)> {
    let deadline = Instant::now() + PERF_LIMIT;
    // Non-blocking: fails with ENXIO until perf has opened it.
    let ctl = loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(&fifos.ctl) {
            Ok(file) => break file,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => {
                return Err(e).with_context(|| format!("perf's control FIFO {}", fifos.ctl.display()));
            }
        }
    };
    // Opening for reading never blocks with O_NONBLOCK; reads then block
    // once the flag is cleared (perf holds the FIFO open, so they end).
    let ack = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifos.ack)
        .with_context(|| format!("perf's ack FIFO {}", fifos.ack.display()))?;
    set_blocking(&ack)?;
    Ok((ctl, ack))
}

fn set_blocking(file: &File) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is open (borrowed from `file` for these two calls);
    // F_GETFL and F_SETFL read and set its status flags, nothing else.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if !ok {
        bail!("could not make perf's ack FIFO blocking: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `command` to perf and waits for its `ack`.
fn command(ctl: &mut File, ack: &mut File, command: &str) -> anyhow::Result<()> {
    ctl.write_all(format!("{command}\n").as_bytes()).with_context(|| format!("perf {command}"))?;
    let mut got = Vec::new();
    let mut byte = [0u8; 16];
    while !got.windows(3).any(|w| w == b"ack") {
        let n = ack.read(&mut byte).with_context(|| format!("perf's ack of {command}"))?;
        if n == 0 {
            bail!("perf exited before it acknowledged {command}");
        }
        got.extend_from_slice(&byte[..n]);
    }
    Ok(())
}

/// This process's CPU time so far (user and system, every thread).
pub fn process_cpu() -> anyhow::Result<Duration> {
    // SAFETY: all-zero bytes are a valid `rusage` (integers only).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage` for the call to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        bail!("getrusage failed: {}", std::io::Error::last_os_error());
    }
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_without_perf_reads_the_cpu_clock() {
        let mut window = Window::new(None);
        window.begin().unwrap();
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let reading = window.end().unwrap();
        // Most of 30 ms of spinning (the machine may be busy with other work).
        assert!(reading.cpu_ns > 5_000_000 && reading.cpu_ns < 1_000_000_000, "{reading:?}");
        assert!(window.end().is_err(), "a window closes once");
    }
}
