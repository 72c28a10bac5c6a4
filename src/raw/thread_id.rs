//! `RawThreadId`: the current thread's identity for `lock_api`'s reentrant
//! mutex, which compares it with its owner's to let the owner re-enter.

use std::num::NonZeroUsize;

/// The address of a thread-local byte: distinct for every live thread,
/// never zero, and cheap to read (no system call, no counter).
pub struct RawThreadId;

thread_local! {
    /// The byte whose address names this thread. `const` and without drop,
    /// so it can be read at any time, even while the thread's other
    /// thread-locals are being torn down.
    static IDENTITY: u8 = const { 0 };
}

// SAFETY: two threads alive at once have distinct thread-local bytes, so
// distinct addresses; an address is reused only after its thread has
// exited, when it can no longer own a mutex it could re-enter.
unsafe impl lock_api::GetThreadId for RawThreadId {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's INIT is a constant by design"
    )]
    const INIT: RawThreadId = RawThreadId;

    #[inline]
    fn nonzero_thread_id(&self) -> NonZeroUsize {
        let addr = IDENTITY.with(|byte| byte as *const u8 as usize);
        NonZeroUsize::new(addr).expect("a reference's address is never zero")
    }
}
