//! Lock overhead of `lockcheck::Mutex` next to a plain `parking_lot::Mutex`
//! (the baseline) and two other deadlock detectors, `tracing-mutex` and
//! `deloxide`, all measured in the same run.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p lockcheck --bench locks                  # every group
//! cargo bench -p lockcheck --bench locks -- chain4        # one group (criterion filter)
//! python3 benches/ratios.py                  # Markdown table: mean ns and ratio to parking_lot
//! ```
//!
//! If your shell exports `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`), run
//! `env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE cargo bench -p lockcheck --bench locks`
//! instead; see `tracing-mutex` below.
//!
//! # Implementations (criterion function ids)
//!
//! * `parking_lot`: `parking_lot::Mutex`, the baseline every ratio is taken against.
//! * `lockcheck`: `lockcheck::Mutex` with default features (`checks` on).
//!   Backtrace capture is switched off with `lockcheck::config::set_backtraces(false)`
//!   at the start of every benchmark function. (Outside this bench,
//!   `LOCKCHECK_BACKTRACE=1` turns capture on, and so does `RUST_BACKTRACE`
//!   when `LOCKCHECK_BACKTRACE` is unset; the call wins over both, so the
//!   numbers do not depend on the environment.) `LOCKCHECK=off` would disable
//!   checking altogether; the bench warns if it is set.
//! * `tracing-mutex`: `tracing_mutex::parkinglot::tracing::Mutex` (the crate's
//!   `parking_lot` feature), a tracing wrapper around the same parking_lot
//!   mutex as the baseline. Not `tracing_mutex::parkinglot::Mutex`: that alias
//!   resolves to the *untraced* lock when `debug_assertions` are off, as they
//!   are in the bench profile. tracing-mutex captures a
//!   `std::backtrace::Backtrace` for every new lock-order edge (default
//!   `backtraces` feature); whether that capture does any work is decided by
//!   `RUST_LIB_BACKTRACE` / `RUST_BACKTRACE`. Do not set them when running this
//!   bench (it prints a warning if they are set).
//! * `deloxide`: `deloxide::Mutex` in its default *wait-for-graph* mode.
//!   Deloxide's lock-order-graph mode is not a run-time switch: it is the cargo
//!   feature `lock-order-graph`, compiled in for the whole build (and with the
//!   feature on, `Deloxide::new()` enables lock-order checking by default and
//!   every acquisition goes through the global detector). So one build measures
//!   one mode. To measure the other mode, rebuild with the feature on the command
//!   line (no Cargo.toml change is needed):
//!
//!   ```text
//!   cargo bench -p lockcheck --bench locks --features deloxide/lock-order-graph -- deloxide
//!   ```
//!
//!   The bench finds out at start-up which mode was compiled in (it provokes a
//!   harmless lock-order inversion on two private locks and waits up to one
//!   second for deloxide to report it) and names the implementation `deloxide`
//!   (wait-for graph only) or `deloxide-lock-order`, so results of both builds
//!   sit side by side under `target/criterion/`. `Deloxide::start` prints a banner
//!   on stdout; that is expected.
//!
//! All locks hold a `u64`. Helper threads are plain `std::thread::scope` threads
//! for every implementation.
//!
//! # Groups (criterion group ids)
//!
//! * `uncontended`: one thread, one mutex: lock, read the value, unlock.
//! * `chain4`: four mutexes locked nested in a fixed order (0, 1, 2, 3), then the
//!   guards are dropped in reverse order (3, 2, 1, 0). The lock-order edges all
//!   exist after the first iteration, so this is the steady-state cost of
//!   acquiring while holding other locks.
//! * `chain4_capture`: `chain4` with lockcheck keeping whole backtraces
//!   (`Backtraces::Full`, as `RUST_BACKTRACE=1` makes it): the steady state
//!   learns nothing new, so it must capture nothing and cost what `chain4`
//!   does.
//! * `create_lock_under_outer`: with an outer lock held (taken once per criterion
//!   sample, outside the timed loop), each iteration creates a new mutex, locks
//!   and unlocks it, and drops it. Every iteration therefore adds a brand-new
//!   lock-order edge (outer -> new) and then removes the lock from the detector.
//! * `create_lock_under_outer_bt`: the same with backtrace capture on in both
//!   predicting detectors (lockcheck and tracing-mutex; deloxide captures
//!   none). Runs only when `RUST_BACKTRACE` is set, which is what turns
//!   tracing-mutex's capture on:
//!   `RUST_BACKTRACE=1 cargo bench -p lockcheck --bench locks -- create_lock_under_outer_bt`.
//! * `contended2`: two threads on one mutex, each doing `iters` lock/unlock
//!   pairs; a `std::sync::Barrier` starts both, and the time runs until both
//!   are done, divided by two: the time per acquisition of the pair together
//!   (their throughput). A lock that lets one thread take it many times in a
//!   row, or one that hands it over at every turn, costs what it costs the
//!   pair, which is what the program pays.
//! * `contended2_one_side`: the same lock, but only the measured thread does
//!   `iters` pairs while a helper locks and unlocks until a stop flag
//!   (`AtomicBool`) is set, and only the measured thread's loop is timed: the
//!   time one thread's acquisitions take while another keeps contending. It
//!   moves with how often the measured thread wins (parking_lot's own figure
//!   moves between 11 and 28 ns from run to run on this machine), so read its
//!   ratio over several runs. Neither has sleeps; the helper is spawned and
//!   joined inside the sample but outside the timing in this one.
//! * `locks_10k`: 10,000 distinct mutexes plus one outer mutex are created
//!   *before* the measurement (creation is not timed). One iteration locks the
//!   outer mutex, then locks and unlocks each of the 10,000 mutexes once while
//!   holding it, then unlocks the outer one. The reported time is for the whole
//!   10,000 (`Throughput::Elements(10_000)`, so criterion also prints
//!   elements/s). The same locks are reused every iteration, so the 10,000
//!   outer -> lock edges are recorded during warm-up and the timed loop measures
//!   acquisition with a 10,000-lock graph in place; the cost of recording a new
//!   edge is what `create_lock_under_outer` measures.
//! * `locks_n`: the `locks_10k` workload for n = 1,000, 10,000 and 100,000,
//!   `parking_lot` and `lockcheck` only, so that linearity can be read off (the
//!   time per element should not grow with n).
//!
//! * `fresh_n`: the first touch, as `benches/plain_loop.rs`'s `fresh N`: one
//!   iteration locks an outer mutex, makes `n` mutexes, locks and unlocks
//!   each once (a new order edge each) and drops them all, for n = 1,000,
//!   10,000 and 100,000, every implementation; timed per lock
//!   (`Throughput::Elements(n)`), so that linearity can be read off.
//!
//! `locks_10k`, `locks_n` and `fresh_n` use flat sampling with 30 samples; every group uses
//! 0.5 s of warm-up and 2 s of measurement per benchmark, so the whole run takes
//! a few minutes on a 2-core machine.
//!
//! # Result layout (what `benches/ratios.py` reads)
//!
//! ```text
//! target/criterion/<group>/<impl>/new/estimates.json           all groups but locks_n
//! target/criterion/locks_n/<impl>/<n>/new/estimates.json       n = 1000, 10000, 100000
//! target/criterion/fresh_n/<impl>/<n>/new/estimates.json       the same n
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, Bencher, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};

type Group<'a> = BenchmarkGroup<'a, WallTime>;

mod mutexes;
use mutexes::{
    setup, BenchMutex, DeloxideMutex, FloorMutex, LockcheckMutex, LockcheckStdMutex,
    ParkingLot013Mutex, ParkingLotMutex, StdMutex, TracingMutex,
};

// ---------------------------------------------------------------------------
// 1. uncontended

fn uncontended_case<M: BenchMutex>(group: &mut Group<'_>) {
    let mutex = M::new(1);
    group.bench_function(M::name(), |b| {
        b.iter(|| {
            let guard = black_box(&mutex).lock();
            black_box(*guard);
        });
    });
}

fn uncontended(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("uncontended");
    uncontended_case::<ParkingLotMutex>(&mut group);
    uncontended_case::<ParkingLot013Mutex>(&mut group);
    uncontended_case::<StdMutex>(&mut group);
    uncontended_case::<FloorMutex>(&mut group);
    uncontended_case::<LockcheckMutex>(&mut group);
    uncontended_case::<LockcheckStdMutex>(&mut group);
    uncontended_case::<TracingMutex>(&mut group);
    uncontended_case::<DeloxideMutex>(&mut group);
    group.finish();
}

// ---------------------------------------------------------------------------
// 2. chain4

fn chain4_case<M: BenchMutex>(group: &mut Group<'_>) {
    let locks: [M; 4] = std::array::from_fn(|i| M::new(i as u64));
    group.bench_function(M::name(), |b| {
        b.iter(|| {
            let locks = black_box(&locks);
            let g0 = locks[0].lock();
            let g1 = locks[1].lock();
            let g2 = locks[2].lock();
            let g3 = locks[3].lock();
            black_box(*g0 + *g1 + *g2 + *g3);
            drop(g3);
            drop(g2);
            drop(g1);
            drop(g0);
        });
    });
}

fn chain4(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("chain4");
    chain4_case::<ParkingLotMutex>(&mut group);
    chain4_case::<ParkingLot013Mutex>(&mut group);
    chain4_case::<StdMutex>(&mut group);
    chain4_case::<FloorMutex>(&mut group);
    chain4_case::<LockcheckMutex>(&mut group);
    chain4_case::<LockcheckStdMutex>(&mut group);
    chain4_case::<TracingMutex>(&mut group);
    chain4_case::<DeloxideMutex>(&mut group);
    group.finish();
}

/// `chain4` with lockcheck keeping whole backtraces (what `RUST_BACKTRACE=1`
/// turns on outside this bench): in a steady state nothing new is learned,
/// so nothing is captured, and the figure must be `chain4`'s.
fn chain4_capture(c: &mut Criterion) {
    setup();
    lockcheck::config::set_backtrace_mode(lockcheck::config::Backtraces::Full);
    let mut group = c.benchmark_group("chain4_capture");
    chain4_case::<ParkingLotMutex>(&mut group);
    chain4_case::<LockcheckMutex>(&mut group);
    group.finish();
    lockcheck::config::set_backtraces(false);
}

// ---------------------------------------------------------------------------
// 3. create_lock_under_outer

fn create_lock_under_outer_case<M: BenchMutex>(group: &mut Group<'_>) {
    let outer = M::new(0);
    group.bench_function(M::name(), |b| {
        // Held for the whole sample; only the inner create/lock/unlock/drop is
        // repeated `iters` times.
        let outer_guard = outer.lock();
        b.iter(|| {
            let inner = M::new(black_box(1));
            let guard = inner.lock();
            black_box(*guard);
            drop(guard);
            drop(inner);
        });
        drop(outer_guard);
    });
}

fn create_lock_under_outer(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("create_lock_under_outer");
    create_lock_under_outer_case::<ParkingLotMutex>(&mut group);
    create_lock_under_outer_case::<ParkingLot013Mutex>(&mut group);
    create_lock_under_outer_case::<StdMutex>(&mut group);
    create_lock_under_outer_case::<FloorMutex>(&mut group);
    create_lock_under_outer_case::<LockcheckMutex>(&mut group);
    create_lock_under_outer_case::<TracingMutex>(&mut group);
    create_lock_under_outer_case::<DeloxideMutex>(&mut group);
    group.finish();
}

/// `create_lock_under_outer` with both predicting detectors capturing a
/// backtrace for every new edge. Runs only when `RUST_BACKTRACE` (or
/// `RUST_LIB_BACKTRACE`) is set, since that is what turns tracing-mutex's
/// capture on: `RUST_BACKTRACE=1 cargo bench -p lockcheck --bench locks -- create_lock_under_outer_bt`.
fn create_lock_under_outer_bt(c: &mut Criterion) {
    setup();
    let tracing_mutex_captures = std::env::var_os("RUST_LIB_BACKTRACE")
        .or_else(|| std::env::var_os("RUST_BACKTRACE"))
        .is_some_and(|v| v != "0");
    if !tracing_mutex_captures {
        return;
    }
    lockcheck::config::set_backtraces(true);
    let mut group = c.benchmark_group("create_lock_under_outer_bt");
    create_lock_under_outer_case::<ParkingLotMutex>(&mut group);
    create_lock_under_outer_case::<LockcheckMutex>(&mut group);
    create_lock_under_outer_case::<TracingMutex>(&mut group);
    group.finish();
    lockcheck::config::set_backtraces(false);
}

// ---------------------------------------------------------------------------
// 4. contended2

/// A value starting a 128-byte block (two cache lines, which the adjacent
/// line prefetcher fetches together).
#[repr(align(128))]
struct CacheAligned<T>(T);

fn contended2_case<M: BenchMutex>(group: &mut Group<'_>) {
    group.bench_function(M::name(), |b| {
        b.iter_custom(|iters| {
            // On a cache line of its own: a neighbour on the stack sharing
            // the lock's line would be measured as the lock's cost (and
            // would move with every change of the lock's size).
            let mutex = CacheAligned(M::new(0));
            let mutex = &mutex.0;
            let barrier = Barrier::new(2);
            let run = || {
                for _ in 0..iters {
                    let guard = mutex.lock();
                    black_box(*guard);
                }
            };
            thread::scope(|s| {
                let helper = s.spawn(|| {
                    barrier.wait();
                    run();
                    Instant::now()
                });
                barrier.wait();
                let start = Instant::now();
                run();
                let main_done = Instant::now();
                // Until both are done, not counting the join itself.
                let helper_done = helper.join().expect("the helper thread panicked");
                // Two threads' `iters` acquisitions: the time per one.
                main_done.max(helper_done).duration_since(start) / 2
            })
        });
    });
}

fn contended2_one_side_case<M: BenchMutex>(group: &mut Group<'_>) {
    group.bench_function(M::name(), |b| {
        b.iter_custom(|iters| {
            // Each on cache lines of its own: a flag the other thread reads
            // every iteration, or a neighbour on the stack, sharing a line
            // with the lock would be measured as the lock's cost (and would
            // move with every change of the lock's size).
            let mutex = CacheAligned(M::new(0));
            let mutex = &mutex.0;
            let stop = CacheAligned(AtomicBool::new(false));
            let stop = &stop.0;
            let barrier = Barrier::new(2);
            thread::scope(|s| {
                s.spawn(|| {
                    barrier.wait();
                    while !stop.load(Ordering::Relaxed) {
                        let guard = mutex.lock();
                        black_box(*guard);
                    }
                });
                barrier.wait();
                let start = Instant::now();
                for _ in 0..iters {
                    let guard = mutex.lock();
                    black_box(*guard);
                }
                let elapsed = start.elapsed();
                stop.store(true, Ordering::Relaxed);
                elapsed
            })
        });
    });
}

fn contended2(c: &mut Criterion) {
    setup();
    let mut group = c.benchmark_group("contended2");
    contended2_case::<ParkingLotMutex>(&mut group);
    contended2_case::<ParkingLot013Mutex>(&mut group);
    contended2_case::<StdMutex>(&mut group);
    contended2_case::<FloorMutex>(&mut group);
    contended2_case::<LockcheckMutex>(&mut group);
    contended2_case::<TracingMutex>(&mut group);
    contended2_case::<DeloxideMutex>(&mut group);
    group.finish();
    let mut group = c.benchmark_group("contended2_one_side");
    contended2_one_side_case::<ParkingLotMutex>(&mut group);
    contended2_one_side_case::<LockcheckMutex>(&mut group);
    contended2_one_side_case::<TracingMutex>(&mut group);
    contended2_one_side_case::<DeloxideMutex>(&mut group);
    group.finish();
}

// ---------------------------------------------------------------------------
// 5. locks_10k and locks_n

/// Creates `n` locks plus an outer lock (not timed), then times: lock outer,
/// lock + unlock each of the `n` locks once, unlock outer. The benchmark id is
/// `<impl>` or, with `n_in_id`, `<impl>/<n>`.
fn many_locks_case<M: BenchMutex>(group: &mut Group<'_>, n: usize, n_in_id: bool) {
    let outer = M::new(0);
    let locks: Vec<M> = (0..n as u64).map(M::new).collect();
    let routine = |b: &mut Bencher<'_>| {
        b.iter(|| {
            let outer_guard = outer.lock();
            for lock in black_box(&locks) {
                let guard = lock.lock();
                black_box(*guard);
            }
            drop(outer_guard);
        });
    };
    group.throughput(Throughput::Elements(n as u64));
    if n_in_id {
        group.bench_function(BenchmarkId::new(M::name(), n), routine);
    } else {
        group.bench_function(M::name(), routine);
    }
}

fn slow_group<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut group = c.benchmark_group(name);
    group.sample_size(30).sampling_mode(SamplingMode::Flat);
    group
}

fn locks_10k(c: &mut Criterion) {
    setup();
    const N: usize = 10_000;
    let mut group = slow_group(c, "locks_10k");
    many_locks_case::<ParkingLotMutex>(&mut group, N, false);
    many_locks_case::<ParkingLot013Mutex>(&mut group, N, false);
    many_locks_case::<FloorMutex>(&mut group, N, false);
    many_locks_case::<LockcheckMutex>(&mut group, N, false);
    many_locks_case::<TracingMutex>(&mut group, N, false);
    many_locks_case::<DeloxideMutex>(&mut group, N, false);
    group.finish();
}

fn locks_n(c: &mut Criterion) {
    setup();
    let mut group = slow_group(c, "locks_n");
    for n in [1_000, 10_000, 100_000] {
        many_locks_case::<ParkingLotMutex>(&mut group, n, true);
        many_locks_case::<LockcheckMutex>(&mut group, n, true);
    }
    group.finish();
}

/// `n` fresh mutexes made under an outer lock, each locked once, then all
/// dropped: every iteration makes new ones, as user code making a lock per
/// request does.
fn fresh_case<M: BenchMutex>(group: &mut Group<'_>, n: usize) {
    let outer = M::new(0);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(BenchmarkId::new(M::name(), n), |b| {
        b.iter(|| {
            let _held = outer.lock();
            let locks: Vec<M> = (0..n as u64).map(M::new).collect();
            for lock in &locks {
                black_box(*lock.lock());
            }
            // `locks` is dropped first, inside the timing, `_held` after.
        });
    });
}

fn fresh_n(c: &mut Criterion) {
    setup();
    let mut group = slow_group(c, "fresh_n");
    for n in [1_000, 10_000, 100_000] {
        fresh_case::<ParkingLotMutex>(&mut group, n);
        fresh_case::<ParkingLot013Mutex>(&mut group, n);
        fresh_case::<FloorMutex>(&mut group, n);
        fresh_case::<LockcheckMutex>(&mut group, n);
        fresh_case::<TracingMutex>(&mut group, n);
        fresh_case::<DeloxideMutex>(&mut group, n);
    }
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
    targets = uncontended, chain4, chain4_capture, create_lock_under_outer, create_lock_under_outer_bt, contended2,
        locks_10k, locks_n, fresh_n
}
criterion_main!(benches);
