//! parking_lot 0.12's API, served by lockcheck: every lock a crate makes
//! through this crate is a checked lockcheck lock, so lock-order cycles,
//! deadlocks and self-deadlocks between any crates of the build — the
//! application's own locks included — are found and reported with their
//! lines. Use it through `[patch.crates-io]` (see the manifest).

pub use lockcheck::*;
