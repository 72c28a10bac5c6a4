//! The fixture convention: a small program (or trace) whose header says
//! what lockcheck must find in it, and whose lines marked `// <- reported`
//! must be named by the report. Programs write the header as `//!` lines,
//! traces as `#` lines.
//!
//! ```text
//! //! lesson: a mutex re-acquired by its own thread deadlocks
//! //! expect: self-deadlock
//! let _again = m.lock(); // <- reported
//! ```
//!
//! `expect` is `clean`, or kinds separated by commas; a lock-order cycle
//! guarded by a gate lock is written `lock-order-cycle (guarded)`. An
//! optional `//! run-with:` line gives options for `lockcheck run` (such as
//! `--order class`), and `//! runs: N` asks for the verdict to hold on each
//! of N runs.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::finding::{Finding, FindingKind};

/// The marker that ends a line the report must name.
pub const SITE_MARKER: &str = "// <- reported";

/// What a fixture run found, or must find: a set of kinds.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Verdict(BTreeSet<String>);

impl Verdict {
    /// Parses `clean` or `kind, kind (guarded), …`.
    ///
    /// ```
    /// use lockcheck::fixture::Verdict;
    /// assert_eq!(Verdict::parse("clean").unwrap().to_string(), "clean");
    /// assert!(Verdict::parse("dedlock").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Verdict, String> {
        let text = text.trim();
        if text == "clean" {
            return Ok(Verdict::default());
        }
        let mut set = BTreeSet::new();
        for part in text.split(',').map(str::trim) {
            let kind = part.strip_suffix(" (guarded)").unwrap_or(part);
            if FindingKind::parse(kind).is_none() {
                return Err(format!(
                    "`{part}` is not a finding kind (expected clean or one of: {})",
                    FindingKind::ALL.map(|k| k.as_str()).join(", ")
                ));
            }
            set.insert(part.to_owned());
        }
        Ok(Verdict(set))
    }

    /// The verdict of a run's findings.
    pub fn of(findings: &[Finding]) -> Verdict {
        Verdict(
            findings
                .iter()
                .map(|f| {
                    if f.is_guarded() {
                        format!("{} (guarded)", f.kind)
                    } else {
                        f.kind.to_string()
                    }
                })
                .collect(),
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("clean");
        }
        let parts: Vec<&str> = self.0.iter().map(String::as_str).collect();
        f.write_str(&parts.join(", "))
    }
}

/// A fixture program and what it must produce.
#[derive(Clone, Debug)]
pub struct FixtureSpec {
    /// The example's name (the file stem).
    pub name: String,
    /// The source file.
    pub path: PathBuf,
    /// The lesson it teaches, from its `lesson:` line.
    pub lesson: String,
    /// What lockcheck must find.
    pub expected: Verdict,
    /// Lines marked `// <- reported`.
    pub marked_lines: Vec<u32>,
    /// Options for `lockcheck run`, from the `run-with:` line.
    pub run_with: Vec<String>,
    /// How many runs must each give the verdict (`runs:` line; 1 if absent):
    /// a race must be found whether or not this run lost an update.
    pub runs: u32,
}

impl FixtureSpec {
    /// Reads a fixture's header and markers. Errors name the file and line.
    pub fn read(path: &Path) -> Result<FixtureSpec, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{}: not a fixture file name", path.display()))?
            .to_owned();
        let mut lesson = None;
        let mut expected = None;
        let mut marked_lines = Vec::new();
        let mut run_with = Vec::new();
        let mut runs = 1;
        for (i, line) in text.lines().enumerate() {
            let n = i as u32 + 1;
            // `//!` in a program, `#` in a trace.
            let header = line
                .strip_prefix("//!")
                .or_else(|| line.strip_prefix('#'))
                .map(str::trim_start)
                .unwrap_or("");
            if let Some(rest) = header.strip_prefix("lesson:") {
                lesson = Some(rest.trim().to_owned());
            } else if let Some(rest) = header.strip_prefix("runs:") {
                runs = rest.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!(
                        "{}:{n}: `runs:` takes a positive whole number",
                        path.display()
                    )
                })?;
            } else if let Some(rest) = header.strip_prefix("run-with:") {
                run_with = rest.split_whitespace().map(str::to_owned).collect();
            } else if let Some(rest) = header.strip_prefix("expect:") {
                expected = Some(
                    Verdict::parse(rest)
                        .map_err(|e| format!("{}:{n}: bad expect line: {e}", path.display()))?,
                );
            }
            if line.trim_end().ends_with(SITE_MARKER) {
                marked_lines.push(n);
            }
        }
        Ok(FixtureSpec {
            name,
            path: path.to_owned(),
            lesson: lesson.ok_or_else(|| format!("{}:1: no `//! lesson:` line", path.display()))?,
            expected: expected
                .ok_or_else(|| format!("{}:1: no `//! expect:` line", path.display()))?,
            marked_lines,
            run_with,
            runs,
        })
    }

    /// Every fixture program (`.rs`) under `dir`, by name.
    pub fn read_dir(dir: &Path) -> Result<Vec<FixtureSpec>, String> {
        Self::read_dir_with(dir, "rs")
    }

    /// Every fixture with extension `ext` under `dir` (`std` for traces).
    pub fn read_dir_with(dir: &Path, ext: &str) -> Result<Vec<FixtureSpec>, String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("{}: cannot list: {e}", dir.display()))?;
        let mut specs = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| format!("{}: cannot list: {e}", dir.display()))?
                .path();
            if path.extension().is_some_and(|e| e == ext) {
                specs.push(FixtureSpec::read(&path)?);
            }
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(specs)
    }

    /// Marked lines that no site of `findings` names in this fixture's file.
    pub fn unreported_lines(&self, findings: &[Finding]) -> Vec<u32> {
        let file = format!("{}.rs", self.name);
        self.marked_lines
            .iter()
            .copied()
            .filter(|line| {
                !findings.iter().any(|f| {
                    f.sites()
                        .iter()
                        .any(|s| s.line == *line && s.file.ends_with(&file))
                })
            })
            .collect()
    }
}
