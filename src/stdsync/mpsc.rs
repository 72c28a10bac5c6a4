//! Channels in `std::sync::mpsc`'s shape, on lockcheck's checked channels
//! ([`crate::sync::mpsc`]): a send happens before the receive that gets its
//! message. The error types are std's own.
//!
//! ```
//! use lockcheck::stdsync::mpsc;
//! let (tx, rx) = mpsc::channel();
//! let producer = std::thread::spawn(move || {
//!     for n in 1..=3 {
//!         tx.send(n).unwrap();
//!     }
//! });
//! let received: Vec<u32> = rx.iter().collect(); // ends when the sender is gone
//! producer.join().unwrap();
//! assert_eq!(received, [1, 2, 3]);
//! ```

use std::fmt;
use std::time::Duration;

use crate::sync::mpsc as checked;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// An unbounded channel, as std's `channel`; reports name it by where it
/// was made (or by `with_name` on either half).
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = checked::channel();
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// A channel holding at most `bound` messages (0: each send waits for its
/// receive), as std's `sync_channel`.
#[track_caller]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = checked::sync_channel(bound);
    (SyncSender { inner: tx }, Receiver { inner: rx })
}

/// The sending half of [`channel`], as std's.
pub struct Sender<T> {
    inner: checked::Sender<T>,
}

impl<T> Sender<T> {
    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Sender {
            inner: self.inner.with_name(name),
        }
    }

    /// Sends a message; `Err` gives it back if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner.send(t).map_err(|e| SendError(e.0))
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The sending half of [`sync_channel`], as std's.
pub struct SyncSender<T> {
    inner: checked::SyncSender<T>,
}

impl<T> SyncSender<T> {
    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        SyncSender {
            inner: self.inner.with_name(name),
        }
    }

    /// Sends a message, waiting while the channel is full; `Err` gives it
    /// back if the receiver is gone.
    #[track_caller]
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner.send(t).map_err(|e| SendError(e.0))
    }

    /// Sends a message if there is room now.
    #[track_caller]
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(t).map_err(|e| match e {
            checked::TrySendError::Full(t) => TrySendError::Full(t),
            checked::TrySendError::Disconnected(t) => TrySendError::Disconnected(t),
        })
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        SyncSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

/// The receiving half of a channel, as std's.
pub struct Receiver<T> {
    inner: checked::Receiver<T>,
}

impl<T> Receiver<T> {
    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        Receiver {
            inner: self.inner.with_name(name),
        }
    }

    /// Waits for a message; `Err` once every sender is gone and the channel
    /// is empty.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.inner.recv()
    }

    /// Takes a message if one is waiting.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Waits for a message at most `timeout`.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.inner.recv_timeout(timeout)
    }

    /// Iterates over messages, waiting for each, until every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Iterates over the messages waiting now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Iterator over a [`Receiver`]'s messages, waiting for each, as std's.
#[derive(Debug)]
pub struct Iter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Iterator over the messages waiting in a [`Receiver`] now, as std's.
#[derive(Debug)]
pub struct TryIter<'a, T: 'a> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning iterator over a [`Receiver`]'s messages, as std's.
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
