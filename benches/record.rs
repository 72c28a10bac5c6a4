//! The cost of recording a run (`LOCKCHECK_TRACE`): lock+unlock with every
//! event written to the trace, next to a plain `parking_lot::Mutex` in the
//! same run. Recording is switched on for this whole process (the variable is
//! read once, at the first lock), so lockcheck without recording is measured
//! by `benches/locks.rs` (`uncontended/lockcheck`).
//!
//! Run it with
//!
//! ```text
//! cargo bench -p lockcheck --bench record
//! ```
//!
//! The trace goes to `target/tmp/record-bench.lct` and is merged when the
//! bench exits: criterion's warm-up and samples record about 2 GB, the merge
//! at exit takes several seconds, and the file stays there (replaced by the
//! next run) until `cargo clean` or a `rm`. Groups:
//!
//! * `record_uncontended`: one thread, one mutex, lock and unlock; recording
//!   writes two lines (acquire, release) per iteration.
//! * `record_2threads`: two threads, each on its own mutex, `iters` lock and
//!   unlock pairs each, timed together (per pair of threads' iterations). The
//!   threads share only the event counter: if recording serialised them, this
//!   would cost twice the one-thread time, not about the same.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

/// Records this process into `target/tmp/record-bench.lct` (replaced by
/// every run).
fn start_recording() {
    let trace = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("record-bench.lct");
    // Before any lock is taken: the variable is read at the first one.
    std::env::set_var("LOCKCHECK_TRACE", trace);
    lockcheck::config::set_backtraces(false);
}

fn uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_uncontended");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    let plain = parking_lot::Mutex::new(0u64);
    group.bench_function("parking_lot", |b| b.iter(|| black_box(*plain.lock())));
    let checked = lockcheck::Mutex::new(0u64);
    group.bench_function("lockcheck-recording", |b| {
        b.iter(|| black_box(*checked.lock()))
    });
    group.finish();
}

/// A value alone on its cache lines, so that two threads' mutexes do not
/// share one.
#[repr(align(128))]
struct Padded<M>(M);

/// Two threads, each locking its own mutex `iters` times; the time until
/// both are done.
fn two_threads<M: Sync>(iters: u64, make: fn() -> M, lock_once: fn(&M)) -> Duration {
    let barrier = Barrier::new(3);
    let (a, b) = (Padded(make()), Padded(make()));
    thread::scope(|s| {
        for m in [&a.0, &b.0] {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    lock_once(m);
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope's end joins both threads: the time is until both finish.
        start
    })
    .elapsed()
}

fn two_thread_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("record_2threads");
    group.warm_up_time(Duration::from_millis(300));
    group.measurement_time(Duration::from_secs(1));
    group.sample_size(10);
    group.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            two_threads(
                iters,
                || parking_lot::Mutex::new(0u64),
                |m| {
                    black_box(*m.lock());
                },
            )
        })
    });
    group.bench_function("lockcheck-recording", |b| {
        b.iter_custom(|iters| {
            two_threads(
                iters,
                || lockcheck::Mutex::new(0u64),
                |m| {
                    black_box(*m.lock());
                },
            )
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    start_recording();
    uncontended(c);
    two_thread_group(c);
}

criterion_group!(record, benches);
criterion_main!(record);
