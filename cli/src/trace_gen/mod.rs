//! Synthetic STD traces (`THREAD|OP(TARGET)|LOCATION`, see
//! `src/trace/std_format.rs`) for `lockcheck analyze`: as long as asked,
//! deterministic from a seed, streamed to any `Write`, and free of lock-order
//! cycles and data races by construction except for exactly the ones planted.
//!
//! Shared by the `gen_trace` binary (`src/bin/gen_trace.rs`) and the
//! `analyze` bench (`benches/analyze.rs`), which both include this file with
//! `#[path = …] mod trace_gen;`. It lives in a subdirectory because cargo
//! would take a `benches/trace_gen.rs` for a bench target of its own.
//!
//! # Shape of a trace
//!
//! * Main thread `T0` writes every shared variable `V0…` (prologue), forks the
//!   workers `T1…T<threads>`, and at the end joins them all and reads every
//!   shared variable again (epilogue). Fork and join order all of that with
//!   the workers' accesses.
//! * Body: blocks of one worker each, the worker picked at random; a block is
//!   never interleaved with another, so no lock is ever taken while another
//!   thread holds it (the trace is a real schedule: nothing hangs).
//!   * A locked block takes 1 to `depth` distinct locks `L<l>` in increasing
//!     index (the global order: no cycle), accesses variables owned by the
//!     held locks, and releases in reverse order. Variable `V<v>` is owned by
//!     lock `L<v % locks>` and only ever accessed under it (no race).
//!   * A private block accesses the worker's own variables `P<t>_<k>`, which
//!     no other thread touches (no race, no lock needed).
//! * Planted lock-order cycle `i`, on its own locks `CA<i>` and `CB<i>`: one
//!   worker takes `CA<i>` then `CB<i>`, later another takes `CB<i>` then
//!   `CA<i>` (two separate blocks, at random points of the body).
//! * Planted race `j`: two workers write `R<j>` one right after the other.
//!   Nothing can order them: between the two writes the first writer
//!   releases nothing (a release is what would carry its write to the other
//!   thread), and they hold no lock.
//!
//! # Locations
//!
//! A finding's sites are the LOCATION field, and findings with the same
//! sites merge. Every kind of site gets its own range, `span` apart (`span`
//! the power of ten above the largest index): acquire of `L<l>` at
//! `1·span + l`, its release at `2·span + l`, read and write of `V<v>` at
//! `3·span + v` and `4·span + v`, read and write of `P<t>_<k>` at `5·span + k`
//! and `6·span + k`, planted cycle `i` at `7·span + 8i + 0…7` and planted
//! race `j` at `8·span + 2j + 0…1`. Fork, join, prologue write and epilogue
//! read are locations 1 to 4. So each planted cycle and each planted race is
//! one finding.

use std::io::{self, Write};

/// Private variables per worker.
pub const PRIVATE_VARS: u32 = 8;

/// What the body is made of.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Locked blocks (1 to 3 nested locks, 1 to 4 accesses) 70% of the time,
    /// private blocks (1 to 4 accesses) otherwise: about half lock events,
    /// half accesses.
    Mixed,
    /// Only `acq`, `rel`, `fork`, `join`: locked blocks of 1 to 4 nested
    /// locks and no access at all (no prologue or epilogue either; `vars` is
    /// ignored and no race can be planted).
    Locks,
    /// Mostly `r` and `w`: locked blocks of one lock and 4 to 12 accesses,
    /// or private blocks of 4 to 12 accesses (about 85% accesses).
    Accesses,
}

impl Profile {
    /// Every profile with its command-line name.
    pub const ALL: [(&'static str, Profile); 3] = [
        ("mixed", Profile::Mixed),
        ("locks", Profile::Locks),
        ("accesses", Profile::Accesses),
    ];

    /// The profile named `name` (`mixed`, `locks`, `accesses`).
    pub fn parse(name: &str) -> Option<Profile> {
        Profile::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// Its command-line name.
    pub fn name(self) -> &'static str {
        Profile::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("?", |(n, _)| n)
    }

    /// (percent of locked blocks, most nested locks, fewest and most
    /// accesses in a block).
    fn shape(self) -> (u64, u32, u32, u32) {
        match self {
            Profile::Mixed => (70, 3, 1, 4),
            Profile::Locks => (100, 4, 0, 0),
            Profile::Accesses => (60, 1, 4, 12),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Config {
    /// Events wanted (approximately: the last block is finished, and the
    /// epilogue and planted events are counted in advance).
    pub events: u64,
    /// Worker threads, besides the main thread `T0`.
    pub threads: u32,
    /// Ordinary locks.
    pub locks: u32,
    /// Shared variables, each owned by one lock.
    pub vars: u32,
    /// Lock-order cycles of length 2 to plant, each on its own two locks.
    pub cycles: u32,
    /// Racy variables to plant.
    pub races: u32,
    /// Seed: the same configuration and seed give the same bytes.
    pub seed: u64,
    /// What the body is made of.
    pub profile: Profile,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            events: 1_000_000,
            threads: 8,
            locks: 64,
            vars: 1024,
            cycles: 0,
            races: 0,
            seed: 1,
            profile: Profile::Mixed,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Event lines written (comment lines not counted).
    pub events: u64,
    /// `r` and `w` events among them.
    pub accesses: u64,
    /// `acq` and `rel` events among them.
    pub lock_ops: u64,
}

/// SplitMix64 (Steele, Lea and Flood): tiny, fast, and good enough to shape
/// a trace. Written out here so that a seed means the same trace forever,
/// whatever a crate's next version does.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift (Lemire, without the
    /// rejection step: a bias of at most n/2^64).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True `percent`% of the time.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

impl Config {
    /// Checks that the configuration can be generated as promised.
    pub fn validate(&self) -> Result<(), String> {
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        if (self.cycles > 0 || self.races > 0) && self.threads < 2 {
            return Err("planting cycles or races needs at least 2 threads".into());
        }
        if self.profile == Profile::Locks && self.races > 0 {
            return Err("the `locks` profile has no accesses, so no race can be planted".into());
        }
        if self.profile == Profile::Locks && self.locks == 0 && self.cycles == 0 {
            return Err("the `locks` profile needs --locks of at least 1".into());
        }
        if self.locks == 0 && self.vars > 0 && self.profile != Profile::Locks {
            return Err("shared variables are owned by locks: --vars needs --locks of at least 1 (or --vars 0)".into());
        }
        if self.sites().span > 100_000_000 {
            return Err(
                "too many locks, variables, cycles or races for u32 locations (at most 10^8 each)"
                    .into(),
            );
        }
        Ok(())
    }

    fn sites(&self) -> Sites {
        let largest = [
            u64::from(self.locks),
            if self.accesses() {
                u64::from(self.vars)
            } else {
                0
            },
            u64::from(PRIVATE_VARS),
            8 * u64::from(self.cycles),
            2 * u64::from(self.races),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let mut span = 10;
        while span <= largest {
            span *= 10;
        }
        Sites { span }
    }

    /// Whether the body has accesses at all.
    fn accesses(&self) -> bool {
        self.profile != Profile::Locks
    }
}

/// The location ranges (see the module docs).
#[derive(Copy, Clone)]
struct Sites {
    span: u64,
}

const FORK: u64 = 1;
const JOIN: u64 = 2;
const PROLOGUE: u64 = 3;
const EPILOGUE: u64 = 4;

impl Sites {
    fn acq(self, l: u32) -> u64 {
        self.span + u64::from(l)
    }
    fn rel(self, l: u32) -> u64 {
        2 * self.span + u64::from(l)
    }
    fn read(self, v: u32) -> u64 {
        3 * self.span + u64::from(v)
    }
    fn write(self, v: u32) -> u64 {
        4 * self.span + u64::from(v)
    }
    fn private_read(self, k: u32) -> u64 {
        5 * self.span + u64::from(k)
    }
    fn private_write(self, k: u32) -> u64 {
        6 * self.span + u64::from(k)
    }
    fn cycle(self, i: u32, k: u64) -> u64 {
        7 * self.span + 8 * u64::from(i) + k
    }
    fn race(self, j: u32, k: u64) -> u64 {
        8 * self.span + 2 * u64::from(j) + k
    }
}

/// An operation's target, written without building a string.
#[derive(Copy, Clone)]
enum Target {
    Thread(u32),
    Lock(u32),
    Var(u32),
    Private(u32, u32),
    CycleA(u32),
    CycleB(u32),
    Racy(u32),
}

/// Writes events and counts them.
struct Out<W: Write> {
    w: W,
    summary: Summary,
}

impl<W: Write> Out<W> {
    fn emit(&mut self, thread: u32, op: &str, target: Target, location: u64) -> io::Result<()> {
        self.summary.events += 1;
        match op {
            "r" | "w" => self.summary.accesses += 1,
            "acq" | "rel" => self.summary.lock_ops += 1,
            _ => {}
        }
        let w = &mut self.w;
        write!(w, "T{thread}|{op}(")?;
        match target {
            Target::Thread(t) => write!(w, "T{t}"),
            Target::Lock(l) => write!(w, "L{l}"),
            Target::Var(v) => write!(w, "V{v}"),
            Target::Private(t, k) => write!(w, "P{t}_{k}"),
            Target::CycleA(i) => write!(w, "CA{i}"),
            Target::CycleB(i) => write!(w, "CB{i}"),
            Target::Racy(j) => write!(w, "R{j}"),
        }?;
        writeln!(w, ")|{location}")
    }
}

/// Something planted in the body at a chosen point.
#[derive(Copy, Clone)]
enum Planted {
    /// Cycle `i`: `thread` takes `CA<i>` then `CB<i>` (`reversed`: `CB<i>`
    /// then `CA<i>`).
    CycleHalf { i: u32, thread: u32, reversed: bool },
    /// Race `j`: `first` then `second` write `R<j>`.
    Race { j: u32, first: u32, second: u32 },
}

/// Two distinct workers (`threads >= 2`).
fn two_workers(rng: &mut SplitMix64, threads: u32) -> (u32, u32) {
    let a = 1 + rng.below(u64::from(threads)) as u32;
    let mut b = 1 + rng.below(u64::from(threads - 1)) as u32;
    if b >= a {
        b += 1;
    }
    (a, b)
}

/// Writes the trace `cfg` describes to `out` (wrap files and stdout in a
/// `BufWriter`: this writes one line at a time). Memory does not depend on
/// `cfg.events`.
pub fn generate<W: Write>(cfg: &Config, out: W) -> io::Result<Summary> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let sites = cfg.sites();
    let mut rng = SplitMix64::new(cfg.seed);
    let mut out = Out {
        w: out,
        summary: Summary::default(),
    };
    writeln!(
        out.w,
        "# lockcheck gen_trace: --events {} --threads {} --locks {} --vars {} --cycles {} --races {} --seed {} --profile {}",
        cfg.events, cfg.threads, cfg.locks, cfg.vars, cfg.cycles, cfg.races, cfg.seed, cfg.profile.name()
    )?;
    writeln!(
        out.w,
        "# planted: {} lock-order cycles (CA<i> / CB<i>), {} data races (R<j>); nothing else is a finding",
        cfg.cycles, cfg.races
    )?;
    let shared_vars = if cfg.accesses() { cfg.vars } else { 0 };

    // Prologue: the main thread initialises, then forks.
    for v in 0..shared_vars {
        out.emit(0, "w", Target::Var(v), PROLOGUE)?;
    }
    for t in 1..=cfg.threads {
        out.emit(0, "fork", Target::Thread(t), FORK)?;
    }

    // Where the planted events go, as a count of body events before them.
    let fixed = out.summary.events
        + u64::from(cfg.threads)
        + u64::from(shared_vars)
        + 8 * u64::from(cfg.cycles)
        + 2 * u64::from(cfg.races);
    let budget = cfg.events.saturating_sub(fixed);
    let mut planted: Vec<(u64, Planted)> = Vec::new();
    for i in 0..cfg.cycles {
        let (a, b) = two_workers(&mut rng, cfg.threads);
        let (p, q) = (rng.below(budget.max(1)), rng.below(budget.max(1)));
        let (p, q) = (p.min(q), p.max(q));
        planted.push((
            p,
            Planted::CycleHalf {
                i,
                thread: a,
                reversed: false,
            },
        ));
        planted.push((
            q,
            Planted::CycleHalf {
                i,
                thread: b,
                reversed: true,
            },
        ));
    }
    for j in 0..cfg.races {
        let (first, second) = two_workers(&mut rng, cfg.threads);
        let p = rng.below(budget.max(1));
        planted.push((p, Planted::Race { j, first, second }));
    }
    // Stable: a cycle's two halves keep their order when they fall together.
    planted.sort_by_key(|(p, _)| *p);

    let (locked_percent, depth, fewest, most) = cfg.profile.shape();
    let mut held: Vec<u32> = Vec::with_capacity(depth as usize);
    let mut next = 0;
    let body_start = out.summary.events;
    loop {
        let done = out.summary.events - body_start;
        while next < planted.len() && planted[next].0 <= done {
            plant(&mut out, sites, planted[next].1)?;
            next += 1;
        }
        if done >= budget {
            break;
        }
        let t = 1 + rng.below(u64::from(cfg.threads)) as u32;
        let accesses = rng.between(fewest, most);
        if cfg.locks > 0 && rng.chance(locked_percent) {
            // Distinct locks, taken in increasing index.
            let n = rng.between(1, depth.min(cfg.locks));
            held.clear();
            while held.len() < n as usize {
                let l = rng.below(u64::from(cfg.locks)) as u32;
                if !held.contains(&l) {
                    held.push(l);
                }
            }
            held.sort_unstable();
            for &l in &held {
                out.emit(t, "acq", Target::Lock(l), sites.acq(l))?;
            }
            for _ in 0..accesses {
                // A variable owned by one of the held locks: v ≡ l (mod locks).
                let l = held[rng.below(held.len() as u64) as usize];
                if l >= shared_vars {
                    continue;
                }
                let owned = (shared_vars - l).div_ceil(cfg.locks);
                let v = l + cfg.locks * rng.below(u64::from(owned)) as u32;
                if rng.chance(60) {
                    out.emit(t, "r", Target::Var(v), sites.read(v))?;
                } else {
                    out.emit(t, "w", Target::Var(v), sites.write(v))?;
                }
            }
            for &l in held.iter().rev() {
                out.emit(t, "rel", Target::Lock(l), sites.rel(l))?;
            }
        } else if cfg.accesses() {
            for _ in 0..accesses.max(1) {
                let k = rng.below(u64::from(PRIVATE_VARS)) as u32;
                if rng.chance(60) {
                    out.emit(t, "r", Target::Private(t, k), sites.private_read(k))?;
                } else {
                    out.emit(t, "w", Target::Private(t, k), sites.private_write(k))?;
                }
            }
        } else {
            // The `locks` profile with no ordinary lock (only planted cycles).
            break;
        }
    }
    for (_, p) in &planted[next..] {
        plant(&mut out, sites, *p)?;
    }

    // Epilogue: the main thread joins everyone, then reads the results.
    for t in 1..=cfg.threads {
        out.emit(0, "join", Target::Thread(t), JOIN)?;
    }
    for v in 0..shared_vars {
        out.emit(0, "r", Target::Var(v), EPILOGUE)?;
    }
    out.w.flush()?;
    Ok(out.summary)
}

fn plant<W: Write>(out: &mut Out<W>, sites: Sites, planted: Planted) -> io::Result<()> {
    match planted {
        Planted::CycleHalf {
            i,
            thread,
            reversed,
        } => {
            let (first, second, k) = if reversed {
                (Target::CycleB(i), Target::CycleA(i), 4)
            } else {
                (Target::CycleA(i), Target::CycleB(i), 0)
            };
            out.emit(thread, "acq", first, sites.cycle(i, k))?;
            out.emit(thread, "acq", second, sites.cycle(i, k + 1))?;
            out.emit(thread, "rel", second, sites.cycle(i, k + 2))?;
            out.emit(thread, "rel", first, sites.cycle(i, k + 3))
        }
        Planted::Race { j, first, second } => {
            out.emit(first, "w", Target::Racy(j), sites.race(j, 0))?;
            out.emit(second, "w", Target::Racy(j), sites.race(j, 1))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (Vigna's reference code).
        let mut r = super::SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
