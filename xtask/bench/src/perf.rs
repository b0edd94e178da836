//! Counting a child process's syscalls with `perf stat`, over the counting
//! window of one I/O sample (the child opens and closes it: see `window`).
//!
//! `perf stat -x, --delay=-1 --control=fifo:CTL,ACK -e raw_syscalls:sys_enter
//! -p PID` counts every syscall of every thread of the process, starting
//! disabled; the child enables the counters when its window opens and
//! disables them when it closes, and `SIGINT` ends perf, which writes the
//! counts. The same tracepoint again, once per syscall of [`BY_NAME`] with a
//! filter on its number (`--filter 'id == N'`), gives the breakdown.
//!
//! One tracepoint, not `syscalls:sys_enter_*`: perf takes about 50 ms to
//! 300 ms to release each tracepoint it used, so the 360 of the wildcard
//! cost 15 to 20 s per sample on this machine, against 50 ms for one.
//!
//! This needs perf, and the right to trace the process (root, or a
//! permissive `perf_event_paranoid`); [`available`] says whether this
//! machine has both, and why not.

use std::{
    collections::BTreeMap,
    ffi::CString,
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use crate::window::Fifos;

/// The tracepoint counted.
const EVENT: &str = "raw_syscalls:sys_enter";

/// The syscalls counted by name, with their numbers on this architecture:
/// those an I/O runtime makes per request (reads and writes, readiness,
/// parking).
const BY_NAME: &[(&str, libc::c_long)] = &[
    ("read", libc::SYS_read),
    ("write", libc::SYS_write),
    ("readv", libc::SYS_readv),
    ("writev", libc::SYS_writev),
    ("recvfrom", libc::SYS_recvfrom),
    ("sendto", libc::SYS_sendto),
    ("recvmsg", libc::SYS_recvmsg),
    ("sendmsg", libc::SYS_sendmsg),
    ("accept4", libc::SYS_accept4),
    #[cfg(target_arch = "x86_64")]
    ("epoll_wait", libc::SYS_epoll_wait),
    ("epoll_pwait", libc::SYS_epoll_pwait),
    ("epoll_ctl", libc::SYS_epoll_ctl),
    #[cfg(target_arch = "x86_64")]
    ("poll", libc::SYS_poll),
    ("ppoll", libc::SYS_ppoll),
    ("futex", libc::SYS_futex),
    ("sched_yield", libc::SYS_sched_yield),
    #[cfg(target_arch = "x86_64")]
    ("nanosleep", libc::SYS_nanosleep),
    ("clock_nanosleep", libc::SYS_clock_nanosleep),
    ("io_uring_enter", libc::SYS_io_uring_enter),
];

/// The `-e … --filter …` arguments for [`EVENT`] and [`BY_NAME`].
fn event_args() -> Vec<String> {
    let mut args = vec!["-e".to_string(), EVENT.to_string()];
    for (_, number) in BY_NAME {
        args.extend(["-e".into(), EVENT.into(), "--filter".into(), format!("id == {number}")]);
    }
    args
}

/// Syscalls counted over a window, by name (`recvfrom`, `epoll_ctl`…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Syscalls {
    /// Every syscall.
    pub total: u64,
    /// Each syscall of [`BY_NAME`] made at least once.
    pub by_name: BTreeMap<String, u64>,
}

/// Whether syscalls can be counted here: `Err` says why not. Checked once,
/// by counting `true`'s syscalls the same way.
pub fn available() -> Result<(), String> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let output = Command::new("perf")
                .args(["stat", "-x,"])
                .args(event_args())
                .args(["--", "true"])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("perf not found ({e})"))?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            if !output.status.success() {
                let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
                return Err(format!("perf stat failed: {}", first.trim()));
            }
            match parse(&stderr) {
                Ok(counts) if counts.total > 0 => Ok(()),
                Ok(_) => Err("perf stat counted no syscall of `true`".into()),
                Err(e) => Err(format!("{e:#}")),
            }
        })
        .clone()
}

/// A perf session attached to one process; see the module docs.
#[derive(Debug)]
pub struct Session {
    perf: Child,
    dir: PathBuf,
    fifos: Fifos,
    out: PathBuf,
}

impl Session {
    /// Starts perf on process `pid`, counters disabled, with its FIFOs and
    /// output in a fresh directory `dir` (removed by [`Session::finish`]).
    pub fn start(pid: u32, dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
        let fifos = Fifos { ctl: dir.join("ctl"), ack: dir.join("ack") };
        for fifo in [&fifos.ctl, &fifos.ack] {
            let _ = std::fs::remove_file(fifo);
            mkfifo(fifo)?;
        }
        let out = dir.join("counts.csv");
        let control = format!("fifo:{},{}", fifos.ctl.display(), fifos.ack.display());
        let perf = Command::new("perf")
            .args(["stat", "-x,", "--delay=-1", "--control", &control])
            .args(event_args())
            .arg("-o")
            .arg(&out)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("could not start perf")?;
        Ok(Self { perf, dir: dir.to_owned(), fifos, out })
    }

    /// The FIFOs the counted process switches the counters with.
    pub fn fifos(&self) -> Fifos {
        self.fifos.clone()
    }

    /// Stops perf and reads what it counted.
    pub fn finish(mut self) -> anyhow::Result<Syscalls> {
        let result = self.stop().and_then(|()| {
            let text = std::fs::read_to_string(&self.out)
                .with_context(|| format!("perf wrote no counts ({})", self.out.display()))?;
            parse(&text)
        });
        let _ = std::fs::remove_dir_all(&self.dir);
        result
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        // perf writes its counts when interrupted.
        // SAFETY: kill(2) with a pid we spawned and have not reaped yet
        // (so it is not reused) and a valid signal number.
        unsafe {
            libc::kill(self.perf.id() as libc::pid_t, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.perf.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.perf.kill();
                let _ = self.perf.wait();
                bail!("perf did not stop within 10 s of SIGINT");
            }
            thread::sleep(Duration::from_millis(10));
        };
        // Interrupted, perf exits with the signal's status or 0.
        if !status.success() && status.code().is_some_and(|c| c != 130) {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(self.perf.stderr.as_mut().expect("piped"), &mut stderr);
            bail!("perf failed ({status}): {}", stderr.trim());
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if matches!(self.perf.try_wait(), Ok(None)) {
            let _ = self.perf.kill();
            let _ = self.perf.wait();
        }
    }
}

fn mkfifo(path: &Path) -> anyhow::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes()).context("a path with a NUL byte")?;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        bail!("could not make the FIFO {}: {}", path.display(), std::io::Error::last_os_error());
    }
    Ok(())
}

/// Parses `perf stat -x,` output for [`event_args`]: `COUNT,UNIT,EVENT,…`
/// lines for [`EVENT`], the total first, then one per [`BY_NAME`] in order
/// (perf prints them in the order given); comments, blank lines and
/// "Events enabled" notes are skipped, `<not counted>` is 0.
pub fn parse(text: &str) -> anyhow::Result<Syscalls> {
    let counts: Vec<u64> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [count, _unit, event, ..] = fields[..] else { return None };
            (event == EVENT).then(|| count.trim().parse::<u64>().unwrap_or(0))
        })
        .collect();
    let Some((&total, named)) = counts.split_first() else {
        bail!("no {EVENT} count in perf's output: {:?}", text.lines().take(3).collect::<Vec<_>>());
    };
    if named.len() != BY_NAME.len() {
        bail!("perf printed {} counts of {EVENT}, expected {}", counts.len(), BY_NAME.len() + 1);
    }
    let by_name = BY_NAME
        .iter()
        .zip(named)
        .filter(|(_, n)| **n > 0)
        .map(|((name, _), n)| (name.to_string(), *n))
        .collect();
    Ok(Syscalls { total, by_name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_perf_stat_csv() {
        let mut text = String::from("# started on Tue Dec  1 22:45:39 2026\n\nEvents enabled\n");
        text.push_str("4350,,raw_syscalls:sys_enter,1654913,100.00,,\n");
        for (name, _) in BY_NAME {
            let count = match *name {
                "recvfrom" => "2000",
                "epoll_ctl" => "1110",
                "read" => "<not counted>",
                _ => "0",
            };
            text.push_str(&format!("{count},,raw_syscalls:sys_enter,1654913,100.00,,\n"));
        }
        text.push_str("Events disabled\n");
        let counts = parse(&text).unwrap();
        assert_eq!(counts.total, 4350);
        assert_eq!(counts.by_name.len(), 2);
        assert_eq!((counts.by_name["recvfrom"], counts.by_name["epoll_ctl"]), (2000, 1110));
        assert!(parse("# nothing\n").is_err());
        assert!(parse("5,,raw_syscalls:sys_enter,1,100.00,,\n").is_err(), "the breakdown is missing");
    }

    /// Where perf works (root, tracepoints available), a session counts a
    /// child's syscalls in the window it switches on, and nothing outside it.
    #[test]
    fn a_session_counts_inside_the_window_only() {
        if let Err(why) = available() {
            eprintln!("skipped: {why}");
            return;
        }
        // A child that sleeps until it is told to make 100 syscalls.
        let mut child = Command::new("sh")
            .args(["-c", "read go; i=0; while [ $i -lt 100 ]; do : > /dev/null; i=$((i+1)); done; read end"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("bench-perf-test-{}", std::process::id()));
        let session = Session::start(child.id(), &dir).unwrap();
        let mut window = crate::window::Window::new(Some(session.fifos()));
        window.begin().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"go\n").unwrap();
        thread::sleep(Duration::from_millis(300));
        window.end().unwrap();
        std::io::Write::write_all(&mut stdin, b"end\n").unwrap();
        child.wait().unwrap();
        let counts = session.finish().unwrap();
        // Each `: > /dev/null` opens, duplicates and closes; `read end` reads.
        assert!(counts.total >= 200, "{counts:?}");
        assert!(counts.by_name.get("read").copied().unwrap_or(0) >= 1, "{counts:?}");
        assert!(!dir.exists());
    }
}
