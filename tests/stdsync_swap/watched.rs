// `thread::spawn` whose `join` fails the test instead of hanging: a thread
// still running after `DEADLINE` is a hang, reported as such. Included by
// tests/stdsync_swap/common.rs and tests/stdsync.rs, which define
// `DEADLINE`.

/// A spawned thread whose end can be waited for with a deadline.
struct Watched<T> {
    handle: std::thread::JoinHandle<T>,
    finished: std::sync::mpsc::Receiver<()>,
}

/// Tells the watcher the thread is done, when its body returns or unwinds.
struct Finished(std::sync::mpsc::Sender<()>);

impl Drop for Finished {
    fn drop(&mut self) {
        // The watcher may have given up already; nothing to tell then.
        let _ = self.0.send(());
    }
}

/// Spawns `f` on a thread of its own, as `std::thread::spawn`.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Watched<T> {
    let (tx, finished) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _finished = Finished(tx);
        f()
    });
    Watched { handle, finished }
}

impl<T> Watched<T> {
    /// Joins the thread, failing the test if it has not finished within
    /// `DEADLINE`.
    #[track_caller]
    fn join(self) -> std::thread::Result<T> {
        match self.finished.recv_timeout(DEADLINE) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => self.handle.join(),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the thread still runs {DEADLINE:?} on: it hangs")
            }
        }
    }
}
