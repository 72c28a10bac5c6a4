//! A file as `lockcheck analyze` opens it: format detection (a spool
//! included), the reader it picks, and the analysis. The file is refused
//! naming a line (a spool: a byte), or read with every error naming a line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockcheck::trace;
use lockcheck_fuzz::{assert_names_a_line, line_count, read_and_analyse, shown, write_input};

fuzz_target!(|data: &[u8]| {
    let path = write_input("fuzz-trace", data);
    match trace::open(&path, None) {
        // A spool is read as the trace it merges into: its lines, not these.
        Ok(events) if trace::spool::is_spool(data) => read_and_analyse(events, None),
        Ok(events) => read_and_analyse(events, Some(line_count(data))),
        Err(e) if trace::spool::is_spool(data) => {
            assert!(e.to_string().starts_with(&shown(&path)), "{e}");
            assert!(e.message.contains(" at byte "), "{e}");
        }
        Err(e) => assert_names_a_line(&e, line_count(data)),
    }
});
