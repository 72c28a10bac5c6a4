//! Detectors: pure state machines, events in, findings out. They hold no
//! global state and do no I/O; the live runtime and the trace analyser feed
//! them the same events.

pub mod findings;
pub(crate) mod leaf_edges;
pub mod lock_order;
pub mod lockset;
pub mod race;
pub mod self_deadlock;
#[cfg(test)]
pub(crate) mod test_locks;
pub mod vector_clock;
pub mod wait_for;

pub use lock_order::{Cycle, LockOrderGraph, OrderGranularity};
pub use wait_for::{
    Blocked, JoinWaiter, PrimitiveWaiter, WaitForGraph, WaitKind, WaitTarget, Waiter,
};
