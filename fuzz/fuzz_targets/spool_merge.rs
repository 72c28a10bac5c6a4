//! The merge of a recording's spool on any bytes: merged into a trace
//! (which is then read and analysed), or refused as invalid data naming the
//! byte where the chunk framing broke.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lockcheck::trace::lockcheck_format::LockcheckReader;
use lockcheck::trace::spool;
use lockcheck_fuzz::{line_count, read_and_analyse, write_input};

fuzz_target!(|data: &[u8]| {
    let input = write_input("fuzz.lct.spool", data);
    let out = input.with_file_name("fuzz.lct");
    match spool::finalize(&input, &out, spool::Ending::Cut) {
        Ok(_) => {
            let merged = std::fs::read(&out).expect("the merged trace");
            read_and_analyse(
                LockcheckReader::new(&merged[..], "fuzz.lct"),
                Some(line_count(&merged)),
            );
        }
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
            assert!(e.to_string().contains(" at byte "), "{e}");
        }
    }
});
