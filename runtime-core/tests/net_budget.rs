//! Feature `net`: the cooperative budget. On a one-worker runtime, one
//! connection floods the server (its socket is always readable, so its
//! task's reads never return `Pending` on their own) while another
//! connection asks for answers: each answer comes within a few
//! milliseconds, because the flooded task yields every 128 operations.
//! Without the budget the flooded task would keep the worker forever and
//! the other connection would get no answer at all (stall detection is off
//! here: its handoff would otherwise rescue the pings after 10 ms, and
//! this tests the budget alone). Alone in its binary, one backend at a time
//! (`serial`): other tests' threads would add their noise to the latencies.
#![cfg(all(feature = "net", not(miri), not(loom)))]

mod common;
mod net_common;

use std::{
    io::{Read, Write},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
    },
    time::{Duration, Instant},
};

use common::per_backend;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use net_common::{run, wait_until};
use runtime_core::{Queue, Runtime, net::TcpListener};

const DEADLINE: Duration = Duration::from_secs(10);
const PINGS: usize = 200;

/// One test at a time in this binary (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn flood_does_not_delay_others<Q: Queue>() {
    let _serial = serial();
    let rt = Runtime::<Q>::builder().worker_threads(1).stall_threshold(None).build().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let flooded = Arc::new(AtomicU64::new(0));
    // The server: the first connection is the flood (its task reads 64
    // bytes at a time, far slower than the peer writes), the second the
    // pings (echoed).
    let server = rt.spawn({
        let flooded = flooded.clone();
        async move {
            let (mut flood, _) = listener.accept().await.unwrap();
            runtime_core::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n @ 1..) = flood.read(&mut buf).await {
                    flooded.fetch_add(n as u64, SeqCst);
                }
            })
            .detach();
            let (mut pings, _) = listener.accept().await.unwrap();
            pings.set_nodelay(true).unwrap();
            let mut buf = [0u8; 1];
            while pings.read_exact(&mut buf).await.is_ok() {
                pings.write_all(&buf).await.unwrap();
            }
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = std::net::TcpStream::connect(addr).unwrap();
    // Closed by the runtime's drop at the end, which ends a blocked write.
    flood.set_write_timeout(Some(DEADLINE)).unwrap();
    let flooder = std::thread::spawn({
        let stop = stop.clone();
        move || {
            // Blocking writes: the thread sleeps while the socket's buffers
            // are full, which they are almost all the time.
            let chunk = vec![0u8; 64 * 1024];
            while !stop.load(SeqCst) {
                if flood.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    wait_until(
        DEADLINE,
        "the flood to reach the server",
        || flooded.load(SeqCst) > 1 << 20,
        || format!("{} bytes; {:?}", flooded.load(SeqCst), rt.metrics()),
    );

    let mut pings = std::net::TcpStream::connect(addr).unwrap();
    pings.set_nodelay(true).unwrap();
    pings.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut latencies = Vec::with_capacity(PINGS);
    for i in 0..PINGS {
        let sent = Instant::now();
        pings.write_all(&[i as u8]).unwrap();
        let mut back = [0u8; 1];
        pings.read_exact(&mut back).unwrap_or_else(|e| {
            panic!("ping {i} got no answer ({e}): the flooded task holds the worker; {:?}", rt.metrics())
        });
        latencies.push(sent.elapsed());
        assert_eq!(back[0], i as u8);
        std::thread::sleep(Duration::from_millis(1));
    }
    let flooded_bytes = flooded.load(SeqCst);
    stop.store(true, SeqCst);
    drop(pings);
    latencies.sort();
    let (median, p99, max) = (latencies[PINGS / 2], latencies[PINGS * 99 / 100], latencies[PINGS - 1]);
    println!(
        "{}: {PINGS} pings under a flood ({flooded_bytes} bytes read 64 at a time): median {median:?}, \
         p99 {p99:?}, max {max:?}",
        std::any::type_name::<Q>()
    );
    // A budget's worth of 64-byte reads takes well under a millisecond; the
    // bounds leave room for a busy machine, not for a task that holds the
    // worker (that answers no ping at all).
    assert!(median <= Duration::from_millis(5), "median ping {median:?} under a flood");
    assert!(max <= Duration::from_millis(100), "slowest ping {max:?} under a flood");
    run(&rt, DEADLINE, "the ping server to see EOF", server);
    drop(rt);
    flooder.join().unwrap();
}

per_backend!(flood_does_not_delay_others);
