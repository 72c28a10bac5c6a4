//! The trace analysis stays linear in its findings: merging a finding into
//! the ones already made looks at a bounded number of entries, however many
//! there are (the time per event that grew with the findings came from
//! scanning them). A count of work (`Analyzer::finding_work`), not a time:
//! traces from the generator with races and cycles planted in proportion to
//! their length, at three lengths.

use lockcheck::analysis::Analyzer;
use lockcheck::detect::OrderGranularity;
use lockcheck::trace::std_format::StdReader;
// The generator `gen_trace` writes traces with (shared with the benches).
#[allow(dead_code)]
#[path = "../src/trace_gen/mod.rs"]
mod trace_gen;
use trace_gen::{generate, Config, Profile};

/// (events analysed, findings, work) of one generated trace.
fn analyse(events: u64) -> (u64, usize, u64) {
    let cfg = Config {
        events,
        vars: 100,
        races: (events / 200) as u32,
        cycles: (events / 2000) as u32,
        profile: Profile::Mixed,
        ..Config::default()
    };
    let mut text = Vec::new();
    generate(&cfg, &mut text).expect("generate");
    let mut analyzer = Analyzer::new(OrderGranularity::Instance);
    let mut analysed = 0;
    for event in StdReader::new(text.as_slice(), "generated.std") {
        analyzer.event(&event.expect("the generator writes valid lines"));
        analysed += 1;
    }
    (analysed, analyzer.finding_count(), analyzer.finding_work())
}

#[test]
fn merging_findings_takes_bounded_work_per_finding_at_every_length() {
    let runs: Vec<(u64, usize, u64)> = [50_000, 100_000, 200_000].map(analyse).to_vec();
    for &(events, findings, work) in &runs {
        assert!(
            findings > (events / 400) as usize,
            "{events} events: only {findings} findings"
        );
        // Each finding is added once per time it is seen; each add looks at
        // the finding it merges into and a bounded number of its parts.
        assert!(
            work <= 64 * findings as u64 + events,
            "{events} events, {findings} findings: {work} entries looked at"
        );
    }
    // Twice the trace (twice the findings): about twice the work, never the
    // four times a scan of the findings made would take.
    for pair in runs.windows(2) {
        let ((_, f1, w1), (_, f2, w2)) = (pair[0], pair[1]);
        assert!(f2 as f64 >= 1.8 * f1 as f64, "findings {f1} -> {f2}");
        assert!(
            (w2 as f64) <= 2.5 * w1 as f64,
            "work {w1} -> {w2} for findings {f1} -> {f2}"
        );
    }
}
