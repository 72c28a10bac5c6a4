//! Configuration, from the environment and from code.
//!
//! | variable | values | default |
//! |---|---|---|
//! | `LOCKCHECK` | `off`/`0`/`false` turns all checking off at run time | on |
//! | `LOCKCHECK_POLICY` | `panic`, `log`, `collect` | `panic` (fails the `#[test]`); `collect` under `lockcheck run` |
//! | `LOCKCHECK_REPORT` | file that findings are appended to, one JSON object a line (set by `lockcheck run`) | none |
//! | `LOCKCHECK_STRICT` | `1`: a lock-order cycle guarded by a gate lock fails too | off |
//! | `LOCKCHECK_BACKTRACE` | `1`/`full`: whole backtraces for new order edges and blocked acquires; `callers`: a few frames per new order edge, for the callers of the function that locked; `0`: none | `full` when `RUST_BACKTRACE` is set and not `0`, else `callers` |
//! | `LOCKCHECK_CALLER_STACKS` | how many new order edges, per thread and acquire site, keep their callers under `callers` | 8 |
//! | `LOCKCHECK_ORDER` | `instance` or `class` (lockdep-style classes: name or creation site) | `instance` |
//! | `LOCKCHECK_LOCKSET` | `1`: also the lockset check (Eraser), whose findings are predicted races | off |
//! | `LOCKCHECK_TRACE` | file to record the run into, as a lockcheck trace (set by `lockcheck run --trace`) | none |
//!
//! Code can set the same things (they win over the environment):
//!
//! ```
//! use lockcheck::config::{self, Policy};
//! config::set_policy(Policy::Collect);
//! config::set_backtraces(false);
//! assert_eq!(config::policy(), Policy::Collect);
//! ```

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering::Relaxed};

use crate::event::OrderGranularity;

/// What the library does when it finds something.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Panic in the offending thread with the full report (fails a `#[test]`).
    Panic,
    /// Print the report to stderr once per finding and go on.
    Log,
    /// Only collect: [`crate::findings`] returns them (and the report file gets them).
    Collect,
}

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static ENABLED: AtomicU8 = AtomicU8::new(UNSET);
static POLICY: AtomicU8 = AtomicU8::new(UNSET);
static STRICT: AtomicU8 = AtomicU8::new(UNSET);
static BACKTRACES: AtomicU8 = AtomicU8::new(UNSET);
/// The [`Backtraces::Callers`] mode's code in `BACKTRACES` (beside `ON`
/// for full and `OFF` for none).
const CALLERS: u8 = 3;
/// [`caller_stacks_per_site`], `u32::MAX` until read from the environment.
static CALLER_STACKS: AtomicU32 = AtomicU32::new(u32::MAX);
static CLASS_ORDER: AtomicU8 = AtomicU8::new(UNSET);
static ORDER_FROZEN: AtomicBool = AtomicBool::new(false);
static LOCKSET: AtomicU8 = AtomicU8::new(UNSET);
#[cfg(feature = "checks")]
static RECORDING: AtomicU8 = AtomicU8::new(UNSET);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Each setting is read from the environment once, so this warns once.
fn warn_once(name: &str, value: &str, expected: &str) {
    eprintln!("lockcheck: warning: {name}={value:?} is not one of {expected}; using the default");
}

fn flag(name: &str) -> Option<bool> {
    let value = env(name)?;
    match value.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" | "full" => Some(true),
        "0" | "off" | "false" | "no" => Some(false),
        _ => {
            warn_once(name, &value, "1, 0, on, off");
            None
        }
    }
}

#[inline(always)]
fn cached(slot: &AtomicU8, init: fn() -> bool) -> bool {
    match slot.load(Relaxed) {
        ON => true,
        OFF => false,
        _ => resolve(slot, init),
    }
}

#[cold]
#[inline(never)]
fn resolve(slot: &AtomicU8, init: fn() -> bool) -> bool {
    let v = init();
    // A racing `set_*` from code wins over the environment.
    let _ = slot.compare_exchange(UNSET, if v { ON } else { OFF }, Relaxed, Relaxed);
    slot.load(Relaxed) == ON
}

/// Whether checking is on: the `checks` cargo feature, then `LOCKCHECK`, then
/// [`set_enabled`]. When off, the wrappers are plain raw locks (`crate::raw`).
#[inline(always)]
pub fn enabled() -> bool {
    if !cfg!(feature = "checks") {
        return false;
    }
    cached(&ENABLED, || flag("LOCKCHECK").unwrap_or(true))
}

/// Turns checking on or off for locks acquired from now on.
pub fn set_enabled(on: bool) {
    ENABLED.store(if on { ON } else { OFF }, Relaxed);
    super::fast_path::refresh();
}

/// The file findings are appended to (`LOCKCHECK_REPORT`), if any.
pub fn report_path() -> Option<String> {
    env("LOCKCHECK_REPORT")
}

/// The file this run is recorded into (`LOCKCHECK_TRACE`), if any.
pub fn trace_path() -> Option<String> {
    env("LOCKCHECK_TRACE")
}

#[cfg(feature = "checks")]
/// Whether this run is being recorded: checking is on and `LOCKCHECK_TRACE`
/// names a file (read once).
#[inline(always)]
pub(crate) fn recording() -> bool {
    cached(&RECORDING, || enabled() && trace_path().is_some())
}

#[cfg(feature = "checks")]
/// Stops recording (the trace is finished, or cannot be written).
pub(crate) fn stop_recording() {
    RECORDING.store(OFF, Relaxed);
    super::fast_path::refresh();
}

/// The policy on a finding.
pub fn policy() -> Policy {
    let code = POLICY.load(Relaxed);
    if code != UNSET {
        return decode_policy(code);
    }
    let from_env = match env("LOCKCHECK_POLICY") {
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "panic" => Some(Policy::Panic),
            "log" => Some(Policy::Log),
            "collect" => Some(Policy::Collect),
            _ => {
                warn_once("LOCKCHECK_POLICY", &v, "panic, log, collect");
                None
            }
        },
        None => None,
    };
    let policy = from_env.unwrap_or(if report_path().is_some() {
        Policy::Collect
    } else {
        Policy::Panic
    });
    let _ = POLICY.compare_exchange(UNSET, encode_policy(policy), Relaxed, Relaxed);
    decode_policy(POLICY.load(Relaxed))
}

fn encode_policy(p: Policy) -> u8 {
    match p {
        Policy::Panic => 1,
        Policy::Log => 2,
        Policy::Collect => 3,
    }
}

fn decode_policy(code: u8) -> Policy {
    match code {
        2 => Policy::Log,
        3 => Policy::Collect,
        _ => Policy::Panic,
    }
}

/// Sets the policy on a finding.
pub fn set_policy(policy: Policy) {
    POLICY.store(encode_policy(policy), Relaxed);
}

/// Whether a lock-order cycle guarded by a gate lock counts as failing.
pub fn strict() -> bool {
    cached(&STRICT, || flag("LOCKCHECK_STRICT").unwrap_or(false))
}

/// Makes guarded cycles fail too.
pub fn set_strict(on: bool) {
    STRICT.store(if on { ON } else { OFF }, Relaxed);
}

/// How much of the call stack lockcheck keeps when it learns something new.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backtraces {
    /// None: reports show the `#[track_caller]` sites alone.
    Off,
    /// The default without `RUST_BACKTRACE`: each new lock-order edge keeps
    /// the return addresses of a few frames (at most
    /// [`crate::stack::CALLER_FRAMES`]), enough for reports to name the
    /// callers of the function that locked, so that two calls of one helper
    /// (`transfer(&a, &b)` and `transfer(&b, &a)`) are told apart. Only the
    /// first [`caller_stacks_per_site`] new edges of each acquire site in
    /// each thread pay for it: a loop that makes a new edge every time
    /// stops paying after them. Blocked acquires and accesses keep no stack.
    Callers,
    /// Whole backtraces for new order edges, blocked acquires and the
    /// accesses of race reports (`RUST_BACKTRACE` set, or
    /// `LOCKCHECK_BACKTRACE=1`).
    Full,
}

/// How much of the stack is kept when something new is learned (see
/// [`Backtraces`]). Sites from `#[track_caller]` are always recorded;
/// stacks add the frames above them.
#[inline]
pub fn backtrace_mode() -> Backtraces {
    match BACKTRACES.load(Relaxed) {
        ON => Backtraces::Full,
        OFF => Backtraces::Off,
        CALLERS => Backtraces::Callers,
        _ => resolve_backtraces(),
    }
}

#[cold]
#[inline(never)]
fn resolve_backtraces() -> Backtraces {
    let mode = match env("LOCKCHECK_BACKTRACE") {
        Some(v) if v.eq_ignore_ascii_case("callers") => Some(Backtraces::Callers),
        Some(_) => flag("LOCKCHECK_BACKTRACE").map(|on| {
            if on {
                Backtraces::Full
            } else {
                Backtraces::Off
            }
        }),
        None => None,
    }
    .unwrap_or_else(|| {
        if std::env::var("RUST_BACKTRACE").is_ok_and(|v| !v.is_empty() && v != "0") {
            Backtraces::Full
        } else {
            Backtraces::Callers
        }
    });
    // A racing `set_*` from code wins over the environment.
    let _ = BACKTRACES.compare_exchange(UNSET, encode_backtraces(mode), Relaxed, Relaxed);
    backtrace_mode()
}

fn encode_backtraces(mode: Backtraces) -> u8 {
    match mode {
        Backtraces::Full => ON,
        Backtraces::Off => OFF,
        Backtraces::Callers => CALLERS,
    }
}

/// Sets how much of the stack is kept (see [`Backtraces`]).
pub fn set_backtrace_mode(mode: Backtraces) {
    BACKTRACES.store(encode_backtraces(mode), Relaxed);
}

/// Whether whole backtraces are captured when something new is learned (a
/// new order edge, a blocked acquire): [`Backtraces::Full`].
#[inline]
pub fn backtraces() -> bool {
    backtrace_mode() == Backtraces::Full
}

/// Turns whole backtraces on ([`Backtraces::Full`]) or every stack off
/// ([`Backtraces::Off`]).
pub fn set_backtraces(on: bool) {
    set_backtrace_mode(if on {
        Backtraces::Full
    } else {
        Backtraces::Off
    });
}

/// Under [`Backtraces::Callers`], how many new lock-order edges each thread
/// keeps the callers of per acquire site (`LOCKCHECK_CALLER_STACKS`, 8 by
/// default); later new edges of the same site keep none. A new edge that
/// takes a stack costs 2.4 µs, against 44 ns without one (README, Speed:
/// the unwinder's walk is nearly all of it); eight per site keep a loop that
/// makes a new edge each time at the second figure, and are more callers of
/// a helper than one thread usually has.
#[inline]
pub fn caller_stacks_per_site() -> u32 {
    let n = CALLER_STACKS.load(Relaxed);
    if n != u32::MAX {
        return n;
    }
    resolve_caller_stacks()
}

#[cold]
#[inline(never)]
fn resolve_caller_stacks() -> u32 {
    let from_env = env("LOCKCHECK_CALLER_STACKS").and_then(|v| match v.parse::<u32>() {
        Ok(n) if n < u32::MAX => Some(n),
        _ => {
            warn_once("LOCKCHECK_CALLER_STACKS", &v, "a whole number");
            None
        }
    });
    let _ = CALLER_STACKS.compare_exchange(u32::MAX, from_env.unwrap_or(8), Relaxed, Relaxed);
    CALLER_STACKS.load(Relaxed)
}

/// Sets [`caller_stacks_per_site`] (`u32::MAX - 1` is as good as every
/// new edge).
pub fn set_caller_stacks_per_site(n: u32) {
    CALLER_STACKS.store(n.min(u32::MAX - 1), Relaxed);
}

/// Whether `Shared` accesses also go through the lockset check (Eraser),
/// which predicts races the interleaving hid; its findings are labelled as
/// predicted.
#[inline]
pub fn lockset() -> bool {
    cached(&LOCKSET, || flag("LOCKCHECK_LOCKSET").unwrap_or(false))
}

/// Turns the lockset check on or off.
pub fn set_lockset(on: bool) {
    LOCKSET.store(if on { ON } else { OFF }, Relaxed);
}

/// Whether order is checked on lock instances or classes.
#[inline]
pub fn order_granularity() -> OrderGranularity {
    let class = cached(&CLASS_ORDER, || match env("LOCKCHECK_ORDER") {
        Some(v) if v.eq_ignore_ascii_case("class") => true,
        Some(v) if v.eq_ignore_ascii_case("instance") => false,
        Some(v) => {
            warn_once("LOCKCHECK_ORDER", &v, "instance, class");
            false
        }
        None => false,
    });
    if class {
        OrderGranularity::Class
    } else {
        OrderGranularity::Instance
    }
}

#[cfg(feature = "checks")]
/// Fixes the granularity: the lock-order graph now exists.
pub(crate) fn freeze_order_granularity() -> OrderGranularity {
    ORDER_FROZEN.store(true, Relaxed);
    order_granularity()
}

/// Chooses instance or class order checking. It takes effect only before
/// the first lock-order edge is recorded (the graph cannot change its nodes' meaning
/// half-way); returns whether it took effect.
pub fn set_order_granularity(granularity: OrderGranularity) -> bool {
    if ORDER_FROZEN.load(Relaxed) {
        return order_granularity() == granularity;
    }
    CLASS_ORDER.store(
        if granularity == OrderGranularity::Class {
            ON
        } else {
            OFF
        },
        Relaxed,
    );
    super::fast_path::refresh();
    true
}
