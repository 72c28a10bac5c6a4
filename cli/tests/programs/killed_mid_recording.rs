//! A program that is killed while it records (run by `tests/record_replay.rs`).
//!
//! Its main thread makes every lock and takes each once, so that it is the
//! one to declare them in the trace, then its own lines stay in its
//! buffer. Four workers use those locks in loops long enough to write
//! their buffers out several times, the first one closing a lock-order
//! cycle on the way; then the program aborts, with no exit hook, while the
//! workers are still running. A recording that kept its declarations in
//! the declaring thread's buffer lost them here, and every worker line
//! named a lock the trace never declared.

use std::sync::mpsc;
use std::sync::Arc;

use lockcheck::Mutex;

/// Enough lock+unlock pairs for a worker to write out its 64 KiB buffer
/// several times (each pair is two lines of about 45 bytes).
const ROUNDS: usize = 5_000;

fn main() {
    let work = Arc::new(Mutex::named("work", 0u64));
    let first = Arc::new(Mutex::named("first", ()));
    let second = Arc::new(Mutex::named("second", ()));
    drop(work.lock());
    drop(first.lock());
    drop(second.lock());

    let (done, all_done) = mpsc::channel();
    for worker in 0..4 {
        let (work, first, second) = (work.clone(), first.clone(), second.clone());
        let done = done.clone();
        std::thread::spawn(move || {
            if worker == 0 {
                let a = first.lock();
                drop(second.lock());
                drop(a);
                let b = second.lock();
                drop(first.lock());
                drop(b);
            }
            for _ in 0..ROUNDS {
                *work.lock() += 1;
            }
            done.send(()).expect("main waits for every worker");
            // Still running, and still holding its unwritten lines, when the
            // program dies.
            let (_keep, never) = mpsc::channel::<()>();
            let _ = never.recv();
        });
    }
    for _ in 0..4 {
        all_done.recv().expect("every worker reports");
    }
    std::process::abort();
}
