//! A program part of which lockcheck cannot check, for `cli/tests/cli.rs`:
//! a plain `tokio::spawn` task (neither `lockcheck::tokio::spawn` nor
//! `instrument`) takes a `lockcheck::tokio` mutex. Its worker thread is no
//! holder for the task's async locks, so they are not checked; the run
//! finds nothing, and must not read as clean.

use std::sync::Arc;

use lockcheck::tokio::Mutex;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs = Arc::new(Mutex::named("unseen.jobs", 0u32));
    let j = jobs.clone();
    tokio::spawn(async move { *j.lock().await += 1 })
        .await
        .expect("the task ends");
    // Outside any task the thread is the holder: this one is checked.
    *jobs.lock().await += 1;
}
