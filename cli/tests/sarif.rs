//! `--format sarif`: the documents of real `lockcheck analyze` runs validate
//! against the SARIF 2.1.0 JSON schema, and carry one result per finding with
//! the right rule, level, locations and fingerprint.
//!
//! The schema is the official OASIS one that the `serde-sarif` crate (a
//! dependency) ships as `src/schema.json`; it is read from Cargo's registry
//! sources, where the build put it. `SARIF_SCHEMA=path` overrides that.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lockcheck::FindingKind;
use serde_json::Value;

fn lockcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockcheck"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run lockcheck")
}

/// `lockcheck analyze --format FORMAT TRACE [--strict]`: the document and the exit code.
fn analyze(format: &str, trace: &str, strict: bool) -> (Value, i32) {
    let mut args = vec!["analyze", "--format", format, trace];
    if strict {
        args.push("--strict");
    }
    let out = lockcheck(&args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{trace}: --format {format} stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc, out.status.code().expect("exit code"))
}

/// The serde-sarif version in Cargo.lock.
fn serde_sarif_version() -> String {
    let lock = std::fs::read_to_string(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join("Cargo.lock"),
    )
    .expect("Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"serde-sarif\"" {
            let version = lines.next().expect("version line");
            return version
                .trim()
                .trim_start_matches("version = \"")
                .trim_end_matches('"')
                .to_owned();
        }
    }
    panic!("serde-sarif is not in Cargo.lock");
}

fn schema_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SARIF_SCHEMA") {
        return PathBuf::from(path);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let package = format!("serde-sarif-{}", serde_sarif_version());
    let registries = cargo_home.join("registry/src");
    let found = std::fs::read_dir(&registries)
        .into_iter()
        .flatten()
        .flatten()
        .map(|index| index.path().join(&package).join("src/schema.json"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no {package}/src/schema.json under {}: build first (cargo fetches it), or set SARIF_SCHEMA",
            registries.display()
        )
    })
}

/// The official 2.1.0 schema's `language` patterns (of `run` and
/// `toolComponent`) have a stray `]`: `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`,
/// which ECMA-262 tolerates but jsonschema's meta-schema check rejects, so
/// no validator can be built from the schema as shipped. They get the
/// pattern they mean: a two-letter language, then optionally `-` and a
/// two-letter region. lockcheck writes no `language`.
fn fix_language_patterns(schema: &mut Value) {
    const TYPO: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "pattern" && value == TYPO {
                    *value = Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                } else {
                    fix_language_patterns(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_language_patterns),
        _ => {}
    }
}

/// Validates `doc` against the SARIF 2.1.0 schema, formats (uri, …) included.
fn assert_valid_sarif(doc: &Value, what: &str) {
    let errors = sarif_errors(doc);
    assert!(
        errors.is_empty(),
        "{what}: not valid SARIF 2.1.0:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

/// What the SARIF 2.1.0 schema finds wrong with `doc`.
fn sarif_errors(doc: &Value) -> Vec<String> {
    let path = schema_path();
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("schema is JSON");
    assert!(
        schema["title"]
            .as_str()
            .is_some_and(|t| t.contains("SARIF) Version 2.1.0")),
        "{} is not the SARIF 2.1.0 schema",
        path.display()
    );
    fix_language_patterns(&mut schema);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn run_of(doc: &Value) -> &Value {
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "one run");
    &runs[0]
}

fn results(doc: &Value) -> &Vec<Value> {
    run_of(doc)["results"].as_array().expect("results array")
}

/// Checks what every document must have, and that each result matches the
/// finding of the JSON report at the same index.
fn check_against_json(trace: &str) -> Value {
    let (sarif, sarif_code) = analyze("sarif", trace, false);
    let (json, json_code) = analyze("json", trace, false);
    assert_valid_sarif(&sarif, trace);
    assert_eq!(sarif_code, json_code, "{trace}: exit code as for json");

    let driver = &run_of(&sarif)["tool"]["driver"];
    assert_eq!(driver["name"], "lockcheck");
    assert!(driver.get("informationUri").is_none(), "no home page known");
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "a rule per finding kind");
    for r in rules {
        assert!(r["shortDescription"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(r["fullDescription"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert_eq!(r["defaultConfiguration"]["level"], "error");
    }

    let findings = json["findings"].as_array().expect("findings");
    let results = results(&sarif);
    assert_eq!(
        results.len(),
        findings.len(),
        "{trace}: one result per finding"
    );
    for (r, f) in results.iter().zip(findings) {
        assert_eq!(r["ruleId"], f["kind"]);
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], f["kind"]);
        assert_eq!(r["message"]["text"], f["summary"]);
        assert_eq!(r["partialFingerprints"]["lockcheckKey/v1"], f["key"]);
        assert_eq!(r["properties"]["count"], f["count"]);
        let locations = r["locations"].as_array().expect("locations");
        assert_eq!(locations.len(), 1, "one primary location");
        let physical = &locations[0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], trace);
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(physical["region"]["startLine"]
            .as_u64()
            .is_some_and(|l| l > 0));
        // Trace sites have no column.
        assert!(physical["region"].get("startColumn").is_none());
        for related in r["relatedLocations"].as_array().into_iter().flatten() {
            assert!(related["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty()));
        }
    }
    sarif
}

fn start_line(location: &Value) -> u64 {
    location["physicalLocation"]["region"]["startLine"]
        .as_u64()
        .expect("startLine")
}

#[test]
fn lock_order_cycle_is_valid_sarif_with_both_edges() {
    let trace = "fixtures/traces/opposite_orders.std";
    let sarif = check_against_json(trace);
    let results = results(&sarif);
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["ruleId"], "lock-order-cycle");
    assert_eq!(r["level"], "error");
    assert_eq!(r["properties"]["singleThread"], false);
    assert!(r["properties"].get("guardedBy").is_none());
    // Primary: the first edge's to_site (T2 takes noodles at line 21 holding fork).
    assert_eq!(start_line(&r["locations"][0]), 21);
    // Related: every other site, the other edge's (10 -> 11) included.
    let related = r["relatedLocations"].as_array().expect("relatedLocations");
    let mut lines: Vec<u64> = related.iter().map(start_line).collect();
    lines.sort_unstable();
    assert_eq!(lines, [10, 11, 20]);
    let texts: Vec<&str> = related
        .iter()
        .map(|l| l["message"]["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("`fork` acquired while holding `noodles`")),
        "{texts:?}"
    );
}

#[test]
fn data_races_are_valid_sarif() {
    let trace = "fixtures/traces/unsynchronised_counter.std";
    let sarif = check_against_json(trace);
    let results = results(&sarif);
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["ruleId"], "data-race");
        assert_eq!(r["level"], "error");
        // The earlier access of the pair is related to the one that found it.
        let related = r["relatedLocations"].as_array().expect("relatedLocations");
        assert!(related.iter().any(|l| l["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("previous ")));
    }
}

#[test]
fn guarded_cycle_is_a_warning_unless_strict() {
    let trace = "fixtures/traces/gate_lock.std";
    let sarif = check_against_json(trace);
    let results = results(&sarif);
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["ruleId"], "lock-order-cycle");
    assert_eq!(r["level"], "warning");
    assert_eq!(r["properties"]["guardedBy"], "waiter");
    assert!(r["relatedLocations"]
        .as_array()
        .is_some_and(|l| !l.is_empty()));

    let (strict, code) = analyze("sarif", trace, true);
    assert_valid_sarif(&strict, "gate_lock --strict");
    assert_eq!(results_level(&strict), ["error"]);
    assert_eq!(code, 1, "a guarded cycle fails under --strict");
}

fn results_level(doc: &Value) -> Vec<&str> {
    results(doc)
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect()
}

#[test]
fn clean_trace_gives_empty_results_and_every_rule() {
    let trace = "fixtures/traces/locked_counter.std";
    let sarif = check_against_json(trace);
    assert!(results(&sarif).is_empty());
    let (_, code) = analyze("sarif", trace, false);
    assert_eq!(code, 0);
}

#[test]
fn exit_codes_as_for_json() {
    for (trace, code) in [
        ("fixtures/traces/opposite_orders.std", 1),
        ("fixtures/traces/unsynchronised_counter.std", 1),
        ("fixtures/traces/gate_lock.std", 0),
        ("fixtures/traces/locked_counter.std", 0),
    ] {
        assert_eq!(analyze("sarif", trace, false).1, code, "{trace}");
    }
}

#[test]
fn the_schema_check_rejects_broken_documents() {
    let (good, _) = analyze("sarif", "fixtures/traces/opposite_orders.std", false);
    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage); 4] = [
        ("a level SARIF does not have", |d| {
            d["runs"][0]["results"][0]["level"] = "fatal".into()
        }),
        ("line 0", |d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
                0.into()
        }),
        ("a space in a uri", |d| {
            d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"] = "a b.rs".into()
        }),
        ("no tool", |d| {
            d["runs"][0].as_object_mut().unwrap().remove("tool");
        }),
    ];
    for (what, breakage) in breakages {
        let mut doc = good.clone();
        breakage(&mut doc);
        assert!(!sarif_errors(&doc).is_empty(), "{what} passed the schema");
    }
}

#[test]
fn suppressed_finding_is_valid_sarif() {
    let (json, _) = analyze("json", "fixtures/traces/opposite_orders.std", false);
    let mut findings: Vec<lockcheck::finding::Finding> =
        serde_json::from_value(json["findings"].clone()).expect("findings parse");
    findings[0].suppressed = Some("known; fork is always taken first since #412".into());
    let doc: Value = serde_json::from_str(&lockcheck_cli::report::sarif::render(&findings, false))
        .expect("SARIF is JSON");
    assert_valid_sarif(&doc, "a suppressed finding");
    let r = &results(&doc)[0];
    assert_eq!(r["level"], "error");
    assert_eq!(r["suppressions"][0]["kind"], "external");
}

#[test]
fn skipped_lines_are_failed_execution_notifications_naming_each_line() {
    let (doc, code) = analyze("sarif", "fixtures/traces/malformed.std", false);
    assert_valid_sarif(&doc, "malformed.std");
    assert_eq!(code, 2, "not fully checked");
    assert_eq!(results(&doc).len(), 1, "the cycle after the bad line");
    let invocation = &run_of(&doc)["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notes.len(), 2, "the count, then the line: {notes:#?}");
    assert!(notes.iter().all(|n| n["level"] == "error"));
    assert!(notes[0]["message"]["text"]
        .as_str()
        .is_some_and(|t| t.contains("1 of 11 lines skipped as malformed")));
    let at = &notes[1]["locations"][0]["physicalLocation"];
    assert_eq!(
        at["artifactLocation"]["uri"],
        "fixtures/traces/malformed.std"
    );
    assert_eq!(at["region"]["startLine"], 5);
    // --keep-going: warnings, and the execution counts as successful.
    let out = lockcheck(&[
        "analyze",
        "--format",
        "sarif",
        "--keep-going",
        "fixtures/traces/malformed.std",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_valid_sarif(&doc, "malformed.std --keep-going");
    let invocation = &run_of(&doc)["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["level"],
        "warning"
    );
    // Near miss: a trace read whole has a successful invocation and no
    // notification.
    let (doc, _) = analyze("sarif", "fixtures/traces/opposite_orders.std", false);
    let invocation = &run_of(&doc)["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert!(invocation.get("toolExecutionNotifications").is_none());
}
