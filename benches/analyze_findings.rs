//! Throughput of offline analysis as its findings grow: traces where most
//! shared variables race, so that distinct findings keep coming, at four
//! lengths. The time per event must not grow with the trace (nor with the
//! findings it has made): finding, merging and classifying go by hashing,
//! not by scanning what was found.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p lockcheck --bench analyze_findings          # about 2 minutes once built
//! ```
//!
//! # Traces
//!
//! Made in memory before any measurement, each from its own seed: 8 threads
//! forked by `T0`, then blocks until the length is reached, each block by a
//! thread drawn at random: 1 to 3 distinct locks of 64, taken in increasing
//! order (so no lock-order cycle), 1 to 4 accesses (30% writes) to
//! variables drawn from `V`, the locks released in reverse. Block `k`'s
//! events are at locations `100 + 3k mod 5,000` and the two after it, so
//! sites repeat. With `V` = 100 the same variables are touched under
//! unrelated locks by every thread: a new distinct race every few dozen
//! events. Cases (criterion ids `analyze_findings/<case>`):
//!
//! * `v100/250k`, `v100/500k`, `v100/1m`, `v100/2m`: `V` = 100 at four
//!   lengths (findings from about 17,000 to 95,000);
//! * `v10000/2m`: `V` = 10,000, few findings;
//! * `locks/2m`: the blocks without their accesses: lock order only.
//!
//! Each is `lockcheck analyze`'s work on the bytes without writing a report:
//! the STD reader lending each event to `Analyzer::event`, then
//! `Analyzer::finish`, with `Throughput::Elements(events)` (criterion prints
//! events per second). Before measuring, each trace is analysed once and its
//! findings counted and checked: races where variables are shared, never a
//! lock-order cycle.

use std::hint::black_box;
use std::io::Write;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::finding::Finding;
use lockcheck::trace::std_format::StdReader;
use lockcheck::trace::EventSource;
use lockcheck::FindingKind;

// The generator of the other analysis bench, for its random numbers (a
// seed means the same trace forever).
#[allow(dead_code)]
#[path = "../cli/src/trace_gen/mod.rs"]
mod trace_gen;

use trace_gen::SplitMix64;

/// The file name sites and messages carry.
const NAME: &str = "analyze-findings-bench.std";

/// Threads besides `T0`, and locks.
const THREADS: u64 = 8;
const LOCKS: u64 = 64;

/// One trace: its case name, bytes and event count.
struct Trace {
    name: String,
    bytes: Vec<u8>,
    events: u64,
    shared: bool,
}

/// Event lines being written, counted.
struct Lines {
    bytes: Vec<u8>,
    count: u64,
}

impl Lines {
    fn push(&mut self, line: std::fmt::Arguments<'_>) {
        self.bytes.write_fmt(line).expect("writing into memory");
        self.count += 1;
    }
}

/// About `events` events with `vars` variables (0: no accesses at all).
fn trace(name: &str, events: u64, vars: u64, seed: u64) -> Trace {
    let mut rng = SplitMix64::new(seed);
    let mut out = Lines {
        bytes: Vec::with_capacity(events as usize * 16),
        count: 0,
    };
    for t in 1..=THREADS {
        out.push(format_args!("T0|fork(T{t})|1\n"));
    }
    let mut block = 0u64;
    let mut locks = Vec::with_capacity(3);
    while out.count < events {
        let t = 1 + rng.below(THREADS);
        let loc = 100 + (3 * block) % 5_000;
        block += 1;
        let k = 1 + rng.below(3);
        locks.clear();
        while (locks.len() as u64) < k {
            let l = rng.below(LOCKS);
            if !locks.contains(&l) {
                locks.push(l);
            }
        }
        locks.sort_unstable();
        for l in &locks {
            out.push(format_args!("T{t}|acq(L{l})|{loc}\n"));
        }
        if vars > 0 {
            for _ in 0..1 + rng.below(4) {
                let op = if rng.below(10) < 3 { 'w' } else { 'r' };
                let v = rng.below(vars);
                out.push(format_args!("T{t}|{op}(V{v})|{}\n", loc + 1));
            }
        }
        for l in locks.iter().rev() {
            out.push(format_args!("T{t}|rel(L{l})|{}\n", loc + 2));
        }
    }
    for t in 1..=THREADS {
        out.push(format_args!("T0|join(T{t})|2\n"));
    }
    Trace {
        name: name.to_owned(),
        events: out.count,
        bytes: out.bytes,
        shared: vars > 0,
    }
}

/// What `lockcheck analyze` does before it writes the report.
fn analyse(bytes: &[u8]) -> Vec<Finding> {
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    let mut reader = StdReader::new(bytes, NAME);
    reader.for_each_event(&mut |item| {
        analyzer.event(item.expect("generated lines are well-formed"));
        ControlFlow::Continue(())
    });
    analyzer.finish()
}

/// Races where variables are shared, and never a lock-order cycle (every
/// thread takes locks in increasing order).
fn check(t: &Trace, findings: &[Finding]) -> usize {
    let count = |kind| findings.iter().filter(|f| f.kind == kind).count();
    assert_eq!(count(FindingKind::LockOrderCycle), 0, "{}: a cycle", t.name);
    let races = count(FindingKind::DataRace);
    assert_eq!(races > 0, t.shared, "{}: {races} races", t.name);
    findings.len()
}

fn analyze_findings(c: &mut Criterion) {
    let traces = [
        trace("v100/250k", 250_000, 100, 1),
        trace("v100/500k", 500_000, 100, 2),
        trace("v100/1m", 1_000_000, 100, 3),
        trace("v100/2m", 2_000_000, 100, 4),
        trace("v10000/2m", 2_000_000, 10_000, 5),
        trace("locks/2m", 2_000_000, 0, 6),
    ];
    for t in &traces {
        let findings = check(t, &analyse(&t.bytes));
        eprintln!(
            "analyze_findings bench: {}, {} events, {:.1} MB, {findings} findings",
            t.name,
            t.events,
            t.bytes.len() as f64 / 1e6
        );
    }
    let mut group = c.benchmark_group("analyze_findings");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    for t in &traces {
        group.throughput(Throughput::Elements(t.events));
        group.bench_function(&t.name, |b| {
            b.iter(|| black_box(analyse(black_box(&t.bytes))))
        });
    }
    group.finish();
}

criterion_group!(benches, analyze_findings);
criterion_main!(benches);
