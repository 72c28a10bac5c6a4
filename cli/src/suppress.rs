//! Suppressions: known findings silenced by a file (`lockcheck.toml`, or
//! `--suppress FILE`). A suppressed finding no longer fails a run, but it is
//! still reported and counted: nothing is hidden.
//!
//! ```toml
//! [[suppress]]
//! kind = "lock-order-cycle"      # optional: the finding's kind
//! lock = "cache"                 # optional: a lock or variable named so
//! site = "src/cache.rs:120"      # optional: a site, `file`, `file:line` or `file:line:col`
//! function = "cache::refresh"    # optional: a function in a backtrace (substring)
//! reason = "known; the cache lock is always taken first since #412"
//! ```
//!
//! An entry matches a finding when every field it gives matches.

use serde::Deserialize;

use lockcheck::finding::{Finding, FindingKind};

/// One `[[suppress]]` entry.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Only findings of this kind.
    pub kind: Option<FindingKind>,
    /// A lock or variable with this name.
    pub lock: Option<String>,
    /// A site: `file`, `file:line` or `file:line:col` (the file may be a
    /// path suffix).
    pub site: Option<String>,
    /// A backtrace frame whose function contains this.
    pub function: Option<String>,
    /// Why (shown in reports).
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    suppress: Vec<Suppression>,
}

/// The suppressions of one file.
#[derive(Clone, Debug, Default)]
pub struct Suppressions {
    entries: Vec<Suppression>,
}

impl Suppressions {
    /// Parses a suppressions file; errors name the file, line and column.
    ///
    /// ```
    /// use lockcheck_cli::suppress::Suppressions;
    /// let s = Suppressions::parse("[[suppress]]\nlock = \"cache\"\n", "lockcheck.toml").unwrap();
    /// assert_eq!(s.len(), 1);
    /// let err = Suppressions::parse("[[suppress]]\nlok = 1\n", "lockcheck.toml").unwrap_err();
    /// assert!(err.starts_with("lockcheck.toml:2:"), "{err}");
    /// ```
    pub fn parse(text: &str, file: &str) -> Result<Suppressions, String> {
        let parsed: File = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            let message = e.message().trim().replace('\n', " ");
            format!("{file}:{line}:{column}: {message}")
        })?;
        for (i, entry) in parsed.suppress.iter().enumerate() {
            if entry.kind.is_none()
                && entry.lock.is_none()
                && entry.site.is_none()
                && entry.function.is_none()
            {
                return Err(format!(
                    "{file}: suppression {} matches everything: give a kind, lock, site or function",
                    i + 1
                ));
            }
        }
        Ok(Suppressions {
            entries: parsed.suppress,
        })
    }

    /// Reads a suppressions file.
    pub fn read(path: &std::path::Path) -> Result<Suppressions, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Marks the findings an entry matches as suppressed.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings {
            if let Some(entry) = self.entries.iter().find(|e| matches(e, f)) {
                f.suppressed = Some(
                    entry
                        .reason
                        .clone()
                        .unwrap_or_else(|| "suppressed".to_owned()),
                );
            }
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

fn matches(entry: &Suppression, f: &Finding) -> bool {
    if entry.kind.is_some_and(|k| k != f.kind) {
        return false;
    }
    if let Some(name) = &entry.lock {
        let lock_names = f.locks.iter().filter_map(|l| l.name.as_deref());
        let var_name = f.variable.as_ref().and_then(|v| v.name.as_deref());
        if !lock_names.chain(var_name).any(|n| n == name) {
            return false;
        }
    }
    if let Some(site) = &entry.site {
        if !f.sites().iter().any(|s| site_matches(site, s)) {
            return false;
        }
    }
    if let Some(function) = &entry.function {
        let mut frames = f
            .waits
            .iter()
            .flat_map(|w| &w.backtrace)
            .chain(f.accesses.iter().flat_map(|a| &a.backtrace))
            .chain(
                f.cycle
                    .iter()
                    .flat_map(|c| c.edges.iter().flat_map(|e| &e.backtrace)),
            );
        if !frames.any(|fr| fr.function.contains(function.as_str())) {
            return false;
        }
    }
    true
}

/// `file`, `file:line` or `file:line:col`, the file as a path suffix.
fn site_matches(pattern: &str, site: &lockcheck::finding::SourceLocation) -> bool {
    let mut parts = pattern.rsplitn(3, ':').collect::<Vec<_>>();
    parts.reverse();
    let numbers: Vec<Option<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    let (file, line, column) = match (parts.len(), numbers.as_slice()) {
        (3, [_, Some(l), Some(c)]) => (parts[0], Some(*l), Some(*c)),
        (3, [_, _, Some(l)]) => (
            &pattern[..pattern.len() - parts[2].len() - 1],
            Some(*l),
            None,
        ),
        (2, [_, Some(l)]) => (parts[0], Some(*l), None),
        _ => (pattern, None, None),
    };
    site.file.ends_with(file)
        && line.is_none_or(|l| l == site.line)
        && column.is_none_or(|c| c == site.column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lockcheck::finding::{LockRef, SourceLocation, ThreadRef, ThreadWait};

    fn finding() -> Finding {
        let loc = |line| SourceLocation {
            file: "src/cache.rs".into(),
            line,
            column: 9,
        };
        let lock = LockRef {
            id: 1,
            kind: lockcheck::event::LockKind::Mutex,
            name: Some("cache".into()),
            created: loc(3),
        };
        Finding {
            locks: vec![lock.clone()],
            waits: vec![ThreadWait {
                thread: ThreadRef {
                    id: 1,
                    name: None,
                    task: false,
                },
                holds: Vec::new(),
                waits_for: lock,
                mode: lockcheck::event::AcquireMode::Exclusive,
                site: loc(120),
                backtrace: vec![lockcheck::finding::Frame {
                    function: "app::cache::refresh".into(),
                    location: None,
                }],
            }],
            ..Finding::new(FindingKind::SelfDeadlock, "x".into(), "k".into())
        }
    }

    fn suppressed_by(toml: &str) -> bool {
        let s = Suppressions::parse(toml, "t.toml").unwrap();
        let mut f = [finding()];
        s.apply(&mut f);
        f[0].suppressed.is_some()
    }

    #[test]
    fn each_field_matches_and_a_wrong_one_does_not() {
        assert!(suppressed_by("[[suppress]]\nlock = \"cache\""));
        assert!(!suppressed_by("[[suppress]]\nlock = \"other\""));
        assert!(suppressed_by("[[suppress]]\nkind = \"self-deadlock\""));
        assert!(!suppressed_by("[[suppress]]\nkind = \"data-race\""));
        assert!(suppressed_by("[[suppress]]\nsite = \"cache.rs:120\""));
        assert!(suppressed_by("[[suppress]]\nsite = \"src/cache.rs:120:9\""));
        assert!(!suppressed_by("[[suppress]]\nsite = \"cache.rs:121\""));
        assert!(suppressed_by("[[suppress]]\nfunction = \"cache::refresh\""));
        assert!(!suppressed_by("[[suppress]]\nfunction = \"db::flush\""));
        assert!(!suppressed_by(
            "[[suppress]]\nlock = \"cache\"\nkind = \"deadlock\""
        ));
    }

    #[test]
    fn a_suppressed_finding_no_longer_fails_but_is_kept() {
        let s =
            Suppressions::parse("[[suppress]]\nlock = \"cache\"\nreason = \"known\"", "t").unwrap();
        let mut f = [finding()];
        s.apply(&mut f);
        assert_eq!(f[0].suppressed.as_deref(), Some("known"));
        assert!(!f[0].is_failing(true));
    }

    #[test]
    fn an_entry_that_matches_everything_is_refused() {
        let err = Suppressions::parse("[[suppress]]\nreason = \"all\"", "t.toml").unwrap_err();
        assert!(err.contains("matches everything"));
    }
}
