//! The STD reader on any bytes, then the analysis.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockcheck::trace::std_format::StdReader;
use lockcheck_fuzz::{line_count, read_and_analyse};

fuzz_target!(|data: &[u8]| {
    read_and_analyse(StdReader::new(data, "fuzz.std"), Some(line_count(data)));
});
