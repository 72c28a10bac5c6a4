//! Call stacks captured where lockcheck learns something new (a new
//! lock-order edge, a blocked acquire, an access in a report): only the
//! return addresses, taken on the spot; symbols are looked up when a report
//! is printed (see [`crate::frames`]).
//!
//! Keeping addresses alone is what makes capture cheap: `backtrace`'s own
//! `Backtrace` also looks up each frame's enclosing function when it is
//! taken, which costs about half again as much.

use std::ops::ControlFlow;

/// Most frames kept: deeper ones are beyond anything a report shows.
const MAX_FRAMES: usize = 128;

/// Most frames a new order edge keeps under
/// [`crate::config::Backtraces::Callers`]: lockcheck's own frames from here
/// to the user's `lock()` (19 to 21 in a debug build, by lock type; 7 in
/// release, where most are inlined), the function that locked and its
/// callers. The unwinder's walk is what a stack costs (2.4 µs for the
/// plain-loop bench's new edge, whose stack is shorter than this) and stops
/// at the bound, so a deep stack costs no more.
pub const CALLER_FRAMES: usize = 32;

/// Taken for writing while symbolisation is held back
/// ([`hold_symbolisation`]); every symbolisation passes through it first.
static HELD_BACK: crate::raw::RwLock<()> = crate::raw::const_rwlock(());

/// The return addresses of a call stack, innermost first.
///
/// ```
/// let stack = lockcheck::stack::CallStack::capture();
/// assert!(!stack.addresses().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallStack(Box<[usize]>);

impl CallStack {
    /// The calling thread's stack, now.
    #[inline(never)]
    pub fn capture() -> CallStack {
        Self::capture_at_most(MAX_FRAMES)
    }

    /// The innermost `frames` frames of the calling thread's stack, now: the
    /// unwinder stops there, so a bounded stack costs only its frames.
    #[inline(never)]
    pub fn capture_at_most(frames: usize) -> CallStack {
        let mut addresses = Vec::with_capacity(frames.min(32));
        backtrace::trace(|frame| {
            addresses.push(frame.ip() as usize);
            addresses.len() < frames
        });
        CallStack(addresses.into_boxed_slice())
    }

    /// The frames' addresses, innermost first.
    pub fn addresses(&self) -> &[usize] {
        &self.0
    }

    /// Symbolises the frames, innermost first: `each` is given every
    /// symbol of each frame (an inlined call is a symbol of its own) until
    /// it breaks. The slow part of a report: the first call in a process
    /// also loads the program's debug information.
    pub fn resolve(&self, mut each: impl FnMut(&backtrace::Symbol) -> ControlFlow<()>) {
        drop(HELD_BACK.read());
        for &address in self.addresses() {
            let mut flow = ControlFlow::Continue(());
            backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
                if flow.is_continue() {
                    flow = each(symbol);
                }
            });
            if flow.is_break() {
                return;
            }
        }
    }
}

/// Holds back every symbolisation in this process ([`CallStack::resolve`])
/// until the returned value is dropped: for tests that show what does not
/// wait for symbolising (a deadlock is broken first, its report symbolised
/// after).
#[doc(hidden)]
pub fn hold_symbolisation() -> SymbolisationHeld {
    SymbolisationHeld(HELD_BACK.write())
}

/// Symbolisation is held back while this lives (see [`hold_symbolisation`]).
#[doc(hidden)]
pub struct SymbolisationHeld(#[allow(dead_code)] crate::raw::RwLockWriteGuard<'static, ()>);
