//! What every plain-loop bench prints about the machine it ran on, and
//! how it summarises its rounds: the figures move 20–60% between hosts and
//! runs, so each table says where and how loaded it was measured.

/// The median of `v` (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The CPU's model name, as Linux reports it.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The load averages over 1, 5 and 15 minutes.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// `--rounds N` from the command line, else `default`; exits with a
/// message on a bad number.
pub fn rounds(args: &[String], default: usize) -> usize {
    match args.iter().position(|a| a == "--rounds") {
        None => default,
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| {
                eprintln!("--rounds takes a whole number above 0");
                std::process::exit(2)
            }),
    }
}
