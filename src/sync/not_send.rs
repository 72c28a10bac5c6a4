//! The marker that keeps every guard on the thread that locked.

use std::marker::PhantomData;

/// Makes the type that holds it `!Send`, and leaves `Sync` to the type's
/// other fields (or to an explicit `Sync` impl).
///
/// A guard's hold lives in the locking thread's held-lock stack; a guard
/// dropped on another thread would release from that thread's stack, which
/// lacks the hold, and leave the hold behind on the locking thread (a false
/// self-deadlock at its next acquisition, a false leak at its exit). The
/// guards used to take their auto traits from parking_lot's guards, which
/// become `Send` as soon as any crate in the build turns on parking_lot's
/// `send_guard` feature; this marker does not depend on features.
#[derive(Copy, Clone, Default)]
pub(crate) struct NotSend(PhantomData<*const ()>);

// SAFETY: a zero-sized marker with no behaviour: sharing it shares nothing.
unsafe impl Sync for NotSend {}
