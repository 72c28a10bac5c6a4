//! The live global state: the lock-order graph, the wait-for graph, the
//! findings of this process, and the report file. Reached only off the hot
//! path (a new order edge, a blocked acquire, a finding).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::OnceLock;

use crate::raw::Mutex;

use crate::detect::{LockOrderGraph, WaitForGraph};
use crate::finding::{Finding, FindingSet};
use crate::runtime::config;

/// Process-wide detector state. Lock order inside lockcheck itself: never
/// two of these mutexes at once, and never one while calling user code.
pub(crate) struct Global {
    pub(crate) order: Mutex<LockOrderGraph>,
    pub(crate) waits: Mutex<WaitForGraph>,
    pub(crate) findings: Mutex<FindingSet>,
    sink: Option<Mutex<File>>,
}

impl Global {
    fn new() -> Self {
        let sink = config::report_path().and_then(|path| {
            match OpenOptions::new().create(true).append(true).open(&path) {
                Ok(file) => Some(Mutex::new(file)),
                Err(e) => {
                    eprintln!("lockcheck: warning: cannot open report file {path}: {e}; findings are only printed");
                    None
                }
            }
        });
        Global {
            order: Mutex::new(LockOrderGraph::new(config::freeze_order_granularity())),
            waits: Mutex::new(WaitForGraph::default()),
            findings: Mutex::new(FindingSet::new()),
            sink,
        }
    }

    /// Appends a finding to the report file, one JSON object a line, written
    /// with one `write` so that lines of concurrent writers never interleave
    /// and a crash right after loses nothing.
    pub(crate) fn write_to_sink(&self, finding: &Finding) {
        let Some(sink) = &self.sink else { return };
        let mut line = crate::finding::to_json_line(finding);
        line.push('\n');
        if let Err(e) = sink.lock().write_all(line.as_bytes()) {
            eprintln!("lockcheck: warning: cannot write to the report file: {e}");
        }
    }
}

/// The process-wide state, created on first need.
pub(crate) fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(Global::new)
}
