//! The STD reader on any bytes, then the analysis.
#![no_main]

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use lockcheck::trace::std_format::StdReader;
use lockcheck::trace::EventSource;
use lockcheck_fuzz::{line_count, read_and_analyse};

fuzz_target!(|data: &[u8]| {
    // The iterator and the lending loop `lockcheck analyze` uses yield the
    // same items.
    let by_next: Vec<_> = StdReader::new(data, "fuzz.std").collect();
    let mut lent = Vec::new();
    StdReader::new(data, "fuzz.std").for_each_event(&mut |item| {
        lent.push(item.cloned());
        ControlFlow::Continue(())
    });
    assert_eq!(by_next, lent);
    read_and_analyse(StdReader::new(data, "fuzz.std"), Some(line_count(data)));
});
