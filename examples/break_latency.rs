//! How long a deadlock lasts under lockcheck: from the moment the cycle
//! closes (the later of the two threads asks for its second lock) to the
//! moment the thread that survives the break gets that lock. Prints
//! `LATENCY <seconds>`. A measurement, not a fixture (with checking off it
//! hangs, as the deadlock is real):
//!
//! ```sh
//! cargo build --examples
//! for i in $(seq 20); do
//!   target/debug/lockcheck run -- target/debug/examples/break_latency 2>/dev/null | grep LATENCY
//! done
//! ```
//!
//! The break takes lockcheck's grace period (50 ms, in which most
//! contention ends), the panic hook (which with `RUST_BACKTRACE` set prints
//! a backtrace of its own, symbolised first) and the unwinding; the
//! report's own symbolisation comes after it.

use std::sync::{mpsc, Arc, Barrier};
use std::time::Instant;

use lockcheck::Mutex;

fn main() {
    let a = Arc::new(Mutex::named("a", ()));
    let b = Arc::new(Mutex::named("b", ()));
    let both_hold_one = Arc::new(Barrier::new(2));
    let (asked_tx, asked) = mpsc::channel::<Instant>();
    let (got_tx, got) = mpsc::channel::<Instant>();
    let spawn = |first: &Arc<Mutex<()>>, second: &Arc<Mutex<()>>| {
        let (first, second) = (Arc::clone(first), Arc::clone(second));
        let both_hold_one = Arc::clone(&both_hold_one);
        let (asked_tx, got_tx) = (asked_tx.clone(), got_tx.clone());
        std::thread::spawn(move || {
            let _first = first.lock();
            both_hold_one.wait();
            let _ = asked_tx.send(Instant::now());
            let _second = second.lock();
            let _ = got_tx.send(Instant::now());
        })
    };
    let threads = [spawn(&a, &b), spawn(&b, &a)];
    drop((asked_tx, got_tx));
    for thread in threads {
        // One of them is the thread lockcheck panics in to break the cycle.
        let _ = thread.join();
    }
    let closed = asked
        .iter()
        .max()
        .expect("both threads asked for their second lock");
    let Some(broken) = got.iter().next() else {
        eprintln!("break_latency: no thread got its second lock");
        std::process::exit(2);
    };
    println!("LATENCY {:.3}", (broken - closed).as_secs_f64());
}
