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

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Acquire};
use std::sync::atomic::{Ordering::Relaxed, Ordering::Release, Ordering::SeqCst};

use crate::event::WaitKind;
use crate::event::{Event, Site, WokenBy};
use crate::runtime::acquire::{self, Waiting};
use crate::runtime::fast_path;
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
/// driver: 100,000 messages of a stream). Then 288 (std 197, the same
/// driver, 2026-12-07): no std `try_recv` at all, so that std's queue
/// calls inline into its `recv` (the senders' count, see
/// [`Receiver::try_take`]), 358 to 321; the lock fast path's flag for
/// "nothing to carry" (see [`wrap`]) and no hazards made where nobody waits
/// holding locks, to 288.
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

/// A message of `value`, sent at `site`.
///
/// The lock fast path's flag says in one load that the run is not recorded
/// and race checking is not live (it allows the fast path only then), so
/// that a message carries nothing; where it does not, the settings are
/// read one by one, out of line. (Reading them here was 10 instructions a
/// message, callgrind, the channel stream.)
#[inline]
fn wrap<T>(value: T, site: &'static Location<'static>) -> Message<T> {
    let extra = if fast_path::fast_only() {
        None
    } else {
        extra(site)
    };
    Message { value, extra }
}

/// A message's clocks and id, for a send at `site`, if it carries either.
#[cold]
#[inline(never)]
fn extra(site: &'static Location<'static>) -> Option<Box<Extra>> {
    static NEXT_MESSAGE: AtomicU64 = AtomicU64::new(1);
    // So that the next send's look at it can say "nothing to carry".
    fast_path::compute();
    let recording = recorder::on();
    if !recording && !hb::active() {
        return None;
    }
    let mut id = 0;
    if recording {
        id = NEXT_MESSAGE.fetch_add(1, Relaxed);
        trace(id, site, |thread, message, site| Event::Send {
            thread,
            message,
            site,
        });
    }
    Some(Box::new(Extra {
        clock: hb::active().then(hb::release_clock),
        id,
    }))
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

/// What the halves of one channel share: its identity, the count of the
/// messages sent and, for a bounded channel, its room.
struct Channel {
    meta: WaitMeta,
    /// Messages in std's queue so far: each counted once its send has
    /// pushed it, so that a receiver that has taken fewer knows one is
    /// there, and takes it with std's `recv` (see [`Receiver::recv_at`]).
    sent: Sent,
    /// The senders alive (either kind): 0 once the last one dropped, after
    /// counting every message it sent.
    senders: AtomicUsize,
    /// `None` for an unbounded channel.
    room: Option<Room>,
    /// Receivers waiting for a message while holding locks: a send
    /// matches what its sender took against theirs (hold-and-wait).
    receivers_holding: Waiters,
}

/// The count of messages sent, alone in its cache line: a stream's sender
/// adds to it every message, and the receiver reads the channel's other
/// fields every message (the room's) and this one only when it has taken
/// all it last saw.
#[repr(align(128))]
struct Sent(AtomicUsize);

impl Sent {
    /// One more message is in the queue. Release: a receiver that sees
    /// the count sees the message in std's queue.
    #[inline]
    fn one_more(&self) {
        self.0.fetch_add(1, Release);
    }
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
            sent: Sent(AtomicUsize::new(0)),
            senders: AtomicUsize::new(1),
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

    /// A message taken at `site` from a bounded channel: the room it made,
    /// matched, counted and reported.
    #[inline(never)]
    fn took(&self, room: &Room, site: &'static Location<'static>) {
        let hazards = self.made_room_in(room, site);
        self.received(1, 0);
        hazards.report();
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

    /// One more sender (a clone).
    fn sender_made(&self) {
        self.senders.fetch_add(1, Relaxed);
    }

    /// A sender dropped. Release, with the count's: a receiver that sees
    /// none left sees every message they sent counted.
    fn sender_gone(&self) {
        self.senders.fetch_sub(1, Release);
    }

    /// Whether every sender is gone (then the messages counted are all
    /// there will be).
    fn senders_gone(&self) -> bool {
        self.senders.load(Acquire) == 0
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
    ///
    /// Inline down to the look at the receivers waiting with locks: when
    /// there are none (one load), no hazards are made, kept or dropped
    /// (it was 10 instructions a message, callgrind, the channel stream).
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let site = Location::caller();
        if !self.channel.receivers_holding.none() {
            return self.send_matched(value, site);
        }
        self.push(value, site)
    }

    /// [`Self::send`] when receivers wait holding locks: what this sender
    /// took is matched against what they hold.
    #[inline(never)]
    fn send_matched(&self, value: T, site: &'static Location<'static>) -> Result<(), SendError<T>> {
        let hazards = self.channel.sending(site);
        let sent = self.push(value, site);
        hazards.report();
        sent
    }

    /// Puts the message in std's queue and counts it.
    #[inline]
    fn push(&self, value: T, site: &'static Location<'static>) -> Result<(), SendError<T>> {
        let sent = self.inner.send(wrap(value, site));
        if sent.is_ok() {
            self.channel.sent.one_more();
        }
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
        self.channel.sender_made();
        Sender {
            inner: self.inner.clone(),
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.channel.sender_gone();
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
            self.inner.send(wrap(value, site)).map_err(|e| e.0.value)?;
            self.channel.sent.one_more();
            Ok(())
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
            self.inner.send(wrap(value, site)).map_err(|e| e.0.value)?;
            self.channel.sent.one_more();
            Ok(())
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
        self.channel.sender_made();
        SyncSender {
            inner: self.inner.clone(),
            channel: self.channel.clone(),
        }
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.channel.sender_gone();
    }
}

/// The receiving half of a channel.
pub struct Receiver<T> {
    inner: std_mpsc::Receiver<Message<T>>,
    channel: Arc<Channel>,
    /// Messages this receiver took from std's queue, every way (a receiver
    /// is one thread's at a time: it is not `Sync`).
    taken: Cell<usize>,
    /// The senders' count ([`Channel::sent`]) when last read: while it is
    /// ahead of `taken`, a message is there without looking again.
    seen: Cell<usize>,
}

impl<T> Receiver<T> {
    fn new(inner: std_mpsc::Receiver<Message<T>>, channel: Arc<Channel>) -> Self {
        Receiver {
            inner,
            channel,
            taken: Cell::new(0),
            seen: Cell::new(0),
        }
    }

    /// Waits for a message. A wait that outlasts a lock's grace period is a
    /// wait for a message in the wait-for graph; `Err` once every sender
    /// is gone and the channel is empty.
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_at(Location::caller())
    }

    /// [`Self::recv`] on behalf of a call at `site` (an iterator's).
    ///
    /// Inline down to the senders' count: a message the count shows there
    /// (a stream's receiver behind its sender finds one 199,998 times in
    /// 200,000) is taken by std's `recv`, which cannot wait for it then,
    /// without the waiting part's frame, whose prologue and epilogue were
    /// 18 instructions a message (callgrind, the channel stream).
    #[inline]
    fn recv_at(&self, site: &'static Location<'static>) -> Result<T, RecvError> {
        if self.queued() {
            // Err only if the queue is empty and every sender gone, which
            // the count says it is not: std's answer all the same.
            let got = self.counted(self.inner.recv());
            return got.map(|m| self.take(m, site, true)).map_err(|_| RecvError);
        }
        self.recv_waiting(site)
    }

    /// Whether the senders' count shows a message this receiver has not
    /// taken: then it is in std's queue now (only this receiver takes from
    /// it). The count is read again only once this receiver has caught up
    /// with what it last read: a stream's receiver behind its sender reads
    /// the line the sender writes once in many messages.
    #[inline]
    fn queued(&self) -> bool {
        let taken = self.taken.get();
        // Signed: a message taken before its sender counted it puts
        // `taken` ahead of the count for a moment.
        let ahead = |seen: usize| seen.wrapping_sub(taken) as isize > 0;
        if ahead(self.seen.get()) {
            return true;
        }
        let seen = self.channel.sent.0.load(Acquire);
        self.seen.set(seen);
        ahead(seen)
    }

    /// Takes a message if the senders' count shows one, without waiting:
    /// `Disconnected` once every sender is gone and this receiver has
    /// taken all they sent, as std's `try_recv`. (A message pushed whose
    /// send has not returned yet is not there for it: its send and this
    /// try overlap.)
    ///
    /// Every receive goes through std's `recv` or `recv_timeout`, never
    /// its `try_recv`: with one caller, std's queue calls inline into its
    /// `recv`, as in a program of std's channels that never tries. With
    /// `try_recv` first, as before the count, std's `recv` called them out
    /// of line and the stream's receive cost some 70 instructions a message
    /// more than std's (callgrind: 358 against 201 in all, and 374 with the
    /// count and `try_recv` for the try forms).
    fn try_take(&self) -> Result<Message<T>, TryRecvError> {
        if !self.queued() {
            if !self.channel.senders_gone() {
                return Err(TryRecvError::Empty);
            }
            // The count is final now: read it once more.
            if !self.queued() {
                return Err(TryRecvError::Disconnected);
            }
        }
        self.counted(self.inner.recv())
            .map_err(|_| TryRecvError::Disconnected)
    }

    /// Counts a message taken from std's queue (by any receive), for
    /// [`Self::queued`].
    #[inline]
    fn counted<E>(&self, got: Result<Message<T>, E>) -> Result<Message<T>, E> {
        if got.is_ok() {
            self.taken.set(self.taken.get().wrapping_add(1));
        }
        got
    }

    /// [`Self::recv_at`] once the count showed no message.
    #[inline(never)]
    fn recv_waiting(&self, site: &'static Location<'static>) -> Result<T, RecvError> {
        // Tried at once (a message may be there before its sender counted
        // it), then a few times with growing pauses before the timed wait
        // that starts the grace period, as a contended lock spins: a reply
        // that comes within a few hundred nanoseconds is taken without
        // parking (benches/waits.rs: a ping-pong through two channels went
        // from 1.01x std's round trip to 0.12-0.23x).
        let try_now = || match self.try_take() {
            Ok(m) => Some(Ok(m)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        };
        if let Some(got) = try_now().or_else(|| crate::raw::spin_briefly(&try_now)) {
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
        let first = self.counted(self.inner.recv_timeout(acquire::GRACE));
        if let Some(got) = settled(first) {
            return got;
        }
        let waiting = waits::block_on(&self.channel.meta, WaitKind::Receive, Site::from(site));
        let Some(waiting) = waiting else {
            return self.counted(self.inner.recv()).map_err(|_| RecvError);
        };
        loop {
            let slice = self.counted(self.inner.recv_timeout(nobody_left::SLICE));
            if let Some(got) = settled(slice) {
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

    /// A message taken: the room it leaves (none to count in an unbounded
    /// channel, where this is one test: it made and dropped empty hazards,
    /// 8 instructions a message, callgrind, the channel stream), then its
    /// value.
    #[inline]
    fn take(&self, m: Message<T>, site: &'static Location<'static>, blocking: bool) -> T {
        if let Some(room) = &self.channel.room {
            self.channel.took(room, site);
        }
        unwrap(m, site, blocking)
    }

    /// Takes a message if one is waiting.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let site = Location::caller();
        self.try_take().map(|m| self.take(m, site, false))
    }

    /// Waits for a message at most `timeout` (never a wait in the wait-for
    /// graph: it ends by itself).
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let site = Location::caller();
        if let Ok(m) = self.try_take() {
            return Ok(self.take(m, site, false));
        }
        self.channel.receiving();
        let got = self.counted(self.inner.recv_timeout(timeout));
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
        std::iter::from_fn(move || self.try_take().ok().map(|m| self.take(m, site, false)))
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
        Receiver::new(rx, channel),
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
        Receiver::new(rx, channel),
    )
}
