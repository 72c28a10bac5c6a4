//! The one flag an acquisition reads to know which path it may take.
//!
//! The fast path (a known held stack, a free lock: one raw try and one push)
//! is right only while checking is on, order is checked on instances and the
//! run is not recorded; with race checking live it must also carry clocks.
//! Reading those settings one by one costs four loads and branches on every
//! acquisition and every release, a third of what the whole fast path
//! costs; folded into one byte, it is one.
//!
//! The byte is recomputed from the settings, under a mutex, whenever one of
//! them changes, so a change racing with another cannot leave it stale.
//! Every `Shared` access reads it too: anything but `Checked` means checking
//! is on and the run is not recorded.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::detect::OrderGranularity;
use crate::runtime::{config, hb};

/// Which path acquisitions and releases may take now. The two fast values
/// come first, so that "a fast path" is one comparison.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub(crate) enum Path {
    /// The fast path, nothing else.
    Fast = 0,
    /// The fast path, and the lock carries happens-before (race checking).
    FastWithClocks = 1,
    /// The full protocol for every acquisition.
    Checked = 2,
}

/// Not computed yet: the settings still come from the environment.
const UNKNOWN: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The path acquisitions and releases may take now.
#[inline(always)]
pub(crate) fn path() -> Path {
    match STATE.load(Relaxed) {
        0 => Path::Fast,
        1 => Path::FastWithClocks,
        2 => Path::Checked,
        _ => refresh(),
    }
}

/// Whether the fast path alone may be taken now: one load and one
/// comparison, and no call (the flag not computed yet reads as no, and the
/// slow path computes it), so that the wrappers' fast paths need no stack
/// frame.
#[inline(always)]
pub(crate) fn fast_only() -> bool {
    STATE.load(Relaxed) == Path::Fast as u8
}

/// Computes the flag if nothing has yet, for a caller that reads only
/// [`fast_only`] (a channel's send, in a program that may take no lock).
#[inline]
pub(crate) fn compute() {
    path();
}

/// Recomputes the flag; called on first use and by every setting that
/// changes it. Returns the new value.
#[cold]
#[inline(never)]
pub(crate) fn refresh() -> Path {
    static REFRESH: crate::raw::Mutex<()> = crate::raw::const_mutex(());
    let _serialised = REFRESH.lock();
    let path = if !config::enabled()
        || config::order_granularity() != OrderGranularity::Instance
        || config::recording()
    {
        Path::Checked
    } else if hb::active() {
        Path::FastWithClocks
    } else {
        Path::Fast
    };
    STATE.store(path as u8, Relaxed);
    path
}
