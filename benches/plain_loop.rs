//! The lock path as user code meets it: a plain loop calling `lock()`, no
//! benchmark framework in between, every implementation measured in the same
//! process in interleaved rounds, and the median of the rounds reported (the
//! figures move 20–60% between hosts and runs; within one run, interleaving
//! gives each implementation the same conditions).
//!
//! ```text
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench plain_loop               # 15 rounds
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench plain_loop -- --rounds 5
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench plain_loop -- --case fresh   # cases whose name has `fresh`
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench plain_loop -- --backtraces off  # lockcheck keeping no stacks
//! ```
//!
//! lockcheck runs with its default stacks (`--backtraces callers`: a new
//! edge keeps a few frames for its callers, the first eight new edges of
//! each acquire site in each thread); `--backtraces off` keeps none and
//! `--backtraces full` whole backtraces, as `RUST_BACKTRACE=1` would.
//!
//! It prints the CPU model and load, then one Markdown table: the median
//! time per acquisition of each implementation and its median ratio to
//! parking_lot 0.12, with `floor` (a thread-local held stack and chain-key
//! cache around the same raw lock, `benches/mutexes/floor.rs`) as the
//! distance to the physical limit. Cases:
//!
//! * `uncontended`: one thread, one mutex, `*m.lock() += 1`;
//! * `chain4`: four mutexes locked nested in one order, then released;
//! * `new edge`: with an outer lock held, a mutex made, locked, unlocked and
//!   dropped: a new lock-order edge every time;
//! * `new edge, stack each`: the same with no budget on caller stacks, so
//!   that lockcheck takes one for every edge (what the first eight edges of
//!   a site cost; under `--backtraces full`, every one);
//! * `fresh N`: with an outer lock held, N mutexes made, each locked once
//!   (first touch), then all dropped, in passes until 100,000 were made;
//!   per lock, for N = 1,000, 10,000 and 100,000, so that linearity can be
//!   read off;
//! * `second touch 10k`: 10,000 mutexes taken under an outer one a second
//!   time (lockcheck's parked edges enter the graph in this pass);
//! * `known 10k`: the third pass over them: every edge known, the steady
//!   state;
//! * `contended2`: two threads on one mutex, each doing the same number of
//!   lock/unlock pairs from a common start; the pair's time per acquisition.
//! * `chain4, 8 threads`: eight threads each taking the same four mutexes
//!   nested in one order, from a common start: the steady state of a worker
//!   pool, where nothing new is learned; run it with `--backtraces full` to
//!   see that capture costs it nothing (`RUST_BACKTRACE=1`).

#[allow(dead_code)] // not every bench uses every helper
mod host;
mod mutexes;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use lockcheck::config::Backtraces;

use host::{cpu_model, load, median};
use mutexes::{
    setup, BenchMutex, DeloxideMutex, FloorMutex, LockcheckMutex, LockcheckStdMutex,
    ParkingLot013Mutex, ParkingLotMutex, StdMutex, TracingMutex,
};

/// Acquisitions per measurement of the cheap cases.
const N: u64 = 1_000_000;

/// One case: nanoseconds per acquisition for implementation `M`.
type Case = fn(u64) -> f64;

fn time(iters: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

fn uncontended<M: BenchMutex>(n: u64) -> f64 {
    let m = M::new(0);
    time(n, || {
        black_box(*black_box(&m).lock());
    })
}

fn chain4<M: BenchMutex>(n: u64) -> f64 {
    let m: Vec<M> = (0..4).map(M::new).collect();
    time(n / 4, || {
        let _a = m[0].lock();
        let _b = m[1].lock();
        let _c = m[2].lock();
        black_box(*m[3].lock());
    }) / 4.0
}

fn new_edge<M: BenchMutex>(n: u64) -> f64 {
    let outer = M::new(0);
    let _held = outer.lock();
    time(n / 10, || {
        let m = M::new(1);
        black_box(*m.lock());
    })
}

/// `new_edge` with a caller stack taken for every edge: the budget per site
/// lifted for the case, and put back after it.
fn new_edge_stacked<M: BenchMutex>(n: u64) -> f64 {
    let budget = lockcheck::config::caller_stacks_per_site();
    lockcheck::config::set_caller_stacks_per_site(u32::MAX);
    // A stack costs microseconds: a hundredth of the iterations.
    let ns = new_edge::<M>(n / 10);
    lockcheck::config::set_caller_stacks_per_site(budget);
    ns
}

/// Fresh locks a `fresh` measurement makes in all: a pass of 1,000 takes
/// some 8 µs with parking_lot, short enough for one preemption on a
/// shared 2-core host to make it 2.7 µs a lock (seen once in a full run);
/// so small passes are repeated, each with locks of its own.
const FRESH_TOTAL: usize = 100_000;

/// `count` fresh mutexes, each taken once under an outer lock, then all
/// dropped (a pass), repeated with new ones until [`FRESH_TOTAL`] were
/// made: per lock.
fn fresh<M: BenchMutex>(count: usize) -> f64 {
    let outer = M::new(0);
    let passes = FRESH_TOTAL.div_ceil(count);
    let start = Instant::now();
    for _ in 0..passes {
        let _held = outer.lock();
        let locks: Vec<M> = (0..count as u64).map(M::new).collect();
        for m in &locks {
            black_box(*m.lock());
        }
    }
    start.elapsed().as_nanos() as f64 / (passes * count) as f64
}

fn fresh_1k<M: BenchMutex>(_: u64) -> f64 {
    fresh::<M>(1_000)
}

fn fresh_10k<M: BenchMutex>(_: u64) -> f64 {
    fresh::<M>(10_000)
}

fn fresh_100k<M: BenchMutex>(_: u64) -> f64 {
    fresh::<M>(100_000)
}

/// 10,000 mutexes taken under an outer one, after `before` passes of the
/// same: per lock, the pass after them.
fn pass_10k<M: BenchMutex>(before: usize) -> f64 {
    let outer = M::new(0);
    let locks: Vec<M> = (0..10_000).map(M::new).collect();
    let pass = || {
        let _held = outer.lock();
        for m in &locks {
            black_box(*m.lock());
        }
    };
    for _ in 0..before {
        pass();
    }
    let start = Instant::now();
    pass();
    start.elapsed().as_nanos() as f64 / locks.len() as f64
}

/// The second touch of 10,000 locks first taken under an outer lock: for
/// lockcheck, the pass in which their parked edges enter the graph.
fn second_10k<M: BenchMutex>(_: u64) -> f64 {
    pass_10k::<M>(1)
}

/// Their steady state: every edge known.
fn known_10k<M: BenchMutex>(_: u64) -> f64 {
    pass_10k::<M>(2)
}

fn contended2<M: BenchMutex>(n: u64) -> f64 {
    let m = M::new(0);
    let start = Barrier::new(3);
    let each = n / 4;
    let mut began = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                start.wait();
                for _ in 0..each {
                    black_box(*m.lock());
                }
            });
        }
        start.wait();
        began = Instant::now();
        // The scope joins both threads before it returns.
    });
    began.elapsed().as_nanos() as f64 / (2 * each) as f64
}

/// Eight threads, each taking four mutexes nested in one order, the same
/// four for all, from a common start: per acquisition. The steady state of
/// a service's worker pool: nothing new is learned, so with stacks on
/// (`--backtraces full`, as `RUST_BACKTRACE=1` gives) nothing may be
/// captured either.
fn chain4_8threads<M: BenchMutex>(n: u64) -> f64 {
    let m: Vec<M> = (0..4).map(M::new).collect();
    let start = Barrier::new(9);
    let each = n / 32;
    let mut began = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                start.wait();
                for _ in 0..each {
                    let _a = m[0].lock();
                    let _b = m[1].lock();
                    let _c = m[2].lock();
                    black_box(*m[3].lock());
                }
            });
        }
        start.wait();
        began = Instant::now();
    });
    began.elapsed().as_nanos() as f64 / (8 * 4 * each) as f64
}

/// The implementations, in table order: name and its cases.
struct Implementation {
    name: &'static str,
    cases: Vec<Case>,
}

fn implementation<M: BenchMutex>() -> Implementation {
    Implementation {
        name: M::name(),
        cases: vec![
            uncontended::<M>,
            chain4::<M>,
            new_edge::<M>,
            new_edge_stacked::<M>,
            fresh_1k::<M>,
            fresh_10k::<M>,
            fresh_100k::<M>,
            second_10k::<M>,
            known_10k::<M>,
            contended2::<M>,
            chain4_8threads::<M>,
        ],
    }
}

const CASES: [&str; 11] = [
    "uncontended",
    "chain4",
    "new edge",
    "new edge, stack each",
    "fresh 1k",
    "fresh 10k",
    "fresh 100k",
    "second touch 10k",
    "known 10k",
    "contended2",
    "chain4, 8 threads",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 15;
    let mut only: Option<String> = None;
    let mut backtraces = Backtraces::Callers;
    while let Some(arg) = args.next() {
        if arg == "--case" {
            only = args.next();
        } else if arg == "--backtraces" {
            backtraces = match args.next().as_deref() {
                Some("off") => Backtraces::Off,
                Some("callers") => Backtraces::Callers,
                Some("full") => Backtraces::Full,
                _ => {
                    eprintln!("--backtraces takes off, callers or full");
                    std::process::exit(2)
                }
            };
        } else if arg == "--rounds" {
            rounds = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or_else(|| {
                    eprintln!("--rounds takes a whole number above 0");
                    std::process::exit(2)
                });
        }
    }
    setup();
    lockcheck::config::set_backtrace_mode(backtraces);
    let impls = [
        implementation::<ParkingLotMutex>(),
        implementation::<ParkingLot013Mutex>(),
        implementation::<StdMutex>(),
        implementation::<FloorMutex>(),
        implementation::<LockcheckMutex>(),
        implementation::<LockcheckStdMutex>(),
        implementation::<TracingMutex>(),
        implementation::<DeloxideMutex>(),
    ];
    println!(
        "CPU: {} ({} threads), load {} at start, {rounds} interleaved rounds, median; lockcheck's stacks: {backtraces:?}",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load()
    );
    // times[impl][case][round]
    let mut times = vec![vec![Vec::with_capacity(rounds); CASES.len()]; impls.len()];
    let wanted = |case: &str| only.as_deref().is_none_or(|o| case.contains(o));
    for round in 0..rounds {
        for (c, case) in CASES.iter().enumerate() {
            if !wanted(case) {
                continue;
            }
            // Each round starts with the next implementation: the first
            // measured after the case before was slow (parking_lot 0.12's
            // `fresh 1k`, 16–20 ns against 8 for every other round's
            // 0.13), and a median takes one slow round of each
            // implementation in its stride.
            for k in 0..impls.len() {
                let i = (round + k) % impls.len();
                // A pause between implementations: deloxide's detector
                // thread goes on with what the last case queued for it,
                // and on a 2-core host took the next measurement's core.
                std::thread::sleep(std::time::Duration::from_millis(20));
                times[i][c].push((impls[i].cases[c])(N));
            }
        }
    }
    println!("load {} at end\n", load());
    print!("| case |");
    for imp in &impls {
        print!(" {} |", imp.name);
    }
    println!();
    print!("|---|");
    for _ in &impls {
        print!("---:|");
    }
    println!();
    for (c, case) in CASES.iter().enumerate() {
        if !wanted(case) {
            continue;
        }
        print!("| {case} |");
        for i in 0..impls.len() {
            let ratios: Vec<f64> = (0..rounds)
                .map(|r| times[i][c][r] / times[0][c][r])
                .collect();
            let ns = median(times[i][c].clone());
            if i == 0 {
                print!(" {ns:.2} ns |");
            } else {
                print!(" {ns:.2} ns ({:.2}×) |", median(ratios));
            }
        }
        println!();
    }
}
