//! parking_lot 0.13's API, served by lockcheck: every lock a crate makes
//! through this crate is a checked lockcheck lock, so lock-order cycles,
//! deadlocks and self-deadlocks between any crates of the build — the
//! application's own locks and those of crates still on parking_lot 0.12
//! (through the 0.12 shim) included — are found and reported with their
//! lines. Use it through `[patch.crates-io]` (see the manifest).

pub use lockcheck::parking_lot_013::*;
