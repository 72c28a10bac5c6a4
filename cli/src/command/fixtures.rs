//! `lockcheck fixtures`: build the fixture programs of a checkout, run each
//! through `run`, and print a table: fixture, lesson, expected verdict,
//! verdict found, whether they agree.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Parser;
use lockcheck::fixture::{FixtureSpec, Verdict};

use super::run::{collect, ProgramOutput};
use super::{CheckOptions, Cli, CliError, Command as CliCommand, EXIT_CLEAN, EXIT_FINDINGS};

/// The fixture package's manifest (`fixtures/Cargo.toml`): the one given
/// (the fixture package's, or a checkout's top-level one beside `fixtures/`),
/// or the first found from the current directory up.
fn find_manifest(given: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let fixture_manifest = |top: &Path| top.with_file_name("fixtures").join("Cargo.toml");
    if let Some(path) = given {
        let beside = fixture_manifest(&path);
        return Ok(if beside.is_file() { beside } else { path });
    }
    let cwd = std::env::current_dir()
        .map_err(|e| CliError(format!("cannot read the current directory: {e}")))?;
    cwd.ancestors()
        .flat_map(|d| [d.join("Cargo.toml"), fixture_manifest(&d.join("Cargo.toml"))])
        .find(|m| m.is_file() && m.parent().is_some_and(|d| d.ends_with("fixtures")))
        .ok_or_else(|| {
            CliError(format!(
                "{}: not inside a lockcheck checkout (no fixtures/Cargo.toml here or above); use --manifest-path",
                cwd.display()
            ))
        })
}

/// Builds the examples and returns each one's executable by name, as cargo
/// reports them (this follows CARGO_TARGET_DIR and profiles).
fn build_examples(manifest: &Path, release: bool) -> Result<HashMap<String, PathBuf>, CliError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--examples")
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if release {
        cmd.arg("--release");
    }
    eprintln!(
        "lockcheck: building the fixtures (cargo build --examples{})",
        if release { " --release" } else { "" }
    );
    let out = cmd
        .output()
        .map_err(|e| CliError(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(CliError(format!(
            "{}: building the fixtures failed (cargo exited with {})",
            manifest.display(),
            out.status
        )));
    }
    let mut exes = HashMap::new();
    for line in out.stdout.lines() {
        let line = line.map_err(|e| CliError(format!("cannot read cargo's output: {e}")))?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let is_example = msg["target"]["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "example"));
        if let (true, Some(name), Some(exe)) = (
            is_example,
            msg["target"]["name"].as_str(),
            msg["executable"].as_str(),
        ) {
            exes.insert(name.to_owned(), PathBuf::from(exe));
        }
    }
    Ok(exes)
}

/// A fixture ends within milliseconds, or is stopped by lockcheck when it
/// deadlocks: one still running after this has hung (a regression), and is
/// killed so that the table is still printed.
const HUNG_AFTER: Duration = Duration::from_secs(120);

/// The options of a fixture's `run-with:` line, parsed as `lockcheck run`
/// would parse them, with [`HUNG_AFTER`] as the timeout unless it sets one.
fn options_for(spec: &FixtureSpec) -> Result<CheckOptions, CliError> {
    let args = ["lockcheck", "run"]
        .into_iter()
        .map(str::to_owned)
        .chain(spec.run_with.iter().cloned())
        .chain(["--".to_owned(), spec.name.clone()]);
    let bad = |why: String| CliError(format!("{}: bad run-with line: {why}", spec.path.display()));
    match Cli::try_parse_from(args).map(|cli| cli.command) {
        Ok(CliCommand::Run { mut options, .. }) => {
            options.no_backtrace = true;
            options.timeout.get_or_insert(HUNG_AFTER);
            Ok(options)
        }
        Ok(_) => Err(bad("not options of `lockcheck run`".to_owned())),
        Err(e) => Err(bad(e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned())),
    }
}

struct Row {
    name: String,
    lesson: String,
    expected: String,
    found: String,
    agrees: bool,
}

fn print_table(rows: &[Row]) {
    let headers = ["fixture", "lesson", "expected", "found", "agree"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.lesson.clone(),
                r.expected.clone(),
                r.found.clone(),
                if r.agrees { "yes" } else { "NO" }.to_owned(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: &[String]| {
        row.iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(&headers.map(str::to_owned)));
    println!("{}", line(&widths.map(|w| "-".repeat(w))));
    for row in &cells {
        println!("{}", line(row));
    }
}

/// `lockcheck fixtures`.
pub(super) fn fixtures(
    manifest_path: Option<PathBuf>,
    release: bool,
    verbose: bool,
    names: &[String],
) -> Result<i32, CliError> {
    let manifest = find_manifest(manifest_path)?;
    let dir = manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut specs = FixtureSpec::read_dir(&dir).map_err(CliError)?;
    if !names.is_empty() {
        if let Some(unknown) = names.iter().find(|n| !specs.iter().any(|s| &s.name == *n)) {
            return Err(CliError(format!(
                "{}: no fixture named `{unknown}`",
                dir.display()
            )));
        }
        specs.retain(|s| names.contains(&s.name));
    }
    let exes = build_examples(&manifest, release)?;
    let output = if verbose {
        ProgramOutput::Inherit
    } else {
        ProgramOutput::Quiet
    };
    let mut rows = Vec::new();
    for spec in &specs {
        let exe = exes.get(&spec.name).ok_or_else(|| {
            CliError(format!(
                "{}: not built as an example (add an [[example]] entry to fixtures/Cargo.toml)",
                spec.path.display()
            ))
        })?;
        let options = options_for(spec)?;
        let mut found_text = String::new();
        let mut agrees = true;
        for _ in 0..spec.runs {
            let outcome = collect(&options, &[exe.clone().into_os_string()], output)?;
            let found = Verdict::of(&outcome.findings);
            let missing = spec.unreported_lines(&outcome.findings);
            let unchecked = outcome.processes_checked == 0;
            let mut text = if unchecked {
                "not checked (never reported to lockcheck)".to_owned()
            } else {
                found.to_string()
            };
            let partly = !unchecked && !outcome.unchecked.is_empty();
            if partly {
                text.push_str(" (not everything checked)");
            }
            if !missing.is_empty() {
                let lines: Vec<String> = missing.iter().map(u32::to_string).collect();
                text.push_str(&format!(" (line {} not named)", lines.join(", ")));
            }
            if let Some(limit) = outcome.timed_out {
                text.push_str(&format!(
                    " (hung: killed after {})",
                    humantime::format_duration(limit)
                ));
            }
            let this_agrees = found == spec.expected
                && missing.is_empty()
                && outcome.timed_out.is_none()
                && !unchecked
                && !partly;
            // Show the first disagreeing run, else the first run.
            if found_text.is_empty() || (agrees && !this_agrees) {
                found_text = text;
            }
            agrees &= this_agrees;
        }
        if spec.runs > 1 {
            let verdict = if agrees { "every run" } else { "not every run" };
            found_text.push_str(&format!(" ({verdict} of {})", spec.runs));
        }
        rows.push(Row {
            name: spec.name.clone(),
            lesson: spec.lesson.clone(),
            expected: spec.expected.to_string(),
            agrees,
            found: found_text,
        });
    }
    print_table(&rows);
    let failed = rows.iter().filter(|r| !r.agrees).count();
    if failed == 0 {
        println!(
            "\nall {} fixtures agree with their expected verdicts",
            rows.len()
        );
        Ok(EXIT_CLEAN)
    } else {
        println!("\n{failed} of {} fixtures disagree", rows.len());
        Ok(EXIT_FINDINGS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(run_with: &[&str]) -> FixtureSpec {
        FixtureSpec {
            name: "f".to_owned(),
            path: PathBuf::from("fixtures/f.rs"),
            lesson: String::new(),
            expected: Verdict::default(),
            marked_lines: Vec::new(),
            run_with: run_with.iter().map(|s| (*s).to_owned()).collect(),
            runs: 1,
        }
    }

    /// A hung fixture must not hang the table: every run has a timeout,
    /// the fixture's own when its `run-with:` line sets one.
    #[test]
    fn every_fixture_run_has_a_timeout() {
        let default = options_for(&spec(&["--order", "class"])).expect("options");
        assert_eq!(default.timeout, Some(HUNG_AFTER));
        let own = options_for(&spec(&["--timeout", "5s"])).expect("options");
        assert_eq!(own.timeout, Some(Duration::from_secs(5)));
    }
}
