//! The waits as user code meets them: condition variables, channels and
//! barriers between two threads, lockcheck against parking_lot 0.12 and std
//! in the same process, interleaved rounds, the median of the rounds (as
//! `plain_loop.rs` measures the locks).
//!
//! ```text
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench waits               # 9 rounds
//! env -u RUST_BACKTRACE cargo bench -p lockcheck --bench waits -- --rounds 5
//! ```
//!
//! Waits are slow paths: each registers in the wait-for graph only after
//! the grace period (50 ms), which none of these waits reaches, so what is
//! measured is the fast part every wait pays — the notification counter,
//! the hand-off of happens-before, the bounded channel's count. Cases, each
//! timed per round trip (or per message) over `N` of them:
//!
//! * `condvar ping-pong`: two threads take turns through a flag under a
//!   mutex, each waiting on its condition variable for its turn and
//!   notifying the other's after unlocking; `condvar ping-pong, notify
//!   under the lock` the same, notifying before unlocking (parking_lot and
//!   lockcheck then move the waiter onto the mutex's queue, std wakes it);
//! * `channel ping-pong`: two threads bounce a message through two
//!   channels (`channel()`); `sync_channel(1) ping-pong` the same bounded;
//! * `channel stream`: one thread sends `N` messages, the other receives
//!   them (per message);
//! * `barrier of 2`: two threads pass a two-party barrier `N` times.

#[allow(dead_code)] // not every bench uses every helper
mod host;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use host::{cpu_model, load, median};

/// Round trips (or messages) per measurement.
const N: u64 = 20_000;

/// Nanoseconds per round trip of `f`, run on two threads from a common start.
fn two_threads(n: u64, a: impl FnOnce() + Send, b: impl FnOnce() + Send) -> f64 {
    let start = std::sync::Barrier::new(2);
    let t0 = std::thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            b();
        });
        start.wait();
        let t0 = Instant::now();
        a();
        t0
    });
    t0.elapsed().as_nanos() as f64 / n as f64
}

macro_rules! condvar_ping_pong {
    ($name:ident, $held:ident, $mutex:ty, $condvar:ty, $lock:ident, $wait:expr) => {
        fn $name(n: u64) -> f64 {
            ping_pong!(n, false, $mutex, $condvar, $lock, $wait)
        }

        fn $held(n: u64) -> f64 {
            ping_pong!(n, true, $mutex, $condvar, $lock, $wait)
        }
    };
}

/// The ping-pong of `condvar_ping_pong!`, notifying with the mutex held
/// if `held`, else after unlocking.
macro_rules! ping_pong {
    ($n:expr, $held:expr, $mutex:ty, $condvar:ty, $lock:ident, $wait:expr) => {{
        let n: u64 = $n;
        // The turn: even for the first thread, odd for the second.
        let state = Arc::new((<$mutex>::new(0u64), <$condvar>::new(), <$condvar>::new()));
        let (s1, s2) = (state.clone(), state.clone());
        let side = move |s: Arc<($mutex, $condvar, $condvar)>, me: u64| {
            for _ in 0..n {
                let (turn, mine, theirs) = (
                    &s.0,
                    if me == 0 { &s.1 } else { &s.2 },
                    if me == 0 { &s.2 } else { &s.1 },
                );
                let mut t = $lock(turn);
                while *t % 2 != me {
                    t = $wait(mine, t);
                }
                *t += 1;
                if $held {
                    theirs.notify_one();
                    drop(t);
                } else {
                    drop(t);
                    theirs.notify_one();
                }
            }
        };
        two_threads(n, move || side(s1, 0), move || side(s2, 1))
    }};
}

fn pl_lock<T>(m: &parking_lot::Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    m.lock()
}
fn pl_wait<'a, T>(
    c: &parking_lot::Condvar,
    mut g: parking_lot::MutexGuard<'a, T>,
) -> parking_lot::MutexGuard<'a, T> {
    c.wait(&mut g);
    g
}
fn std_lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("not poisoned")
}
fn std_wait<'a, T>(
    c: &std::sync::Condvar,
    g: std::sync::MutexGuard<'a, T>,
) -> std::sync::MutexGuard<'a, T> {
    c.wait(g).expect("not poisoned")
}
fn lc_lock<T>(m: &lockcheck::Mutex<T>) -> lockcheck::MutexGuard<'_, T> {
    m.lock()
}
fn lc_wait<'a, T>(
    c: &lockcheck::Condvar,
    mut g: lockcheck::MutexGuard<'a, T>,
) -> lockcheck::MutexGuard<'a, T> {
    c.wait(&mut g);
    g
}
fn lcs_lock<T>(m: &lockcheck::stdsync::Mutex<T>) -> lockcheck::stdsync::MutexGuard<'_, T> {
    m.lock().expect("not poisoned")
}
fn lcs_wait<'a, T>(
    c: &lockcheck::stdsync::Condvar,
    g: lockcheck::stdsync::MutexGuard<'a, T>,
) -> lockcheck::stdsync::MutexGuard<'a, T> {
    c.wait(g).expect("not poisoned")
}

condvar_ping_pong!(
    condvar_parking_lot,
    condvar_held_parking_lot,
    parking_lot::Mutex<u64>,
    parking_lot::Condvar,
    pl_lock,
    pl_wait
);
condvar_ping_pong!(
    condvar_std,
    condvar_held_std,
    std::sync::Mutex<u64>,
    std::sync::Condvar,
    std_lock,
    std_wait
);
condvar_ping_pong!(
    condvar_lockcheck,
    condvar_held_lockcheck,
    lockcheck::Mutex<u64>,
    lockcheck::Condvar,
    lc_lock,
    lc_wait
);
condvar_ping_pong!(
    condvar_lockcheck_std,
    condvar_held_lockcheck_std,
    lockcheck::stdsync::Mutex<u64>,
    lockcheck::stdsync::Condvar,
    lcs_lock,
    lcs_wait
);

/// `n` round trips of a message: out through `to_b`/`from_a`, back
/// through `to_a`/`from_b` (any channel with std's `send`/`recv`).
macro_rules! ping_pong {
    ($n:expr, $to_b:ident, $from_a:ident, $to_a:ident, $from_b:ident) => {{
        let n = $n;
        two_threads(
            n,
            move || {
                for i in 0..n {
                    $to_b.send(i).expect("b is there");
                    black_box($from_b.recv().expect("b answers"));
                }
            },
            move || {
                for _ in 0..n {
                    let v: u64 = $from_a.recv().expect("a sends");
                    $to_a.send(v).expect("a is there");
                }
            },
        )
    }};
}

macro_rules! channel_cases {
    ($ping:ident, $bounded:ident, $stream:ident, $channel:path, $sync_channel:path) => {
        fn $ping(n: u64) -> f64 {
            let (to_b, from_a) = $channel();
            let (to_a, from_b) = $channel();
            ping_pong!(n, to_b, from_a, to_a, from_b)
        }

        fn $bounded(n: u64) -> f64 {
            let (to_b, from_a) = $sync_channel(1);
            let (to_a, from_b) = $sync_channel(1);
            ping_pong!(n, to_b, from_a, to_a, from_b)
        }

        fn $stream(n: u64) -> f64 {
            let n = n * 10;
            let (tx, rx) = $channel();
            two_threads(
                n,
                move || {
                    for _ in 0..n {
                        black_box(rx.recv().expect("sent"));
                    }
                },
                move || {
                    for i in 0..n {
                        tx.send(i).expect("received");
                    }
                },
            )
        }
    };
}

channel_cases!(
    ping_std,
    bounded_std,
    stream_std,
    std::sync::mpsc::channel::<u64>,
    std::sync::mpsc::sync_channel::<u64>
);
channel_cases!(
    ping_lockcheck,
    bounded_lockcheck,
    stream_lockcheck,
    lockcheck::sync::mpsc::channel::<u64>,
    lockcheck::sync::mpsc::sync_channel::<u64>
);

fn barrier_std(n: u64) -> f64 {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let other = barrier.clone();
    two_threads(
        n,
        move || {
            (0..n).for_each(|_| {
                black_box(barrier.wait().is_leader());
            })
        },
        move || {
            (0..n).for_each(|_| {
                black_box(other.wait().is_leader());
            })
        },
    )
}

fn barrier_lockcheck(n: u64) -> f64 {
    let barrier = Arc::new(lockcheck::sync::Barrier::new(2));
    let other = barrier.clone();
    two_threads(
        n,
        move || {
            (0..n).for_each(|_| {
                black_box(barrier.wait().is_leader());
            })
        },
        move || {
            (0..n).for_each(|_| {
                black_box(other.wait().is_leader());
            })
        },
    )
}

/// One implementation of a case: its name, and nanoseconds per round trip
/// over `n` of them.
type Impl = (&'static str, fn(u64) -> f64);

/// One row: a case and its implementations, the first the baseline.
struct Row {
    case: &'static str,
    impls: Vec<Impl>,
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            case: "condvar ping-pong",
            impls: vec![
                ("parking_lot", condvar_parking_lot),
                ("std", condvar_std),
                ("lockcheck", condvar_lockcheck),
                ("lockcheck-std", condvar_lockcheck_std),
            ],
        },
        Row {
            case: "condvar ping-pong, notify under the lock",
            impls: vec![
                ("parking_lot", condvar_held_parking_lot),
                ("std", condvar_held_std),
                ("lockcheck", condvar_held_lockcheck),
                ("lockcheck-std", condvar_held_lockcheck_std),
            ],
        },
        Row {
            case: "channel ping-pong",
            impls: vec![("std", ping_std), ("lockcheck", ping_lockcheck)],
        },
        Row {
            case: "sync_channel(1) ping-pong",
            impls: vec![("std", bounded_std), ("lockcheck", bounded_lockcheck)],
        },
        Row {
            case: "channel stream (per message)",
            impls: vec![("std", stream_std), ("lockcheck", stream_lockcheck)],
        },
        Row {
            case: "barrier of 2",
            impls: vec![("std", barrier_std), ("lockcheck", barrier_lockcheck)],
        },
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = host::rounds(&args, 9);
    // Backtrace capture off, as in the other benches; checking on.
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
    // times[row][impl][round]
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
    println!("| case | baseline | others (ratio to the baseline, median of the rounds' ratios) |");
    println!("|---|---:|---|");
    for (r, row) in rows.iter().enumerate() {
        let base = median(times[r][0].clone());
        let others: Vec<String> = (1..row.impls.len())
            .map(|i| {
                let ratios: Vec<f64> = (0..rounds)
                    .map(|k| times[r][i][k] / times[r][0][k])
                    .collect();
                format!(
                    "{} {:.0} ns ({:.2}×)",
                    row.impls[i].0,
                    median(times[r][i].clone()),
                    median(ratios)
                )
            })
            .collect();
        println!(
            "| {} | {} {base:.0} ns | {} |",
            row.case,
            row.impls[0].0,
            others.join(", ")
        );
    }
}
