//! `gen_trace`: writes a large synthetic STD trace for `lockcheck analyze`,
//! deterministic from a seed, with exactly the lock-order cycles and data
//! races asked for and nothing else that is a finding. The generator itself
//! is `cli/src/trace_gen/mod.rs` (shared with `benches/analyze.rs`), whose
//! docs describe the trace's shape and locations.
//!
//! ```text
//! cargo run --release --bin gen_trace -- --events 4000000 --cycles 3 --races 4 -o big.std
//! cargo run --release --bin lockcheck -- analyze big.std
//! ```

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[path = "../trace_gen/mod.rs"]
mod trace_gen;

use trace_gen::{Config, Profile};

/// Writes a synthetic STD trace (`THREAD|OP(TARGET)|LOCATION`) to stdout or
/// a file: race-free and cycle-free by construction, except for the planted
/// lock-order cycles and data races.
#[derive(Parser, Debug)]
#[command(name = "gen_trace", version)]
struct Args {
    /// Events to write (approximate: the last block is completed).
    #[arg(long, default_value_t = Config::default().events)]
    events: u64,
    /// Worker threads, besides the main thread T0 that forks and joins them.
    #[arg(long, default_value_t = Config::default().threads)]
    threads: u32,
    /// Ordinary locks L0…, nested only in increasing index.
    #[arg(long, default_value_t = Config::default().locks)]
    locks: u32,
    /// Shared variables V0…, variable v always accessed under lock v % locks.
    #[arg(long, default_value_t = Config::default().vars)]
    vars: u32,
    /// Lock-order cycles of length 2 to plant (locks CA0 and CB0, CA1 and CB1, …).
    #[arg(long, default_value_t = 0)]
    cycles: u32,
    /// Data races to plant (variables R0, R1, …, each written by two unordered threads).
    #[arg(long, default_value_t = 0)]
    races: u32,
    /// Seed of the pseudo-random choices: same options, same bytes.
    #[arg(long, default_value_t = Config::default().seed)]
    seed: u64,
    /// What the body is made of: mixed (locks and accesses), locks (acq, rel,
    /// fork, join only), accesses (mostly r and w).
    #[arg(long, default_value = "mixed", value_parser = parse_profile)]
    profile: Profile,
    /// Write the trace to this file instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Do not print the summary line on stderr.
    #[arg(short, long)]
    quiet: bool,
}

fn parse_profile(name: &str) -> Result<Profile, String> {
    Profile::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Profile::ALL.iter().map(|(n, _)| *n).collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = Config {
        events: args.events,
        threads: args.threads,
        locks: args.locks,
        vars: args.vars,
        cycles: args.cycles,
        races: args.races,
        seed: args.seed,
        profile: args.profile,
    };
    if let Err(e) = cfg.validate() {
        eprintln!("gen_trace: {e}");
        return ExitCode::from(2);
    }
    let result = match &args.output {
        Some(path) => File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
            .and_then(|f| trace_gen::generate(&cfg, BufWriter::with_capacity(1 << 16, f))),
        None => {
            let stdout = io::stdout().lock();
            trace_gen::generate(&cfg, BufWriter::with_capacity(1 << 16, stdout))
        }
    };
    match result {
        Ok(summary) => {
            if !args.quiet {
                let _ = writeln!(
                    io::stderr(),
                    "gen_trace: {} events ({} accesses, {} lock operations), {} threads, {} cycles and {} races planted",
                    summary.events,
                    summary.accesses,
                    summary.lock_ops,
                    cfg.threads + 1,
                    cfg.cycles,
                    cfg.races
                );
            }
            ExitCode::SUCCESS
        }
        // `gen_trace | head`: the reader has seen enough.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_trace: {e}");
            ExitCode::FAILURE
        }
    }
}
