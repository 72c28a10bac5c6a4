//! A cycle whose edges all go through one helper (`transfer(from, to)`
//! called as `transfer(&a, &b)` and `transfer(&b, &a)`): with backtraces at
//! their default (no `RUST_BACKTRACE`), each edge keeps the callers of the
//! helper, so the report tells the two calls apart. Its own test binary,
//! since it runs with the default backtrace setting, which the environment
//! here may override. Tests share one process (and its findings): each
//! names its locks uniquely and looks only at findings about them. Threads
//! are ordered by joins, never by sleeps.

use std::sync::{Arc, Once};
use std::thread;

use lockcheck::config::{self, Backtraces, Policy};
use lockcheck::finding::OrderEdge;
use lockcheck::{Finding, FindingKind, Mutex};

/// An account: a balance behind a lock.
type Account = Mutex<i64>;

/// Takes both accounts' locks, `from`'s first: the same two sites for
/// every pair of accounts, whoever calls it.
#[inline(never)]
fn transfer(from: &Account, to: &Account) {
    let mut a = from.lock();
    let mut b = to.lock();
    *a -= 1;
    *b += 1;
}

/// `transfer` again, for the test of cycles that share their sites: a
/// finding is keyed by its sites, so a cycle of another test through
/// `transfer` in this process would be the same finding.
#[inline(never)]
fn settle(from: &Account, to: &Account) {
    let mut a = from.lock();
    let mut b = to.lock();
    *a -= 1;
    *b += 1;
}

/// Backtraces at their default: `RUST_BACKTRACE` and `LOCKCHECK_BACKTRACE`
/// removed before lockcheck first reads them (every test calls this first;
/// the setting is read once per process).
fn default_backtraces() {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        std::env::remove_var("RUST_BACKTRACE");
        std::env::remove_var("LOCKCHECK_BACKTRACE");
        std::env::remove_var("LOCKCHECK_CALLER_STACKS");
        config::set_policy(Policy::Collect);
    });
    assert_eq!(config::backtrace_mode(), Backtraces::Callers);
}

/// Findings that involve a lock whose name starts with `prefix`.
fn about(prefix: &str) -> Vec<Finding> {
    lockcheck::findings()
        .into_iter()
        .filter(|f| {
            f.locks
                .iter()
                .any(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)))
        })
        .collect()
}

fn accounts(names: &[&'static str]) -> Vec<Arc<Account>> {
    names
        .iter()
        .map(|n| Arc::new(Mutex::named(n, 100)))
        .collect()
}

/// Runs `f` on a thread of its own and waits for what it returns.
fn on_thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    thread::spawn(f).join().expect("the thread finishes")
}

/// The lines of this file that `edge`'s frames name, beyond its site.
fn caller_lines(edge: &OrderEdge) -> Vec<u32> {
    lockcheck::report::frames::callers(&edge.backtrace, &edge.to_site)
        .iter()
        .filter_map(|f| f.location.as_ref())
        .filter(|l| l.file == "tests/helper_callers.rs")
        .map(|l| l.line)
        .collect()
}

#[test]
fn each_edge_of_a_cycle_through_a_helper_names_its_caller() {
    default_backtraces();
    let [a, b] = &accounts(&["callers.a", "callers.b"])[..] else {
        unreachable!()
    };
    let (a1, b1) = (a.clone(), b.clone());
    let (a2, b2) = (a.clone(), b.clone());
    // Each thread returns the line of its call.
    let lines = [
        on_thread(move || (line!(), transfer(&a1, &b1)).0),
        on_thread(move || (line!(), transfer(&b2, &a2)).0),
    ];

    let found = about("callers.");
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = &found[0];
    assert_eq!(finding.kind, FindingKind::LockOrderCycle);
    let edges = &finding.cycle.as_ref().expect("a cycle").edges;
    assert_eq!(edges.len(), 2);
    // Both edges are taken at the same two sites, in `transfer`...
    assert_eq!(edges[0].to_site, edges[1].to_site);
    assert_eq!(edges[0].from_site, edges[1].from_site);
    // ... and each names the call it came from.
    let mut named: Vec<u32> = edges
        .iter()
        .map(|e| {
            let callers = caller_lines(e);
            assert!(!callers.is_empty(), "no caller in {:#?}", e.backtrace);
            callers[0]
        })
        .collect();
    named.sort_unstable();
    let mut expected = lines.to_vec();
    expected.sort_unstable();
    assert_eq!(named, expected, "{edges:#?}");

    for e in edges {
        // The innermost frame is the helper, at the edge's site.
        let innermost = &e.backtrace[0];
        assert!(innermost.function.ends_with("transfer"), "{innermost:?}");
        assert_eq!(innermost.location.as_ref(), Some(&e.to_site));
        for f in &e.backtrace {
            let name = f.function.trim_start_matches('<');
            for internal in ["lockcheck::", "std::", "core::", "alloc::", "fn("] {
                assert!(!name.starts_with(internal), "{f:?} in {:#?}", e.backtrace);
            }
            if let Some(l) = &f.location {
                assert!(!l.file.starts_with('/'), "absolute path in {f:?}");
            }
        }
    }
    let text = lockcheck::report::text::render(&found, false);
    for line in lines {
        assert!(
            text.contains(&format!("tests/helper_callers.rs:{line}:")),
            "line {line} not in\n{text}"
        );
    }
}

#[test]
fn the_helper_called_in_one_order_everywhere_is_clean() {
    default_backtraces();
    let [a, b] = &accounts(&["consistent.a", "consistent.b"])[..] else {
        unreachable!()
    };
    for _ in 0..2 {
        let (a, b) = (a.clone(), b.clone());
        on_thread(move || transfer(&a, &b));
    }
    transfer(a, b);
    assert_eq!(about("consistent."), []);
}

/// The edges of a DOT graph drawn in red, as `from -> to` by lock name.
fn red_edges(dot: &str) -> Vec<(String, String)> {
    let names: std::collections::HashMap<&str, &str> = dot
        .lines()
        .filter(|l| !l.contains("->"))
        .filter_map(|l| {
            let (node, rest) = l.trim().split_once(" [ ")?;
            let name = rest.split('`').nth(1)?;
            Some((node, name))
        })
        .collect();
    dot.lines()
        .filter(|l| l.contains("->") && l.contains("color = red"))
        .filter_map(|l| {
            let (edge, _) = l.trim().split_once(" [ ")?;
            let (from, to) = edge.split_once(" -> ")?;
            Some((names.get(from)?.to_string(), names.get(to)?.to_string()))
        })
        .collect()
}

#[test]
fn a_3_cycle_and_a_2_cycle_through_one_helper_are_one_finding_with_every_edge() {
    default_backtraces();
    let all = accounts(&["shared.x", "shared.y", "shared.z"]);
    let [x, y, z] = &all[..] else { unreachable!() };
    // x -> y -> z -> x, then y -> x: the last closes x -> y -> x. One
    // thread each, one after the other.
    let mut names = Vec::new();
    for (i, (from, to)) in [(x, y), (y, z), (z, x), (y, x)].into_iter().enumerate() {
        let (from, to) = (from.clone(), to.clone());
        let name = format!("shared-{i}");
        thread::Builder::new()
            .name(name.clone())
            .spawn(move || settle(&from, &to))
            .expect("a thread")
            .join()
            .expect("the thread finishes");
        names.push(name);
    }
    let found = about("shared.");
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = &found[0];
    assert_eq!(finding.count, 2, "{finding:#?}");
    let cycle = finding.cycle.as_ref().expect("a cycle");
    let mut lengths: Vec<usize> = cycle.cycles().map(<[_]>::len).collect();
    lengths.sort_unstable();
    assert_eq!(lengths, [2, 3], "{cycle:#?}");
    // Every thread that took an edge of either cycle.
    let mut named: Vec<&str> = finding
        .threads
        .iter()
        .filter_map(|t| t.name.as_deref())
        .collect();
    named.sort_unstable();
    assert_eq!(named, names, "{finding:#?}");

    let dot = lockcheck::order_graph_dot(&found);
    let mut red = red_edges(&dot);
    red.sort();
    let pair = |a: &str, b: &str| (format!("shared.{a}"), format!("shared.{b}"));
    assert_eq!(
        red,
        [
            pair("x", "y"),
            pair("y", "x"),
            pair("y", "z"),
            pair("z", "x")
        ],
        "{dot}"
    );
    drop(all);
}
