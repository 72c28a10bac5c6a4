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

use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::event::{Event, Site};
use crate::runtime::hb::{self, HandOff};
use crate::runtime::recorder;

/// A message, the sender's clocks when race checking is live, and its id
/// when the run is recorded (0 otherwise).
struct Message<T> {
    value: T,
    clock: Option<HandOff>,
    id: u64,
}

/// Records a send or a receive of message `id`.
#[cold]
fn trace(
    id: u64,
    site: &'static Location<'static>,
    make: fn(crate::event::ThreadId, u64, Site) -> Event,
) {
    recorder::record_here(|thread| make(thread, id, Site::from(site)));
}

fn wrap<T>(value: T, site: &'static Location<'static>) -> Message<T> {
    static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);
    let mut id = 0;
    if recorder::on() {
        id = NEXT_MESSAGE.fetch_add(1, Relaxed);
        trace(id, site, |thread, message, site| Event::Send {
            thread,
            message,
            site,
        });
    }
    Message {
        value,
        clock: hb::active().then(hb::release_clock),
        id,
    }
}

fn unwrap<T>(message: Message<T>, site: &'static Location<'static>) -> T {
    if let Some(clock) = &message.clock {
        hb::acquire_clock(clock);
    }
    if message.id != 0 {
        trace(message.id, site, |thread, message, site| Event::Receive {
            thread,
            message,
            site,
        });
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
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .send(wrap(value, Location::caller()))
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
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.inner
            .send(wrap(value, Location::caller()))
            .map_err(|e| SendError(e.0.value))
    }

    /// Sends a message if there is room now.
    #[track_caller]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner
            .try_send(wrap(value, Location::caller()))
            .map_err(|e| match e {
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
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        let site = Location::caller();
        self.inner.recv().map(|m| unwrap(m, site))
    }

    /// Takes a message if one is waiting.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let site = Location::caller();
        self.inner.try_recv().map(|m| unwrap(m, site))
    }

    /// Waits for a message at most `timeout`.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let site = Location::caller();
        self.inner.recv_timeout(timeout).map(|m| unwrap(m, site))
    }

    /// Iterates over messages until every sender is gone.
    #[track_caller]
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let site = Location::caller();
        self.inner.iter().map(move |m| unwrap(m, site))
    }

    /// Iterates over the messages waiting now.
    #[track_caller]
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        let site = Location::caller();
        self.inner.try_iter().map(move |m| unwrap(m, site))
    }
}

/// Owning iterator over a channel's messages.
pub struct IntoIter<T> {
    inner: std_mpsc::IntoIter<Message<T>>,
    /// Where the receiver was turned into this iterator (the `for` loop).
    site: &'static Location<'static>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let site = self.site;
        self.inner.next().map(|m| unwrap(m, site))
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    #[track_caller]
    fn into_iter(self) -> IntoIter<T> {
        IntoIter {
            inner: self.inner.into_iter(),
            site: Location::caller(),
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
