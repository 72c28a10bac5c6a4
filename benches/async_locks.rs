//! The async locks as user code meets them: a loop of `lock().await` and
//! drop, lockcheck::tokio against tokio::sync in the same process,
//! interleaved rounds, the median of the rounds (as `waits.rs` measures
//! the blocking waits).
//!
//! ```text
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench async_locks               # 9 rounds
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench async_locks -- --rounds 5
//! ```
//!
//! Cases, each timed per operation over `N` of them, on a current-thread
//! runtime (no contention: what every uncontended acquisition pays):
//!
//! * `mutex lock().await + drop`: in the `block_on` body (the thread is
//!   the holder), and in an instrumented task (the task is);
//! * `rwlock read().await + drop`, `rwlock write().await + drop`: the
//!   same, in an instrumented task;
//! * `two nested mutexes`: an outer and an inner `lock().await`, held
//!   together, in an instrumented task (a known chain);
//! * `spawn + await, one lock`: a task spawned (`lockcheck::tokio::spawn`
//!   against `tokio::spawn`) that takes one mutex, awaited: the task's
//!   slot and the swap of its held set at each poll;
//! * `blocking mutex in a task`: lockcheck's parking_lot-shaped `Mutex`
//!   taken in an instrumented task against parking_lot's (the sync lock's
//!   figure with the feature on).

#[allow(dead_code)] // not every bench uses every helper
mod host;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use host::{cpu_model, load, median};

/// Operations per measurement.
const N: u64 = 200_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

/// Nanoseconds per operation of `f(n)`, run in a fresh runtime's
/// `block_on`.
fn timed<F: std::future::Future<Output = ()>>(n: u64, f: impl FnOnce(u64) -> F) -> f64 {
    let rt = runtime();
    let t0 = Instant::now();
    rt.block_on(f(n));
    t0.elapsed().as_nanos() as f64 / n as f64
}

macro_rules! lock_loop {
    ($name:ident, $make:expr, $op:ident, $wrap:expr) => {
        fn $name(n: u64) -> f64 {
            timed(n, |n| async move {
                let lock = $make;
                $wrap(async {
                    for _ in 0..n {
                        black_box(&*lock.$op().await);
                    }
                })
                .await
            })
        }
    };
}

async fn plain<F: std::future::Future<Output = ()>>(f: F) {
    f.await
}

lock_loop!(mutex_tokio, tokio::sync::Mutex::new(0u64), lock, plain);
lock_loop!(
    mutex_lockcheck_body,
    lockcheck::tokio::Mutex::new(0u64),
    lock,
    plain
);
lock_loop!(
    mutex_lockcheck_task,
    lockcheck::tokio::Mutex::new(0u64),
    lock,
    lockcheck::tokio::instrument
);
lock_loop!(read_tokio, tokio::sync::RwLock::new(0u64), read, plain);
lock_loop!(
    read_lockcheck_task,
    lockcheck::tokio::RwLock::new(0u64),
    read,
    lockcheck::tokio::instrument
);
lock_loop!(write_tokio, tokio::sync::RwLock::new(0u64), write, plain);
lock_loop!(
    write_lockcheck_task,
    lockcheck::tokio::RwLock::new(0u64),
    write,
    lockcheck::tokio::instrument
);

fn nested_tokio(n: u64) -> f64 {
    timed(n, |n| async move {
        let (outer, inner) = (tokio::sync::Mutex::new(0u64), tokio::sync::Mutex::new(0u64));
        for _ in 0..n {
            let _o = outer.lock().await;
            black_box(&*inner.lock().await);
        }
    })
}

fn nested_lockcheck(n: u64) -> f64 {
    timed(n, |n| {
        lockcheck::tokio::instrument(async move {
            let (outer, inner) = (
                lockcheck::tokio::Mutex::new(0u64),
                lockcheck::tokio::Mutex::new(0u64),
            );
            for _ in 0..n {
                let _o = outer.lock().await;
                black_box(&*inner.lock().await);
            }
        })
    })
}

/// Spawns are slower than locks: a tenth as many.
fn spawn_tokio(n: u64) -> f64 {
    let n = n / 10;
    timed(n, |n| async move {
        let m = Arc::new(tokio::sync::Mutex::new(0u64));
        for _ in 0..n {
            let m = m.clone();
            tokio::spawn(async move { *m.lock().await += 1 })
                .await
                .expect("task");
        }
    })
}

fn spawn_lockcheck(n: u64) -> f64 {
    let n = n / 10;
    timed(n, |n| async move {
        let m = Arc::new(lockcheck::tokio::Mutex::new(0u64));
        for _ in 0..n {
            let m = m.clone();
            lockcheck::tokio::spawn(async move { *m.lock().await += 1 })
                .await
                .expect("task");
        }
    })
}

fn blocking_parking_lot(n: u64) -> f64 {
    timed(n, |n| async move {
        let m = parking_lot::Mutex::new(0u64);
        for _ in 0..n {
            black_box(&*m.lock());
        }
    })
}

fn blocking_lockcheck_task(n: u64) -> f64 {
    timed(n, |n| {
        lockcheck::tokio::instrument(async move {
            let m = lockcheck::Mutex::new(0u64);
            for _ in 0..n {
                black_box(&*m.lock());
            }
        })
    })
}

type Impl = (&'static str, fn(u64) -> f64);

struct Row {
    case: &'static str,
    impls: Vec<Impl>,
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            case: "mutex lock().await + drop",
            impls: vec![
                ("tokio", mutex_tokio),
                ("lockcheck (block_on body)", mutex_lockcheck_body),
                ("lockcheck (instrumented task)", mutex_lockcheck_task),
            ],
        },
        Row {
            case: "rwlock read().await + drop",
            impls: vec![
                ("tokio", read_tokio),
                ("lockcheck (task)", read_lockcheck_task),
            ],
        },
        Row {
            case: "rwlock write().await + drop",
            impls: vec![
                ("tokio", write_tokio),
                ("lockcheck (task)", write_lockcheck_task),
            ],
        },
        Row {
            case: "two nested mutexes",
            impls: vec![
                ("tokio", nested_tokio),
                ("lockcheck (task)", nested_lockcheck),
            ],
        },
        Row {
            case: "spawn + await, one lock",
            impls: vec![("tokio", spawn_tokio), ("lockcheck", spawn_lockcheck)],
        },
        Row {
            case: "blocking mutex in a task",
            impls: vec![
                ("parking_lot", blocking_parking_lot),
                ("lockcheck (task)", blocking_lockcheck_task),
            ],
        },
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = host::rounds(&args, 9);
    lockcheck::config::set_backtraces(false);
    if !lockcheck::config::enabled() {
        eprintln!("warning: lockcheck checking is off: its figures are the raw primitives'");
    }
    println!(
        "CPU: {} ({} threads), load {} at start, {rounds} interleaved rounds, median",
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load()
    );
    let rows = rows();
    let mut times: Vec<Vec<Vec<f64>>> = rows
        .iter()
        .map(|r| vec![Vec::with_capacity(rounds); r.impls.len()])
        .collect();
    for _ in 0..rounds {
        for (r, row) in rows.iter().enumerate() {
            for (i, (_, case)) in row.impls.iter().enumerate() {
                times[r][i].push(case(N));
            }
        }
    }
    println!("load {} at end\n", load());
    println!(
        "| case | baseline | lockcheck (ratio to the baseline, median of the rounds' ratios) |"
    );
    println!("|---|---:|---|");
    for (r, row) in rows.iter().enumerate() {
        let base = median(times[r][0].clone());
        let others: Vec<String> = (1..row.impls.len())
            .map(|i| {
                let ratios: Vec<f64> = (0..rounds)
                    .map(|k| times[r][i][k] / times[r][0][k])
                    .collect();
                format!(
                    "{} {:.1} ns ({:.2}×)",
                    row.impls[i].0,
                    median(times[r][i].clone()),
                    median(ratios)
                )
            })
            .collect();
        println!(
            "| {} | {} {base:.1} ns | {} |",
            row.case,
            row.impls[0].0,
            others.join(", ")
        );
    }
}
