//! The mutexes the lock benches compare, behind one trait, so that every
//! benchmark is written once and monomorphised per implementation (shared by
//! `benches/locks.rs`, the criterion groups, and `benches/plain_loop.rs`, the
//! plain-loop harness).
//!
//! * `parking_lot`: `parking_lot::Mutex` 0.12, the baseline every ratio is
//!   taken against (lockcheck's raw lock is 0.12's);
//! * `parking_lot-0.13`: the same from parking_lot 0.13, which defers
//!   wake-ups until after the unlock;
//! * `std`: `std::sync::Mutex`;
//! * `lockcheck`: `lockcheck::Mutex`, default features, backtraces off;
//! * `lockcheck-std`: `lockcheck::stdsync::Mutex`, std's shape (poisoning)
//!   on the same checked lock;
//! * `tracing-mutex`, `deloxide`: the other detectors (see `benches/locks.rs`);
//! * `floor`: the physical limit of a detector built this way — a
//!   thread-local held stack and chain-key cache around parking_lot's raw
//!   mutex, checking nothing else (`floor.rs`).

#![allow(dead_code)] // each bench uses part of it

use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use deloxide::{DeadlockInfo, DeadlockSource, Deloxide};

pub mod floor;

pub type ParkingLotMutex = parking_lot::Mutex<u64>;
pub type ParkingLot013Mutex = parking_lot_013::Mutex<u64>;
pub type StdMutex = std::sync::Mutex<u64>;
pub type LockcheckMutex = lockcheck::Mutex<u64>;
pub type LockcheckStdMutex = lockcheck::stdsync::Mutex<u64>;
pub type TracingMutex = tracing_mutex::parkinglot::tracing::Mutex<u64>;
pub type DeloxideMutex = deloxide::Mutex<u64>;
pub type FloorMutex = floor::Mutex<u64>;

/// The common surface of the mutexes.
pub trait BenchMutex: Sync {
    /// Criterion function id, and directory name under `target/criterion/<group>/`.
    fn name() -> &'static str;
    fn new(value: u64) -> Self;
    fn lock(&self) -> impl Deref<Target = u64> + '_;
}

macro_rules! bench_mutex {
    ($ty:ty, $name:expr, $new:expr, $lock:expr) => {
        impl BenchMutex for $ty {
            fn name() -> &'static str {
                $name
            }

            fn new(value: u64) -> Self {
                $new(value)
            }

            #[inline]
            fn lock(&self) -> impl Deref<Target = u64> + '_ {
                $lock(self)
            }
        }
    };
}

bench_mutex!(
    ParkingLotMutex,
    "parking_lot",
    parking_lot::Mutex::new,
    parking_lot::Mutex::lock
);
bench_mutex!(
    ParkingLot013Mutex,
    "parking_lot-0.13",
    parking_lot_013::Mutex::new,
    parking_lot_013::Mutex::lock
);
bench_mutex!(StdMutex, "std", std::sync::Mutex::new, std_lock);
bench_mutex!(
    LockcheckStdMutex,
    "lockcheck-std",
    lockcheck::stdsync::Mutex::new,
    lockcheck_std_lock
);
bench_mutex!(
    LockcheckMutex,
    "lockcheck",
    lockcheck::Mutex::new,
    lockcheck::Mutex::lock
);
bench_mutex!(
    TracingMutex,
    "tracing-mutex",
    tracing_mutex::parkinglot::tracing::Mutex::new,
    tracing_mutex::parkinglot::tracing::Mutex::lock
);
bench_mutex!(
    DeloxideMutex,
    deloxide_name(),
    deloxide::Mutex::new,
    deloxide::Mutex::lock
);
bench_mutex!(FloorMutex, "floor", floor::Mutex::new, floor::Mutex::lock);

/// lockcheck's std-shaped lock, likewise.
#[inline]
fn lockcheck_std_lock(m: &LockcheckStdMutex) -> lockcheck::stdsync::MutexGuard<'_, u64> {
    m.lock()
        .unwrap_or_else(lockcheck::stdsync::PoisonError::into_inner)
}

/// std's lock; a poisoned lock cannot happen here (no benchmark panics
/// holding one), and would be used as it is.
#[inline]
fn std_lock(m: &StdMutex) -> std::sync::MutexGuard<'_, u64> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The deloxide implementation name for this build: `deloxide` (wait-for
/// graph, the default) or `deloxide-lock-order` (built with
/// `--features deloxide/lock-order-graph`). Starts deloxide on first call.
pub fn deloxide_name() -> &'static str {
    static NAME: OnceLock<&'static str> = OnceLock::new();
    NAME.get_or_init(start_deloxide)
}

/// Starts deloxide (once per process, see `deloxide_name`) and finds out
/// which mode was compiled in.
fn start_deloxide() -> &'static str {
    static PROBING: AtomicBool = AtomicBool::new(true);
    let (probe_tx, probe_rx) = mpsc::sync_channel::<()>(1);
    Deloxide::new()
        .callback(move |info: DeadlockInfo| {
            if PROBING.load(Ordering::SeqCst)
                && matches!(info.source, DeadlockSource::LockOrderViolation)
            {
                let _ = probe_tx.try_send(());
            } else {
                eprintln!("deloxide reported a deadlock during the benchmark: {info:?}");
            }
        })
        .start()
        .expect("failed to start deloxide");

    // Take two private locks in both orders, on one thread: nothing blocks,
    // but a lock-order graph sees the cycle and reports it (asynchronously,
    // from deloxide's dispatcher thread). The wait-for graph sees nothing.
    let a = deloxide::Mutex::new(());
    let b = deloxide::Mutex::new(());
    {
        let _a = a.lock();
        let _b = b.lock();
    }
    {
        let _b = b.lock();
        let _a = a.lock();
    }
    let lock_order = probe_rx.recv_timeout(Duration::from_secs(1)).is_ok();
    PROBING.store(false, Ordering::SeqCst);
    if lock_order {
        "deloxide-lock-order"
    } else {
        "deloxide"
    }
}

/// Per-benchmark setup; cheap after the first call.
pub fn setup() {
    // Backtrace capture off; `LOCKCHECK_BACKTRACE=1` would turn it on.
    lockcheck::config::set_backtraces(false);

    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // std::backtrace::Backtrace::capture, used by tracing-mutex, reads
        // RUST_LIB_BACKTRACE first and falls back to RUST_BACKTRACE.
        let capture = std::env::var_os("RUST_LIB_BACKTRACE")
            .or_else(|| std::env::var_os("RUST_BACKTRACE"))
            .is_some_and(|v| v != "0");
        if capture {
            eprintln!(
                "warning: RUST_LIB_BACKTRACE/RUST_BACKTRACE enable backtraces: tracing-mutex will \
                 capture one for every new lock-order edge, which skews its numbers; unset them \
                 for comparable results"
            );
        }
        if !lockcheck::config::enabled() {
            eprintln!(
                "warning: lockcheck checking is off (LOCKCHECK=off or the `checks` feature is \
                 disabled): the `lockcheck` numbers measure plain parking_lot locks"
            );
        }
        deloxide_name();
    });
}
