//! A hang lockcheck cannot break, for `cli/tests/snapshot.rs`: the main
//! thread holds `snapshot.conn` and then waits in a std channel (where
//! lockcheck does not see it) for a message nobody sends, while a
//! lockcheck thread waits for `snapshot.conn`. No rule fires — the main
//! thread may yet be woken, for all lockcheck knows — so the program hangs
//! until it is killed; asked for a snapshot, it says who waits for what.

use std::sync::Arc;

use lockcheck::Mutex;

fn main() {
    let conn = Arc::new(Mutex::named("snapshot.conn", 0u32));
    let held = conn.lock();
    let c = conn.clone();
    let _worker = lockcheck::thread::Builder::new()
        .name("worker".to_owned())
        .spawn(move || *c.lock() += 1)
        .expect("spawn the worker");
    // Kept, so that the receive never returns.
    let (_tx, rx) = std::sync::mpsc::channel::<()>();
    let _ = rx.recv();
    drop(held);
}
