//! Call stacks captured where lockcheck learns something new (a new
//! lock-order edge, a blocked acquire, an access in a report): only the
//! return addresses, taken on the spot; symbols are looked up when a report
//! is printed (see [`crate::report::frames`]).
//!
//! Keeping addresses alone is what makes capture cheap: `backtrace`'s own
//! `Backtrace` also looks up each frame's enclosing function when it is
//! taken, which costs about half again as much.

/// Most frames kept: deeper ones are beyond anything a report shows.
const MAX_FRAMES: usize = 128;

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
        let mut addresses = Vec::with_capacity(32);
        backtrace::trace(|frame| {
            addresses.push(frame.ip() as usize);
            addresses.len() < MAX_FRAMES
        });
        CallStack(addresses.into_boxed_slice())
    }

    /// The frames' addresses, innermost first.
    pub fn addresses(&self) -> &[usize] {
        &self.0
    }
}
