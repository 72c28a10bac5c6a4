//! The probe of parking_lot 0.13's public API
//! (tests/parking_lot_013_probe/body.rs) with `lockcheck::parking_lot_013`
//! in place of parking_lot 0.13: the same file, one `use` line changed,
//! the same results.

use lockcheck::parking_lot_013 as pl;

include!("parking_lot_013_probe/body.rs");
