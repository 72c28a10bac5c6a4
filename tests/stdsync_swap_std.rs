//! The std::sync-shaped tests (tests/stdsync_swap/common.rs) against std
//! itself: the reference for what tests/stdsync_swap_lockcheck.rs must do.

use std::sync;

include!("stdsync_swap/common.rs");
