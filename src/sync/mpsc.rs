//! Channels with std's API (`channel`, `sync_channel`), carrying
//! happens-before: a send is ordered before the receive that gets its
//! message, so data handed over a channel is no race.
//!
//! ```
//! use lockcheck::sync::mpsc;
//! let (tx, rx) = mpsc::channel();
//! let job = std::sync::Arc::new(lockcheck::Shared::named("job", 0));
//! let j = job.clone();
//! let worker = lockcheck::thread::spawn(move || {
//!     let n: u32 = rx.recv().unwrap();
//!     j.get() + n // ordered after the main thread's set, by the message
//! });
//! job.set(41);
//! tx.send(1).unwrap();
//! assert_eq!(worker.join().unwrap(), 42);
//! ```

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, TryRecvError};

use crate::runtime::hb::{self, HandOff};

/// A message and the sender's clocks when race checking is live.
struct Message<T> {
    value: T,
    clock: Option<HandOff>,
}

fn wrap<T>(value: T) -> Message<T> {
    Message {
        value,
        clock: hb::active().then(hb::release_clock),
    }
}

fn unwrap<T>(message: Message<T>) -> T {
    if let Some(clock) = &message.clock {
        hb::acquire_clock(clock);
    }
    message.value
}

/// A send failed: the receiver is gone. Gives the value back, as std's.
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> std::fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> std::fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// A `try_send` failed, as std's.
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The bounded channel is full.
    Full(T),
    /// The receiver is gone.
    Disconnected(T),
}

impl<T> std::fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The sending half of [`channel`].
pub struct Sender<T> {
    inner: std_mpsc::Sender<Message<T>>,
}

impl<T> Sender<T> {
    /// Sends a message; it happens before the receive that gets it.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .send(wrap(value))
            .map_err(|e| SendError(e.0.value))
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

/// The sending half of [`sync_channel`].
pub struct SyncSender<T> {
    inner: std_mpsc::SyncSender<Message<T>>,
}

impl<T> SyncSender<T> {
    /// Sends a message, waiting while the channel is full.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .send(wrap(value))
            .map_err(|e| SendError(e.0.value))
    }

    /// Sends a message if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(wrap(value)).map_err(|e| match e {
            std_mpsc::TrySendError::Full(m) => TrySendError::Full(m.value),
            std_mpsc::TrySendError::Disconnected(m) => TrySendError::Disconnected(m.value),
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

/// The receiving half of a channel.
pub struct Receiver<T> {
    inner: std_mpsc::Receiver<Message<T>>,
}

impl<T> Receiver<T> {
    /// Waits for a message.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.inner.recv().map(unwrap)
    }

    /// Takes a message if one is waiting.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv().map(unwrap)
    }

    /// Waits for a message at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.inner.recv_timeout(timeout).map(unwrap)
    }

    /// Iterates over messages until every sender is gone.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        self.inner.iter().map(unwrap)
    }

    /// Iterates over the messages waiting now.
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        self.inner.try_iter().map(unwrap)
    }
}

/// Owning iterator over a channel's messages.
pub struct IntoIter<T> {
    inner: std_mpsc::IntoIter<Message<T>>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.inner.next().map(unwrap)
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter {
            inner: self.inner.into_iter(),
        }
    }
}

/// An unbounded channel, as `std::sync::mpsc::channel`.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::channel();
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// A bounded channel, as `std::sync::mpsc::sync_channel`.
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::sync_channel(bound);
    (SyncSender { inner: tx }, Receiver { inner: rx })
}
