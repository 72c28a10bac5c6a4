//! The probe of parking_lot 0.13's public API
//! (tests/parking_lot_013_probe/body.rs) against parking_lot 0.13 itself:
//! the reference for what tests/parking_lot_013_probe_lockcheck.rs must
//! compile and do.

use parking_lot_013 as pl;

include!("parking_lot_013_probe/body.rs");
