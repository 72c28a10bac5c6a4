//! Channels with std's API (`channel`, `sync_channel`), carrying
//! happens-before: a send is ordered before the receive that gets its
//! message, so data handed over a channel is no race.
//!
//! A `recv` (or a receiver's iterator) that has waited a lock's grace
//! period for a message, and a bounded channel's `send` that has waited as
//! long for room, are waits in the wait-for graph: if every thread of the
//! process ends up blocked (a receiver holding the lock its only sender
//! needs), the deadlock is reported and broken (see
//! `runtime::nobody_left`). Timed and `try_` forms never register. A
//! channel is named by where it was made, or by `with_name` on either half.
//!
//! The messages travel in std's unbounded channel; a bounded channel's
//! room is counted here, so that a full channel's sender can wait in
//! slices like every registered wait.
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

use std::borrow::Cow;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, TryRecvError};

use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};

use crate::event::WaitKind;
use crate::event::{Event, Site, WokenBy};
use crate::runtime::acquire::{self, Waiting};
use crate::runtime::hb::{self, HandOff};
use crate::runtime::hold_and_wait::{Hazards, Waiters};
use crate::runtime::nobody_left;
use crate::runtime::recorder;
use crate::runtime::waits::{self, WaitMeta};

/// A message, with what the checks add to it: the sender's clocks when race
/// checking is live, its id when the run is recorded. Both are out of line
/// and usually absent, so that the slot in std's queue is the value and a
/// pointer (`Message<u64>` 16 bytes, not 72 with them inline): a stream's
/// sender writes, and its receiver reads, less per message, and std's queue
/// allocates and zeroes smaller blocks (benches/waits.rs, channel stream:
/// 2.3–3.9× std's per message inline, 1.3–1.7× boxed; callgrind, 521
/// instructions per message inline, 325 boxed, std 206). Later, 505 with
/// the hazards' report out of line, 358 with it, the receive's first try
/// and the unbounded channel's room check inline (std 201, the same
/// driver: 100,000 messages of a stream); the rest is mostly std's
/// `try_recv`, which a receive goes through where std's `recv` inlines
/// its queue's calls.
struct Message<T> {
    value: T,
    extra: Option<Box<Extra>>,
}

/// What the checks carry with a message.
struct Extra {
    clock: Option<HandOff>,
    /// 0 when the run is not recorded.
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

#[inline]
fn wrap<T>(value: T, site: &'static Location<'static>) -> Message<T> {
    let recording = recorder::on();
    let extra = (recording || hb::active()).then(|| extra(recording, site));
    Message { value, extra }
}

/// A message's clocks and id, for a send at `site`.
#[cold]
#[inline(never)]
fn extra(recording: bool, site: &'static Location<'static>) -> Box<Extra> {
    static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);
    let mut id = 0;
    if recording {
        id = NEXT_MESSAGE.fetch_add(1, Relaxed);
        trace(id, site, |thread, message, site| Event::Send {
            thread,
            message,
            site,
        });
    }
    Box::new(Extra {
        clock: hb::active().then(hb::release_clock),
        id,
    })
}

/// The value of a message received at `site`, by a receive that could wait
/// for it (`blocking`) or not.
#[inline]
fn unwrap<T>(message: Message<T>, site: &'static Location<'static>, blocking: bool) -> T {
    if let Some(extra) = message.extra {
        received_extra(&extra, site, blocking);
    }
    message.value
}

/// Orders the receive after the send and records it.
#[cold]
#[inline(never)]
fn received_extra(extra: &Extra, site: &'static Location<'static>, blocking: bool) {
    if let Some(clock) = &extra.clock {
        hb::acquire_clock(clock);
    }
    if extra.id != 0 {
        recorder::record_here(|thread| Event::Receive {
            thread,
            message: extra.id,
            site: Site::from(site),
            blocking,
        });
    }
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

/// What the halves of one channel share: its identity and, for a bounded
/// channel, its room.
struct Channel {
    meta: WaitMeta,
    /// `None` for an unbounded channel.
    room: Option<Room>,
    /// Receivers waiting for a message while holding locks: a send
    /// matches what its sender took against theirs (hold-and-wait).
    receivers_holding: Waiters,
}

/// A bounded channel's room, counted beside std's unbounded queue.
///
/// The count is one atomic word, so that a send that finds room and a
/// receive take no lock: a waiting sender's mutex and condition variable
/// are touched only while a sender waits. (With the count under a mutex,
/// each send and each receive locked it, and `sync_channel(1)`'s
/// ping-pong cost 2.1–2.3× std's round trip where wake-ups are cheap.)
struct Room {
    /// At most this many messages wait (0: a send waits for a receiver).
    bound: usize,
    /// [`CLOSED`], [`RECEIVING`], and the messages sent and not yet
    /// received in units of [`QUEUED`].
    state: AtomicUsize,
    /// Senders waiting for room (under `waiting`, or leaving it): a
    /// receive notifies only if there are any.
    senders_waiting: AtomicUsize,
    /// Held by a sender from counting itself in `senders_waiting` to its
    /// wait on `changed`, and by whoever notifies: no notification falls
    /// between a sender's last look at `state` and its wait.
    waiting: crate::raw::Mutex<()>,
    /// Signalled when room may have appeared (a receive, a receiver that
    /// starts waiting, the receiver gone).
    changed: crate::raw::Condvar,
    /// Senders waiting for room while holding locks: a receive matches
    /// what its receiver took against theirs (hold-and-wait).
    senders_holding: Waiters,
}

/// The receiver was dropped.
const CLOSED: usize = 1;
/// The receiver waits for a message now (a rendezvous channel's room). A
/// receiver is one thread's at a time (it is not `Sync`), so one bit.
const RECEIVING: usize = 2;
/// One message sent and not yet received.
const QUEUED: usize = 4;

/// Why a send cannot go ahead now.
enum NoRoom {
    Full,
    Closed,
}

impl Room {
    fn new(bound: usize) -> Room {
        Room {
            bound,
            state: AtomicUsize::new(0),
            senders_waiting: AtomicUsize::new(0),
            waiting: crate::raw::Mutex::new(()),
            changed: crate::raw::Condvar::new(),
            senders_holding: Waiters::new(),
        }
    }

    /// Counts one more message if a send may go ahead now.
    fn reserve(&self) -> Result<(), NoRoom> {
        // SeqCst, as `update`'s change of `state` and its load of
        // `senders_waiting` after it: a sender that counted itself waiting
        // and then looks at `state` here sees the receive, or the receive
        // sees the sender and wakes it.
        let mut state = self.state.load(SeqCst);
        loop {
            if state & CLOSED != 0 {
                return Err(NoRoom::Closed);
            }
            let queued = state / QUEUED;
            let has_room = if self.bound == 0 {
                state & RECEIVING != 0 && queued == 0
            } else {
                queued < self.bound
            };
            if !has_room {
                return Err(NoRoom::Full);
            }
            match self
                .state
                .compare_exchange_weak(state, state + QUEUED, SeqCst, SeqCst)
            {
                Ok(_) => return Ok(()),
                Err(now) => state = now,
            }
        }
    }

    /// Changes the count with `change` (a message received, the receiver
    /// starting or ending a wait, the receiver gone), then wakes the
    /// senders waiting for room, if any.
    #[inline]
    fn update(&self, change: impl FnOnce(&AtomicUsize)) {
        change(&self.state);
        if self.senders_waiting.load(SeqCst) != 0 {
            self.wake_senders();
        }
    }

    #[cold]
    fn wake_senders(&self) {
        let _waiting = self.waiting.lock();
        self.changed.notify_all();
    }
}

impl Channel {
    #[track_caller]
    fn new(room: Option<Room>) -> Arc<Channel> {
        Arc::new(Channel {
            meta: WaitMeta::new(None, Location::caller()),
            room,
            receivers_holding: Waiters::new(),
        })
    }

    /// A message taken at `site` made room (before the room is counted):
    /// a sender waiting for it with locks is matched against what this
    /// receiver took; the hazards are to report once the room is counted.
    #[inline]
    fn made_room(&self, site: &'static Location<'static>) -> Hazards {
        match &self.room {
            None => Hazards::NONE,
            Some(room) => self.made_room_in(room, site),
        }
    }

    /// [`Self::made_room`] for a bounded channel: out of line, so that an
    /// unbounded channel's receive pays one test for it (it was 19
    /// instructions a message, callgrind, the channel stream).
    #[inline(never)]
    fn made_room_in(&self, room: &Room, site: &'static Location<'static>) -> Hazards {
        if recorder::on() && room.senders_waiting.load(SeqCst) != 0 {
            // Under `waiting`, as the senders' `room-wait`: a sender the
            // trace shows waiting is waiting still.
            let _waiting = room.waiting.lock();
            if room.senders_waiting.load(SeqCst) != 0 {
                let channel = self.meta.id();
                recorder::record_here(|thread| Event::RoomMade {
                    thread,
                    channel,
                    site: Site::from(site),
                });
            }
        }
        let on = || self.meta.id().0;
        room.senders_holding
            .woken(WokenBy::Room, on, Site::from(site))
    }

    /// A message is about to be sent at `site`: a receiver waiting for one
    /// with locks is matched against what this sender took; the hazards
    /// are to report once the message is sent.
    #[inline]
    fn sending(&self, site: &'static Location<'static>) -> Hazards {
        let on = || self.meta.id().0;
        self.receivers_holding
            .woken(WokenBy::Message, on, Site::from(site))
    }

    /// A message left the queue (and `receiving` receivers stopped waiting).
    /// Nothing for an unbounded channel.
    #[inline]
    fn received(&self, messages: usize, receiving: usize) {
        let Some(room) = &self.room else { return };
        let taken = messages * QUEUED;
        room.update(|state| {
            if receiving == 0 {
                state.fetch_sub(taken, SeqCst);
            } else {
                // The bit cleared, not subtracted: a receive that unwound
                // before counting itself out leaves no count behind.
                let _ = state.fetch_update(SeqCst, SeqCst, |s| Some((s & !RECEIVING) - taken));
            }
        });
    }

    /// A receiver starts waiting for a message.
    #[inline]
    fn receiving(&self) {
        if let Some(room) = &self.room {
            room.update(|state| {
                state.fetch_or(RECEIVING, SeqCst);
            });
        }
    }
}

/// What a bounded send does with its message once there is room.
type Push<'a, T> = &'a dyn Fn(T) -> Result<(), T>;

/// A bounded channel's blocking send: waits for room (a lock's grace
/// period, then in the wait-for graph, in slices that check the second
/// deadlock rule), then pushes. `Err` gives the value back if the receiver
/// is gone.
#[track_caller]
fn send_bounded<T>(channel: &Channel, room: &Room, value: T, push: Push<'_, T>) -> Result<(), T> {
    match room.reserve() {
        Ok(()) => return push_reserved(room, value, push),
        Err(NoRoom::Closed) => return Err(value),
        Err(NoRoom::Full) => {}
    }
    let site = Site::caller();
    let start = Instant::now();
    // `None` during the grace period; then the registration (itself
    // `None` when checking is off).
    let mut registered: Option<Option<Waiting>> = None;
    // Among the senders waiting for room with locks (hold-and-wait), to
    // the end of this call.
    let _holding = room.senders_holding.waiting(None, site);
    let mut recorded = false;
    let mut waiting = room.waiting.lock();
    loop {
        room.senders_waiting.fetch_add(1, SeqCst);
        let reserved = room.reserve();
        if !matches!(reserved, Err(NoRoom::Full)) {
            room.senders_waiting.fetch_sub(1, SeqCst);
            drop(waiting);
            return match reserved {
                Ok(()) => push_reserved(room, value, push),
                Err(_) => Err(value),
            };
        }
        if !recorded && recorder::on() {
            // Under `waiting`, which a receive that records its room takes
            // too: the trace shows this wait before the room that ends it.
            let channel = channel.meta.id();
            recorder::record_here(|thread| Event::RoomWait {
                thread,
                channel,
                site,
            });
        }
        recorded = true;
        let timeout = match registered {
            None => acquire::GRACE.saturating_sub(start.elapsed()),
            Some(_) => nobody_left::SLICE,
        };
        let slice = room.changed.wait_for(&mut waiting, timeout);
        room.senders_waiting.fetch_sub(1, SeqCst);
        if !slice.timed_out() {
            continue;
        }
        // Registered and checked without the lock: a receive that wakes
        // senders must not wait on them.
        drop(waiting);
        match &registered {
            None if start.elapsed() >= acquire::GRACE => {
                registered = Some(waits::block_on(&channel.meta, WaitKind::Send, site));
            }
            Some(Some(waiting)) => {
                if let Some(stuck) = waiting.stuck() {
                    stuck.break_here();
                }
            }
            _ => {}
        }
        waiting = room.waiting.lock();
    }
}

/// Pushes a message that has its room, giving the room back if the
/// receiver is gone.
fn push_reserved<T>(room: &Room, value: T, push: Push<'_, T>) -> Result<(), T> {
    let pushed = push(value);
    if pushed.is_err() {
        room.update(|state| {
            state.fetch_sub(QUEUED, SeqCst);
        });
    }
    pushed
}

/// The sending half of [`channel`].
pub struct Sender<T> {
    inner: std_mpsc::Sender<Message<T>>,
    channel: Arc<Channel>,
}

impl<T> Sender<T> {
    /// Sends a message; it happens before the receive that gets it.
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let site = Location::caller();
        let hazards = self.channel.sending(site);
        let sent = self.inner.send(wrap(value, site));
        hazards.report();
        sent.map_err(|e| SendError(e.0.value))
    }

    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.channel.meta.set_name(name.into());
        self
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// The sending half of [`sync_channel`].
pub struct SyncSender<T> {
    inner: std_mpsc::Sender<Message<T>>,
    channel: Arc<Channel>,
}

impl<T> SyncSender<T> {
    fn room(&self) -> &Room {
        // A sync sender's channel is always bounded.
        self.channel
            .room
            .as_ref()
            .expect("a sync_channel has a bound")
    }

    /// Sends a message, waiting while the channel is full. A wait that
    /// outlasts a lock's grace period is a wait for a receive in the
    /// wait-for graph.
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let site = Location::caller();
        let hazards = std::cell::Cell::new(Hazards::NONE);
        let push = |value: T| {
            hazards.set(self.channel.sending(site));
            self.inner.send(wrap(value, site)).map_err(|e| e.0.value)
        };
        let sent = send_bounded(&self.channel, self.room(), value, &push);
        hazards.take().report();
        sent.map_err(SendError)
    }

    /// Sends a message if there is room now.
    #[track_caller]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let room = self.room();
        match room.reserve() {
            Ok(()) => {}
            Err(NoRoom::Full) => return Err(TrySendError::Full(value)),
            Err(NoRoom::Closed) => return Err(TrySendError::Disconnected(value)),
        }
        let site = Location::caller();
        let hazards = std::cell::Cell::new(Hazards::NONE);
        let push = |value: T| {
            hazards.set(self.channel.sending(site));
            self.inner.send(wrap(value, site)).map_err(|e| e.0.value)
        };
        let sent = push_reserved(room, value, &push).map_err(TrySendError::Disconnected);
        hazards.take().report();
        sent
    }

    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.channel.meta.set_name(name.into());
        self
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        SyncSender {
            inner: self.inner.clone(),
            channel: self.channel.clone(),
        }
    }
}

/// The receiving half of a channel.
pub struct Receiver<T> {
    inner: std_mpsc::Receiver<Message<T>>,
    channel: Arc<Channel>,
}

impl<T> Receiver<T> {
    /// Waits for a message. A wait that outlasts a lock's grace period is a
    /// wait for a message in the wait-for graph; `Err` once every sender
    /// is gone and the channel is empty.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_at(Location::caller())
    }

    /// [`Self::recv`] on behalf of a call at `site` (an iterator's).
    ///
    /// Inline down to the first try: a message already there (a stream's
    /// receiver behind its sender finds one 199,998 times in 200,000) is
    /// taken without the waiting part's frame, whose prologue and epilogue
    /// were 18 instructions a message (callgrind, the channel stream).
    #[inline]
    fn recv_at(&self, site: &'static Location<'static>) -> Result<T, RecvError> {
        match self.inner.try_recv() {
            Ok(m) => Ok(self.take(m, site, true)),
            Err(TryRecvError::Disconnected) => Err(RecvError),
            Err(TryRecvError::Empty) => self.recv_waiting(site),
        }
    }

    /// [`Self::recv_at`] once the queue was found empty.
    #[inline(never)]
    fn recv_waiting(&self, site: &'static Location<'static>) -> Result<T, RecvError> {
        // Tried a few times with growing pauses before the timed wait that
        // starts the grace period, as a contended lock spins: a reply that
        // comes within a few hundred nanoseconds is taken without parking
        // (benches/waits.rs: a ping-pong through two channels went from
        // 1.01x std's round trip to 0.12-0.23x).
        let try_now = || match self.inner.try_recv() {
            Ok(m) => Some(Ok(m)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        };
        if let Some(got) = crate::raw::spin_briefly(&try_now) {
            return got.map(|m| self.take(m, site, true));
        }
        // Among the receivers waiting with locks (hold-and-wait) until a
        // message or the senders' end settles the wait.
        let (got, rendezvous) = {
            let _holding = self
                .channel
                .receivers_holding
                .waiting(None, Site::from(site));
            let mut rendezvous = Hazards::NONE;
            if self.channel.room.as_ref().is_some_and(|r| r.bound == 0) {
                // A rendezvous: this receiver starting to wait is the room.
                rendezvous = self.channel.made_room(site);
            }
            self.channel.receiving();
            (self.wait_for_message(site), rendezvous)
        };
        let hazards = got.is_ok().then(|| self.channel.made_room(site));
        self.channel.received(usize::from(got.is_ok()), 1);
        rendezvous.report();
        hazards.unwrap_or_default().report();
        got.map(|m| unwrap(m, site, true))
    }

    /// The blocking part of a receive: the grace period, then a wait in
    /// the wait-for graph, in slices that check the second deadlock rule.
    fn wait_for_message(&self, site: &'static Location<'static>) -> Result<Message<T>, RecvError> {
        let first = self.inner.recv_timeout(acquire::GRACE);
        if let Some(got) = settled(first) {
            return got;
        }
        let waiting = waits::block_on(&self.channel.meta, WaitKind::Receive, Site::from(site));
        let Some(waiting) = waiting else {
            return self.inner.recv().map_err(|_| RecvError);
        };
        loop {
            if let Some(got) = settled(self.inner.recv_timeout(nobody_left::SLICE)) {
                return got;
            }
            if let Some(stuck) = waiting.stuck() {
                // Counted out, as a receive that ends: the senders' room
                // is as it was.
                drop(waiting);
                self.channel.received(0, 1);
                stuck.break_here();
            }
        }
    }

    /// A message taken: the room it leaves, then its value.
    #[inline]
    fn take(&self, m: Message<T>, site: &'static Location<'static>, blocking: bool) -> T {
        let hazards = self.channel.made_room(site);
        self.channel.received(1, 0);
        hazards.report();
        unwrap(m, site, blocking)
    }

    /// Takes a message if one is waiting.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let site = Location::caller();
        self.inner.try_recv().map(|m| self.take(m, site, false))
    }

    /// Waits for a message at most `timeout` (never a wait in the wait-for
    /// graph: it ends by itself).
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let site = Location::caller();
        if let Ok(m) = self.inner.try_recv() {
            return Ok(self.take(m, site, false));
        }
        self.channel.receiving();
        let got = self.inner.recv_timeout(timeout);
        let hazards = got.is_ok().then(|| self.channel.made_room(site));
        self.channel.received(usize::from(got.is_ok()), 1);
        hazards.unwrap_or_default().report();
        got.map(|m| unwrap(m, site, false))
    }

    /// Iterates over messages until every sender is gone; each wait for one
    /// is a [`Self::recv`].
    #[track_caller]
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let site = Location::caller();
        std::iter::from_fn(move || self.recv_at(site).ok())
    }

    /// Iterates over the messages waiting now.
    #[track_caller]
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        let site = Location::caller();
        std::iter::from_fn(move || {
            self.inner
                .try_recv()
                .ok()
                .map(|m| self.take(m, site, false))
        })
    }

    /// Names the channel (both halves) with a name made at run time
    /// (interned); the first name given is kept.
    pub fn with_name(self, name: impl Into<Cow<'static, str>>) -> Self {
        self.channel.meta.set_name(name.into());
        self
    }
}

/// A receive's outcome, if the wait is over: a message, or every sender
/// gone.
fn settled<T>(got: Result<Message<T>, RecvTimeoutError>) -> Option<Result<Message<T>, RecvError>> {
    match got {
        Ok(m) => Some(Ok(m)),
        Err(RecvTimeoutError::Disconnected) => Some(Err(RecvError)),
        Err(RecvTimeoutError::Timeout) => None,
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(room) = &self.channel.room {
            room.update(|state| {
                state.fetch_or(CLOSED, SeqCst);
            });
        }
    }
}

/// Owning iterator over a channel's messages.
pub struct IntoIter<T> {
    rx: Receiver<T>,
    /// Where the receiver was turned into this iterator (the `for` loop).
    site: &'static Location<'static>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_at(self.site).ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    #[track_caller]
    fn into_iter(self) -> IntoIter<T> {
        IntoIter {
            rx: self,
            site: Location::caller(),
        }
    }
}

/// An unbounded channel, as `std::sync::mpsc::channel`; reports name it by
/// where it was made (or by `with_name`).
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::channel();
    let channel = Channel::new(None);
    (
        Sender {
            inner: tx,
            channel: channel.clone(),
        },
        Receiver { inner: rx, channel },
    )
}

/// A bounded channel, as `std::sync::mpsc::sync_channel`: at most `bound`
/// messages wait; with 0, each send waits for a receiver to take it.
#[track_caller]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::channel();
    let channel = Channel::new(Some(Room::new(bound)));
    (
        SyncSender {
            inner: tx,
            channel: channel.clone(),
        },
        Receiver { inner: rx, channel },
    )
}
