//! The probe of parking_lot 0.12's public API (tests/parking_lot_probe/body.rs)
//! with lockcheck in place of parking_lot: the same file, one `use` line
//! changed, the same results.

use lockcheck as pl;

include!("parking_lot_probe/body.rs");
