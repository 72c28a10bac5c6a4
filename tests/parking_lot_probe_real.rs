//! The probe of parking_lot 0.12's public API (tests/parking_lot_probe/body.rs)
//! against parking_lot itself: the reference for what
//! tests/parking_lot_probe_lockcheck.rs must compile and do.

use parking_lot as pl;

include!("parking_lot_probe/body.rs");
