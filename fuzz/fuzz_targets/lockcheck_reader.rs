//! The lockcheck-format reader on any bytes, then the analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck_fuzz::{line_count, read_and_analyse};

fuzz_target!(|data: &[u8]| {
    read_and_analyse(
        LockcheckReader::new(data, "fuzz.lct"),
        Some(line_count(data)),
    );
});
