//! Command-line parsing and dispatch. Exit codes: 0 nothing found, 1
//! findings, 2 lockcheck's own error (and `analyze` or `graph` of a trace
//! with lines skipped as malformed, unless `--keep-going`), 124 a program
//! `run` killed at its `--timeout`; `run` passes on the program's own
//! failure when there is no finding.

mod analyze;
mod fixtures;
mod merge;
mod run;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::suppress::Suppressions;

use clap::{Parser, Subcommand, ValueEnum};

/// lockcheck's own error, reported as one line with exit status 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Exit status: nothing found.
pub const EXIT_CLEAN: i32 = 0;
/// Exit status: findings that fail the run.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status: lockcheck itself failed, or (`analyze`, `graph`) lines of a
/// trace were skipped as malformed, so it was not fully checked.
pub const EXIT_ERROR: i32 = 2;
/// Exit status: the program outlived `run --timeout` and was killed, with
/// no failing finding (124, as GNU `timeout` has it).
pub const EXIT_TIMED_OUT: i32 = 124;

#[derive(Parser)]
#[command(
    name = "lockcheck",
    version,
    about = "Finds deadlocks in Rust programs built with the lockcheck library",
    after_help = "Exit status: 0 nothing found, 1 findings, 2 lockcheck's own error \
                  (or a trace with lines skipped as malformed, unless --keep-going), \
                  124 a program `run` killed at its --timeout; `run` passes on the \
                  program's own failing status when nothing was found."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Sarif,
}

/// Trace formats `analyze` reads (detected from the content by default).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum InputFormat {
    /// lockcheck's own trace format (`lockcheck-trace 1`).
    Lockcheck,
    /// RAPID's STD text format.
    Std,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Order {
    Instance,
    Class,
}

#[derive(clap::Args, Clone)]
struct CheckOptions {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Fail on lock-order cycles guarded by a gate lock too.
    #[arg(long)]
    strict: bool,
    /// Do not capture backtraces (sites from #[track_caller] remain).
    #[arg(long)]
    no_backtrace: bool,
    /// Check lock order between lock instances or lock classes (name or creation site).
    #[arg(long, value_enum, default_value_t = Order::Instance)]
    order: Order,
    /// Suppressions file (default: ./lockcheck.toml when it exists).
    #[arg(long, value_name = "FILE")]
    suppress: Option<PathBuf>,
    /// Also the lockset check (Eraser): predicts races the interleaving hid.
    #[arg(long)]
    lockset: bool,
    /// Record the run into FILE as a lockcheck trace (for `lockcheck analyze`).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Kill the program if it has not ended after DURATION (`90s`, `10m`),
    /// then report what it found until then (exit 124 if nothing fails).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Run a program that never reports to lockcheck, or parts of which
    /// lockcheck could not check (say, async locks in tasks it does not
    /// see), without failing: by default such a run exits 2, since "no
    /// findings" would not have been earned.
    #[arg(long)]
    allow_uninstrumented: bool,
}

/// Writes a JSON report to stdout as it is serialised (a report of many
/// findings is never held whole as text).
fn print_json(
    findings: &[lockcheck::Finding],
    strict: bool,
    source: crate::report::json::Source<'_>,
) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    crate::report::json::write(&mut out, findings, strict, source)
        .and_then(|()| out.flush())
        .map_err(|e| CliError(format!("cannot write the report to stdout: {e}")))
}

/// The suppressions to apply: the file given, else `lockcheck.toml` in the
/// current directory when there is one.
fn suppressions(given: Option<&Path>) -> Result<Suppressions, CliError> {
    match given {
        Some(path) => Suppressions::read(path).map_err(CliError),
        None => {
            let default = Path::new("lockcheck.toml");
            if default.is_file() {
                Suppressions::read(default).map_err(CliError)
            } else {
                Ok(Suppressions::default())
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run PROGRAM with detection on and report what it found.
    Run {
        #[command(flatten)]
        options: CheckOptions,
        /// The program, then its arguments.
        #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
        command: Vec<OsString>,
    },
    /// Analyse recorded traces offline with the same detectors.
    Analyze {
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The traces' format (detected from the content by default).
        #[arg(long, value_enum)]
        input_format: Option<InputFormat>,
        /// Fail on lock-order cycles guarded by a gate lock too.
        #[arg(long)]
        strict: bool,
        /// Check lock order between lock instances or lock classes.
        #[arg(long, value_enum, default_value_t = Order::Instance)]
        order: Order,
        /// Also the lockset check (Eraser): predicts races the interleaving hid.
        #[arg(long)]
        lockset: bool,
        /// Suppressions file (default: ./lockcheck.toml when it exists).
        #[arg(long, value_name = "FILE")]
        suppress: Option<PathBuf>,
        /// Exit as if lines skipped as malformed were not there (they are
        /// still counted in the report), instead of with status 2.
        #[arg(long)]
        keep_going: bool,
        /// Trace files.
        #[arg(required = true, value_name = "TRACE")]
        traces: Vec<PathBuf>,
    },
    /// Merge the JSON reports of `lockcheck analyze` (traces analysed as
    /// separate jobs) into one report, each finding once.
    Merge {
        /// Report format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Fail on lock-order cycles guarded by a gate lock too.
        #[arg(long)]
        strict: bool,
        /// Suppressions file (default: ./lockcheck.toml when it exists).
        #[arg(long, value_name = "FILE")]
        suppress: Option<PathBuf>,
        /// Exit on the findings alone when a trace of some report was not
        /// fully checked (lines skipped, an incomplete recording), instead
        /// of with status 2.
        #[arg(long)]
        keep_going: bool,
        /// Reports written by `lockcheck analyze --format json` (or by
        /// `lockcheck merge --format json`).
        #[arg(required = true, value_name = "REPORT")]
        reports: Vec<PathBuf>,
    },
    /// Print a trace's lock-order graph as Graphviz DOT, cycles in red.
    Graph {
        /// Render SVG with Graphviz's `dot` instead.
        #[arg(long)]
        svg: bool,
        /// The trace's format (detected from the content by default).
        #[arg(long, value_enum)]
        input_format: Option<InputFormat>,
        /// Lock instances or lock classes as nodes.
        #[arg(long, value_enum, default_value_t = Order::Instance)]
        order: Order,
        /// Exit 0 even if lines were skipped as malformed (they are still
        /// reported on stderr), instead of with status 2.
        #[arg(long)]
        keep_going: bool,
        /// The trace file.
        trace: PathBuf,
    },
    /// Build the fixture programs of a lockcheck checkout and check each verdict.
    Fixtures {
        /// The fixture package's Cargo.toml, or the checkout's top-level one
        /// (default: found from the current directory up).
        #[arg(long)]
        manifest_path: Option<PathBuf>,
        /// Build the fixtures with --release.
        #[arg(long)]
        release: bool,
        /// Show each fixture's own output.
        #[arg(long, short)]
        verbose: bool,
        /// Only these fixtures.
        names: Vec<String>,
    },
}

/// Parses the command line, runs the command, returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run { options, command } => run::run(&options, &command),
        Command::Analyze {
            format,
            input_format,
            strict,
            order,
            lockset,
            suppress,
            keep_going,
            traces,
        } => suppressions(suppress.as_deref()).and_then(|s| {
            let checks = analyze::Checks {
                order,
                strict,
                lockset,
                keep_going,
            };
            analyze::analyze(&traces, format, input_format, checks, &s)
        }),
        Command::Merge {
            format,
            strict,
            suppress,
            keep_going,
            reports,
        } => suppressions(suppress.as_deref()).and_then(|s| {
            let options = merge::MergeOptions {
                format,
                strict,
                keep_going,
            };
            merge::merge(&reports, options, &s)
        }),
        Command::Graph {
            svg,
            input_format,
            order,
            keep_going,
            trace,
        } => analyze::graph(&trace, input_format, order, svg, keep_going),
        Command::Fixtures {
            manifest_path,
            release,
            verbose,
            names,
        } => fixtures::fixtures(manifest_path, release, verbose, &names),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lockcheck: error: {e}");
            EXIT_ERROR
        }
    }
}
