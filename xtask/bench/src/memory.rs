//! Memory per parked task, measured honestly: RSS belongs to a process, so
//! each sample runs one contender alone in a fresh process of its own (see
//! `measure`), which reads its own `/proc/self/status` before and after
//! parking the tasks (`workloads::park`). This file has the readings only.
//!
//! The value reported is `(VmHWM after − VmRSS before) / tasks`: the peak the
//! process reached above its starting point, whatever the transient (queues
//! full of freshly spawned tasks) or the steady state (parked tasks) cost.

/// The memory lines of `/proc/self/status`, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the most ever resident.
    pub hwm: u64,
}

impl Status {
    /// Reads this process's status; zeros where the kernel does not say
    /// (not Linux), which the parent reports as an error.
    pub fn read() -> Self {
        std::fs::read_to_string("/proc/self/status").map(|text| Self::parse(&text)).unwrap_or_default()
    }

    /// Parses the `VmRSS:` and `VmHWM:` lines (`"VmRSS:\t  1234 kB"`).
    pub fn parse(text: &str) -> Self {
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().strip_suffix("kB"))
                .and_then(|kb| kb.trim().parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        Self { rss: field("VmRSS:"), hwm: field("VmHWM:") }
    }
}

/// What one child measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
    /// Tasks parked.
    pub tasks: usize,
    /// Before spawning them (runtime started and warmed up).
    pub baseline: Status,
    /// Once every task has been polled and is pending.
    pub parked: Status,
}

impl Reading {
    /// Peak bytes above the baseline, per task.
    pub fn peak_per_task(&self) -> f64 {
        self.parked.hwm.saturating_sub(self.baseline.rss) as f64 / self.tasks.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let text =
            "Name:\tbench\nVmPeak:\t  9000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t3\n";
        assert_eq!(Status::parse(text), Status { rss: 1024 * 1024, hwm: 2048 * 1024 });
        assert_eq!(Status::parse("nothing here"), Status::default());
    }

    #[test]
    fn per_task_subtracts_the_baseline() {
        let reading = Reading {
            tasks: 1000,
            baseline: Status { rss: 10_000, hwm: 12_000 },
            parked: Status { rss: 200_000, hwm: 260_000 },
        };
        assert_eq!(reading.peak_per_task(), 250.0);
    }

    #[test]
    fn this_process_has_a_status() {
        let status = Status::read();
        assert!(status.rss > 0 && status.hwm >= status.rss, "{status:?}");
    }
}
