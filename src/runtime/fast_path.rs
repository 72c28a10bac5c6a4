//! The one flag an acquisition reads to know it may take the fast path.
//!
//! The fast path (a known held stack, a free lock: one raw try and one push)
//! is right only while checking is on, order is checked on instances, the
//! run is not recorded and race checking is not live. Reading those four
//! settings costs four loads and branches on every acquisition and every
//! release, a third of what the whole fast path costs; folded into one byte,
//! it is one.
//!
//! The byte is recomputed from the settings, under a mutex, whenever one of
//! them changes, so a change racing with another cannot leave it stale.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

use crate::detect::OrderGranularity;
use crate::runtime::{config, hb};

/// Not computed yet: the settings still come from the environment.
const UNKNOWN: u8 = 0;
/// Every setting allows the fast path.
const OPEN: u8 = 1;
/// Some setting needs the full protocol.
const CLOSED: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether an acquisition or release may take the fast path.
#[inline(always)]
pub(crate) fn open() -> bool {
    match STATE.load(Relaxed) {
        OPEN => true,
        CLOSED => false,
        _ => refresh(),
    }
}

/// Recomputes the flag; called on first use and by every setting that
/// changes it. Returns the new value.
#[cold]
#[inline(never)]
pub(crate) fn refresh() -> bool {
    static REFRESH: parking_lot::Mutex<()> = parking_lot::const_mutex(());
    let _serialised = REFRESH.lock();
    let open = config::enabled()
        && config::order_granularity() == OrderGranularity::Instance
        && !config::recording()
        && !hb::active();
    STATE.store(if open { OPEN } else { CLOSED }, Relaxed);
    open
}
