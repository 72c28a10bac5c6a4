//! Cost of race checking: `lockcheck::Shared<T>` accesses next to a
//! `std::cell::Cell` and an `AtomicU64`, and `lockcheck::Mutex` next to a plain
//! `parking_lot::Mutex` once race checking is live, all measured in the same
//! run.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p lockcheck --bench shared                   # every group
//! cargo bench -p lockcheck --bench shared -- shared_read    # one group (criterion filter)
//! python3 benches/ratios.py                    # Markdown tables, these groups after the lock groups
//! ```
//!
//! `RUST_BACKTRACE` does not change these numbers (nothing here uses
//! tracing-mutex, and `set_backtraces(false)` wins over it for lockcheck), but
//! running with `env -u RUST_BACKTRACE` as for `benches/locks.rs` does no harm.
//!
//! # Race checking is live for the whole run
//!
//! Unlike `benches/locks.rs`, this bench runs with race checking **live**:
//! `setup()` creates a `lockcheck::Shared` before the first group, and race
//! checking, once on, stays on for the process. So every `lockcheck::Mutex`
//! acquisition joins the lock's release clock into the thread's vector clock
//! and every release copies the thread's clock into the lock
//! (`src/runtime/hb.rs`), on top of the deadlock checks that `locks.rs`
//! measures. Backtrace capture is switched off with
//! `lockcheck::config::set_backtraces(false)` at the start of every benchmark
//! function, as in `locks.rs`. `LOCKCHECK=off` would disable checking
//! altogether; the bench warns if it is set.
//!
//! A vector clock has one component per clock slot. A thread spawned after
//! its parent joined another takes the joined thread's slot, so the clocks
//! of the threaded groups (which spawn new threads for every `iter_custom`
//! call and join them) stay as wide as the threads alive at once plus the
//! scope's; each threaded group still prints how many threads the bench has
//! spawned through `lockcheck::thread` so far.
//!
//! # Implementations (criterion function ids)
//!
//! * `lockcheck`: `lockcheck::Shared<u64>` (and `lockcheck::Mutex`), default
//!   features (`checks` on). Threads are spawned with `lockcheck::thread::scope`,
//!   so spawn and join order the threads' accesses.
//! * `cell`: `std::cell::Cell<u64>`: unchecked, single-threaded.
//! * `atomic`: `std::sync::atomic::AtomicU64` with `Relaxed` loads and stores.
//! * `parking_lot`: `parking_lot::Mutex`.
//!
//! The baselines' threads are plain `std::thread::scope` threads.
//!
//! # Groups (criterion group ids)
//!
//! * `shared_read`: one thread reads one value: `Shared::get` vs `Cell::get`
//!   vs `AtomicU64::load(Relaxed)`. Nothing synchronises between reads, so
//!   after the first one every `Shared` read is in the thread's current epoch:
//!   this is FastTrack's fast path (thread-local clock lookup, the variable's
//!   internal mutex, one epoch comparison).
//! * `shared_write`: the same for writes: `Shared::set` vs `Cell::set` vs
//!   `AtomicU64::store(Relaxed)`.
//! * `shared_locked_2threads`: two threads each do `iters` iterations of
//!   { lock a `lockcheck::Mutex<()>`, `Shared::update(|n| n + 1)`, unlock }, vs
//!   `parking_lot::Mutex<u64>` doing `*guard += 1`. A `std::sync::Barrier`
//!   starts both threads; the time is the wall time from the first thread's
//!   start to the last one's end (thread spawn and join are not timed), divided
//!   by `iters` by criterion: the time per iteration of each thread, with both
//!   contending. Every lock release starts a new epoch, so every `update` here
//!   takes the slow path (a full read check and a full write check).
//!   `Throughput::Elements(2)`: two increments per iteration.
//! * `lock_8threads_race_live`: eight threads, each with its OWN mutex (no
//!   contention), each do `iters` lock + unlock pairs: `lockcheck::Mutex<u64>`
//!   vs `parking_lot::Mutex<u64>`, timed like `shared_locked_2threads`.
//!   `Throughput::Elements(8)`: one lock + unlock per thread per iteration.
//! * `shared_8threads_1m`: 1,000,000 accesses in total by 8 threads (125,000
//!   each), timed as one criterion iteration (`iter_custom`, 10 samples, flat
//!   sampling). Each thread repeats the round { read the common value, read its
//!   own value, write its own value (own + common), read its own value } 31,250
//!   times: a quarter of the accesses read one common read-only variable
//!   written before the spawn, the rest read and write the thread's own. For
//!   `lockcheck` all nine are `Shared<u64>`; for `atomic` `AtomicU64`s; for
//!   `cell` each thread's own value is a `Cell<u64>` made inside the thread and
//!   the common value a plain `u64` read through a shared reference. The
//!   per-thread `Shared`s and atomics are padded to 128 bytes each, so that no
//!   two threads' variables share a cache line. Timed like the groups above
//!   (spawn and join excluded). `Throughput::Elements(1_000_000)`.
//!
//! Every group uses 0.5 s of warm-up and 2 s of measurement per benchmark;
//! the threaded groups take 30 samples (`shared_8threads_1m`: 10). The whole run
//! takes about a minute on a 2-core machine.
//!
//! # Result layout (what `benches/ratios.py` reads)
//!
//! ```text
//! target/criterion/<group>/<impl>/new/estimates.json
//! ```
//!
//! with `<group>` one of `shared_read`, `shared_write`, `shared_locked_2threads`,
//! `lock_8threads_race_live`, `shared_8threads_1m` and `<impl>` one of
//! `lockcheck`, `cell`, `atomic`, `parking_lot`. `ratios.py` prints these groups
//! in a table of their own, each against its baseline: `cell` (and `atomic`)
//! for `shared_read` and `shared_write`, `parking_lot` for
//! `shared_locked_2threads` and `lock_8threads_race_live`, `atomic` for
//! `shared_8threads_1m`.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Keeps each value on cache lines of its own (128 bytes covers adjacent-line
/// prefetching), so that threads working on their own values never share a line.
#[repr(align(128))]
struct Padded<T>(T);

/// Per-benchmark-function setup; cheap after the first call.
fn setup() {
    // Backtrace capture off; `LOCKCHECK_BACKTRACE=1` would turn it on.
    lockcheck::config::set_backtraces(false);

    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if !lockcheck::config::enabled() {
            eprintln!(
                "warning: lockcheck checking is off (LOCKCHECK=off or the `checks` feature is \
                 disabled): the `lockcheck` numbers measure unchecked accesses and plain \
                 parking_lot locks"
            );
        }
        // Creating a `Shared` turns race checking on for the rest of the
        // process: from here on, lock releases and acquisitions carry vector
        // clocks. Dropping it does not turn checking off.
        drop(lockcheck::Shared::named("race checking live", 0u64));
    });
}

// ---------------------------------------------------------------------------
// Threads

/// Threads spawned through `lockcheck::thread` so far; each took a new
/// lockcheck thread id (but a clock slot of a joined thread where one was
/// free, so the clocks do not grow with this count).
static LOCKCHECK_THREADS: AtomicUsize = AtomicUsize::new(0);

fn report_thread_count(group: &str) {
    eprintln!(
        "{group}: {} threads spawned through lockcheck::thread so far",
        LOCKCHECK_THREADS.load(Relaxed)
    );
}

#[derive(Copy, Clone)]
enum Spawner {
    /// `std::thread::scope`, for the baselines.
    Std,
    /// `lockcheck::thread::scope`: spawn and join carry happens-before.
    Lockcheck,
}

/// Runs `body(i)` for `i` in `0..threads`, each on a new scoped thread; a
/// barrier starts them together. Returns the wall time from the first
/// thread's start (after the barrier) to the last thread's end: spawning and
/// joining are not timed.
fn timed_threads<F>(spawner: Spawner, threads: usize, body: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let barrier = Barrier::new(threads);
    let run = |i: usize| {
        barrier.wait();
        let start = Instant::now();
        body(i);
        (start, Instant::now())
    };
    let run = &run;
    let spans: Vec<(Instant, Instant)> = match spawner {
        Spawner::Std => thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || run(i))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        }),
        Spawner::Lockcheck => {
            LOCKCHECK_THREADS.fetch_add(threads, Relaxed);
            lockcheck::thread::scope(|s| {
                let handles: Vec<_> = (0..threads).map(|i| s.spawn(move || run(i))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            })
        }
    };
    let first = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("at least one thread");
    let last = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("at least one thread");
    last - first
}

// ---------------------------------------------------------------------------
// 1. shared_read, shared_write

/// The single-threaded surface of the three variables.
trait BenchVar {
    /// Criterion function id, and directory name under `target/criterion/<group>/`.
    fn name() -> &'static str;
    fn new(value: u64) -> Self;
    fn get(&self) -> u64;
    fn set(&self, value: u64);
}

impl BenchVar for lockcheck::Shared<u64> {
    fn name() -> &'static str {
        "lockcheck"
    }

    fn new(value: u64) -> Self {
        lockcheck::Shared::named("bench variable", value)
    }

    #[inline]
    fn get(&self) -> u64 {
        lockcheck::Shared::get(self)
    }

    #[inline]
    fn set(&self, value: u64) {
        lockcheck::Shared::set(self, value)
    }
}

impl BenchVar for Cell<u64> {
    fn name() -> &'static str {
        "cell"
    }

    fn new(value: u64) -> Self {
        Cell::new(value)
    }

    #[inline]
    fn get(&self) -> u64 {
        Cell::get(self)
    }

    #[inline]
    fn set(&self, value: u64) {
        Cell::set(self, value)
    }
}

impl BenchVar for AtomicU64 {
    fn name() -> &'static str {
        "atomic"
    }

    fn new(value: u64) -> Self {
        AtomicU64::new(value)
    }

    #[inline]
    fn get(&self) -> u64 {
        self.load(Relaxed)
    }

    #[inline]
    fn set(&self, value: u64) {
        self.store(value, Relaxed)
    }
}

fn read_case<V: BenchVar>(group: &mut Group<'_>) {
    let var = V::new(1);
    group.bench_function(V::name(), |b| {
        b.iter(|| black_box(black_box(&var).get()));
    });
}

fn write_case<V: BenchVar>(group: &mut Group<'_>) {
    let var = V::new(1);
    group.bench_function(V::name(), |b| {
        b.iter(|| black_box(&var).set(black_box(2)));
    });
}

fn shared_read(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("shared_read");
    read_case::<lockcheck::Shared<u64>>(&mut group);
    read_case::<Cell<u64>>(&mut group);
    read_case::<AtomicU64>(&mut group);
    group.finish();
}

fn shared_write(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("shared_write");
    write_case::<lockcheck::Shared<u64>>(&mut group);
    write_case::<Cell<u64>>(&mut group);
    write_case::<AtomicU64>(&mut group);
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. shared_locked_2threads

fn threaded_group<'a>(c: &'a mut Criterion, name: &str, elements: u64) -> Group<'a> {
    report_thread_count(name);
    let mut group = c.benchmark_group(name);
    group
        .sample_size(30)
        .throughput(Throughput::Elements(elements));
    group
}

fn shared_locked_2threads(c: &mut Criterion) {
    setup();
    let mut group = threaded_group(c, "shared_locked_2threads", 2);
    group.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            let counter = parking_lot::Mutex::new(0u64);
            let elapsed = timed_threads(Spawner::Std, 2, |_| {
                for _ in 0..iters {
                    *counter.lock() += 1;
                }
            });
            assert_eq!(counter.into_inner(), 2 * iters);
            elapsed
        });
    });
    group.bench_function("lockcheck", |b| {
        b.iter_custom(|iters| {
            let lock = lockcheck::Mutex::named("counter lock", ());
            let counter = lockcheck::Shared::named("counter", 0u64);
            let elapsed = timed_threads(Spawner::Lockcheck, 2, |_| {
                for _ in 0..iters {
                    let guard = lock.lock();
                    counter.update(|n| n + 1);
                    drop(guard);
                }
            });
            // Ordered after both threads by the scope's join: no race.
            assert_eq!(counter.get(), 2 * iters);
            elapsed
        });
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 3. lock_8threads_race_live

const THREADS: usize = 8;

fn lock_8threads_race_live(c: &mut Criterion) {
    setup();
    let mut group = threaded_group(c, "lock_8threads_race_live", THREADS as u64);
    group.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            let locks: Vec<_> = (0..THREADS as u64)
                .map(|i| Padded(parking_lot::Mutex::new(i)))
                .collect();
            timed_threads(Spawner::Std, THREADS, |i| {
                let lock = &locks[i].0;
                for _ in 0..iters {
                    let guard = black_box(lock).lock();
                    black_box(*guard);
                }
            })
        });
    });
    group.bench_function("lockcheck", |b| {
        b.iter_custom(|iters| {
            let locks: Vec<_> = (0..THREADS as u64)
                .map(|i| Padded(lockcheck::Mutex::new(i)))
                .collect();
            timed_threads(Spawner::Lockcheck, THREADS, |i| {
                let lock = &locks[i].0;
                for _ in 0..iters {
                    let guard = black_box(lock).lock();
                    black_box(*guard);
                }
            })
        });
    });
    group.finish();
}

// ---------------------------------------------------------------------------
// 4. shared_8threads_1m

const ACCESSES: u64 = 1_000_000;
/// Rounds per thread; a round is four accesses.
const ROUNDS: u64 = ACCESSES / THREADS as u64 / 4;
const COMMON: u64 = 1;

/// `iters` runs of the workload, each with fresh variables; only the threads'
/// work is timed.
fn eight_thread_runs(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

fn shared_8threads_1m(c: &mut Criterion) {
    setup();
    report_thread_count("shared_8threads_1m");
    let mut group = c.benchmark_group("shared_8threads_1m");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(ACCESSES));

    group.bench_function("atomic", |b| {
        b.iter_custom(|iters| {
            eight_thread_runs(iters, || {
                let common = AtomicU64::new(COMMON);
                let own: Vec<_> = (0..THREADS).map(|_| Padded(AtomicU64::new(0))).collect();
                let elapsed = timed_threads(Spawner::Std, THREADS, |i| {
                    let own = &own[i].0;
                    for _ in 0..ROUNDS {
                        let c = black_box(&common).load(Relaxed);
                        let v = black_box(own).load(Relaxed);
                        black_box(own).store(v + c, Relaxed);
                        black_box(black_box(own).load(Relaxed));
                    }
                });
                assert!(own.iter().all(|v| v.0.load(Relaxed) == ROUNDS * COMMON));
                elapsed
            })
        });
    });
    group.bench_function("cell", |b| {
        b.iter_custom(|iters| {
            eight_thread_runs(iters, || {
                let common = COMMON;
                timed_threads(Spawner::Std, THREADS, |_| {
                    let own = Cell::new(0u64);
                    for _ in 0..ROUNDS {
                        let c = *black_box(&common);
                        let v = black_box(&own).get();
                        black_box(&own).set(v + c);
                        black_box(black_box(&own).get());
                    }
                    assert_eq!(own.get(), ROUNDS * COMMON);
                })
            })
        });
    });
    group.bench_function("lockcheck", |b| {
        b.iter_custom(|iters| {
            eight_thread_runs(iters, || {
                let common = lockcheck::Shared::named("common", 0u64);
                // Written before the spawn, read-only after it.
                common.set(COMMON);
                let own: Vec<_> = (0..THREADS)
                    .map(|_| Padded(lockcheck::Shared::named("own", 0u64)))
                    .collect();
                let elapsed = timed_threads(Spawner::Lockcheck, THREADS, |i| {
                    let own = &own[i].0;
                    for _ in 0..ROUNDS {
                        let c = black_box(&common).get();
                        let v = black_box(own).get();
                        black_box(own).set(v + c);
                        black_box(black_box(own).get());
                    }
                });
                // Ordered after every thread by the scope's join: no race.
                assert!(own.iter().all(|v| v.0.get() == ROUNDS * COMMON));
                elapsed
            })
        });
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = shared_read, shared_write, shared_locked_2threads, lock_8threads_race_live,
        shared_8threads_1m
}
criterion_main!(benches);
