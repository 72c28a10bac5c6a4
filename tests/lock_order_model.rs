//! The lock-order graph against a model small enough to be obviously right:
//! a set of edges between live locks, searched by brute force. Random runs
//! of acquisitions and dropped locks must find a cycle exactly when the
//! model has a path back, keep exactly the model's edges, and count exactly
//! its live locks. This is what guards the graph's own bookkeeping: edges
//! looked up from either end, dropped locks unlinked at once or left for
//! compaction, and compactions themselves (made frequent in half the
//! cases).

use std::collections::BTreeSet;

use lockcheck::detect::lock_order::LockOrderGraph;
use lockcheck::event::{
    AcquireMode, HeldLock, LockId, LockInfo, LockKind, Site, ThreadId, ThreadInfo,
};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

fn lock(id: u64) -> LockInfo {
    LockInfo {
        id: LockId(id),
        kind: LockKind::Mutex,
        name: None,
        created: Site {
            file: "model.rs",
            line: 1,
            column: 1,
        },
    }
}

fn held(id: u64) -> HeldLock {
    HeldLock {
        lock: lock(id),
        mode: AcquireMode::Exclusive,
        site: Site {
            file: "model.rs",
            line: 2,
            column: 1,
        },
    }
}

/// One step of a run. Indices pick among the locks alive at that moment.
#[derive(Clone, Debug)]
enum Step {
    /// Holding one lock, acquire another (a new lock when `fresh`).
    Acquire {
        held: usize,
        taken: usize,
        fresh: bool,
    },
    /// Drop a lock.
    Drop(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        4 => (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(held, taken, fresh)| Step::Acquire { held, taken, fresh }),
        1 => any::<usize>().prop_map(Step::Drop),
    ];
    prop::collection::vec(step, 1..400)
}

/// Whether the model's edges lead from `from` to `to`.
fn path(edges: &BTreeSet<(u64, u64)>, from: u64, to: u64) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut todo = vec![from];
    while let Some(a) = todo.pop() {
        if a == to {
            return true;
        }
        for &(_, b) in edges.range((a, 0)..=(a, u64::MAX)) {
            if seen.insert(b) {
                todo.push(b);
            }
        }
    }
    false
}

/// 256 cases from a fixed seed, so that every run (CI's included) checks
/// the same ones; `PROPTEST_RNG_SEED=<n>` explores others.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::with_cases(256);
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x10c_c4ec);
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_graph_finds_a_cycle_exactly_when_the_model_has_one(
        steps in steps(),
        // Compactions rare (the default), or after every few dropped locks.
        compact_after in prop_oneof![Just(1024usize), 0..4usize],
    ) {
        let thread = ThreadInfo { id: ThreadId(1), name: None, task: false };
        let mut graph = LockOrderGraph::default().compacting_after(compact_after);
        let mut live: Vec<u64> = vec![1, 2];
        let mut next = 3;
        let mut edges: BTreeSet<(u64, u64)> = BTreeSet::new();
        // Live locks the graph has seen: each is a node.
        let mut known: BTreeSet<u64> = BTreeSet::new();
        for step in steps {
            match step {
                Step::Acquire { held: h, taken, fresh } => {
                    let a = live[h % live.len()];
                    let b = if fresh {
                        next += 1;
                        live.push(next);
                        next
                    } else {
                        live[taken % live.len()]
                    };
                    if a == b {
                        continue;
                    }
                    let new = !edges.contains(&(a, b));
                    let closes = new && path(&edges, b, a);
                    let cycles = graph.on_acquire(&thread, &[held(a)], &held(b), &mut || None);
                    prop_assert_eq!(!cycles.is_empty(), closes, "{} -> {}", a, b);
                    for cycle in &cycles {
                        // Every edge of a reported cycle is one the model has
                        // (or the one just taken).
                        for e in &cycle.edges {
                            let pair = (e.from.id.0, e.to.id.0);
                            prop_assert!(pair == (a, b) || edges.contains(&pair), "{:?}", pair);
                        }
                    }
                    edges.insert((a, b));
                    known.extend([a, b]);
                }
                Step::Drop(i) => {
                    if live.len() <= 2 {
                        continue;
                    }
                    let gone = live.swap_remove(i % live.len());
                    graph.remove_lock(LockId(gone));
                    edges.retain(|&(x, y)| x != gone && y != gone);
                    known.remove(&gone);
                }
            }
            prop_assert_eq!(graph.node_count(), known.len());
            for &(x, y) in &edges {
                prop_assert!(graph.edge(&lock(x), &lock(y)).is_some(), "lost {} -> {}", x, y);
            }
        }
        // No edge the model lacks: every pair of live locks agrees.
        for &x in &live {
            for &y in &live {
                prop_assert_eq!(graph.edge(&lock(x), &lock(y)).is_some(), edges.contains(&(x, y)));
            }
        }
    }
}
