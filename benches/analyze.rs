//! Throughput of offline analysis (`lockcheck analyze`): events per second
//! through the STD reader and the [`Analyzer`] on synthetic traces of two
//! million events.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p lockcheck --bench analyze                        # every benchmark (about 80 s once built)
//! cargo bench -p lockcheck --bench analyze -- analysis_only       # one kind (criterion filter)
//! ```
//!
//! # Traces
//!
//! Generated once, in memory, before any measurement, by the same code as the
//! `gen_trace` binary (`cli/src/trace_gen/mod.rs`, whose docs describe the
//! traces; seed 42, 8 worker threads, 64 locks, 4,096 shared variables), one
//! per profile:
//!
//! * `mixed`: locked blocks of 1 to 3 nested locks and private-variable
//!   blocks; about half the events `acq`/`rel`, half `r`/`w`. 2 lock-order
//!   cycles and 2 races planted.
//! * `locks`: only `acq`, `rel`, `fork` and `join`, blocks of 1 to 4 nested
//!   locks: the lock-order graph and the lock clocks, no access checks.
//!   2 cycles planted.
//! * `accesses`: about 87% `r`/`w` (one lock around 4 to 12 accesses, or 4
//!   to 12 private accesses): the race detector (FastTrack epochs, one
//!   `VarShadow` a variable). 2 cycles and 2 races planted.
//!
//! Before measuring, each trace is analysed once and the findings checked
//! against what was planted, so a fast wrong analysis cannot pass.
//!
//! # Benchmarks (criterion ids `analyze/<kind>/<profile>`)
//!
//! * `end_to_end`: what `lockcheck analyze` does for a file, from bytes
//!   already in memory (no disk): `StdReader` (line splitting, field
//!   parsing, name interning) lending each event to `Analyzer::event`
//!   (`EventSource::for_each_event`, as the command reads), then
//!   `Analyzer::finish`.
//! * `analysis_only`: the events parsed beforehand into a `Vec<Event>`
//!   (not timed); only `Analyzer::event` for each and `finish` are timed.
//! * `parse_only`: `StdReader` over the bytes, events dropped (mixed only).
//!
//! Every benchmark has `Throughput::Elements(events)`, events being the trace's
//! event lines, so criterion prints events per second (`thrpt`). Flat
//! sampling with 10 samples, 1 s of warm-up and 8 s of measurement each: an
//! end-to-end iteration takes most of a second, so its samples are one
//! iteration each.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::event::Event;
use lockcheck::finding::Finding;
use lockcheck::trace::std_format::StdReader;
use lockcheck::trace::EventSource;
use lockcheck::FindingKind;

// Shared with `src/bin/gen_trace.rs`, which also uses what this bench does
// not (parsing a profile name).
#[allow(dead_code)]
#[path = "../cli/src/trace_gen/mod.rs"]
mod trace_gen;

use trace_gen::{Config, Profile};

/// Events a trace has (approximately).
const EVENTS: u64 = 2_000_000;

/// The file name sites and messages carry.
const NAME: &str = "analyze-bench.std";

struct Trace {
    profile: Profile,
    bytes: Vec<u8>,
    events: u64,
    accesses: u64,
    cycles: u32,
    races: u32,
}

fn trace(profile: Profile) -> Trace {
    let races = if profile == Profile::Locks { 0 } else { 2 };
    let cfg = Config {
        events: EVENTS,
        threads: 8,
        locks: 64,
        vars: 4096,
        cycles: 2,
        races,
        seed: 42,
        profile,
    };
    let mut bytes = Vec::with_capacity(EVENTS as usize * 20);
    let summary = trace_gen::generate(&cfg, &mut bytes).expect("generate into memory");
    Trace {
        profile,
        bytes,
        events: summary.events,
        accesses: summary.accesses,
        cycles: cfg.cycles,
        races: cfg.races,
    }
}

fn parse(bytes: &[u8]) -> impl Iterator<Item = Event> + '_ {
    StdReader::new(bytes, NAME).map(|e| e.expect("generated lines are well-formed"))
}

/// As `lockcheck analyze` reads a trace: each event lent to the analyzer
/// by `EventSource::for_each_event` (the iterator moves every event out,
/// and decodes every line: the reader's memo of lines is on this path only).
fn end_to_end(bytes: &[u8]) -> Vec<Finding> {
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    StdReader::new(bytes, NAME).for_each_event(&mut |item| {
        analyzer.event(item.expect("generated lines are well-formed"));
        std::ops::ControlFlow::Continue(())
    });
    analyzer.finish()
}

fn analysis_only(events: &[Event]) -> Vec<Finding> {
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    for event in events {
        analyzer.event(event);
    }
    analyzer.finish()
}

/// The analysis finds exactly what was planted.
fn check(t: &Trace, findings: &[Finding]) {
    let count = |kind| findings.iter().filter(|f| f.kind == kind).count();
    assert_eq!(
        (
            count(FindingKind::LockOrderCycle),
            count(FindingKind::DataRace),
            findings.len()
        ),
        (
            t.cycles as usize,
            t.races as usize,
            (t.cycles + t.races) as usize
        ),
        "{}: the analysis does not find what was planted",
        t.profile.name()
    );
}

fn analyze(c: &mut Criterion) {
    let traces: Vec<Trace> = [Profile::Mixed, Profile::Locks, Profile::Accesses]
        .into_iter()
        .map(trace)
        .collect();
    for t in &traces {
        check(t, &end_to_end(&t.bytes));
        eprintln!(
            "analyze bench: {} trace, {} events ({:.0}% r/w), {:.1} MB",
            t.profile.name(),
            t.events,
            100.0 * t.accesses as f64 / t.events as f64,
            t.bytes.len() as f64 / 1e6
        );
    }

    let mut group = c.benchmark_group("analyze");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    for t in &traces {
        group.throughput(Throughput::Elements(t.events));
        group.bench_function(format!("end_to_end/{}", t.profile.name()), |b| {
            b.iter(|| black_box(end_to_end(black_box(&t.bytes))))
        });
    }
    for t in &traces {
        // Parsed once per profile, dropped before the next (about 100 MB each).
        let events: Vec<Event> = parse(&t.bytes).collect();
        check(t, &analysis_only(&events));
        group.throughput(Throughput::Elements(t.events));
        group.bench_function(format!("analysis_only/{}", t.profile.name()), |b| {
            b.iter(|| black_box(analysis_only(black_box(&events))))
        });
    }
    let mixed = &traces[0];
    group.throughput(Throughput::Elements(mixed.events));
    group.bench_function("parse_only/mixed", |b| {
        b.iter(|| parse(black_box(&mixed.bytes)).for_each(|e| drop(black_box(e))))
    });
    group.finish();
}

criterion_group!(benches, analyze);
criterion_main!(benches);
