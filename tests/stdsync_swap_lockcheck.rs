//! The std::sync-shaped tests (tests/stdsync_swap/common.rs) with
//! `lockcheck::stdsync` in place of `std::sync`: the same file, one `use`
//! line changed, the same results.

use lockcheck::stdsync as sync;

include!("stdsync_swap/common.rs");
