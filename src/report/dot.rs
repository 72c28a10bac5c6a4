//! The lock-order graph as Graphviz DOT: locks as nodes named as in the
//! program, edges labelled with the site where they were first taken, the
//! edges of reported cycles in red. Written by petgraph's DOT writer.

use std::collections::HashSet;
use std::fmt;

use petgraph::dot::{Config, Dot};
use petgraph::visit::{EdgeRef, NodeRef};

use crate::detect::lock_order::{EdgeData, LockOrderGraph, Node};
use crate::finding::{Finding, LockRef};

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", LockRef::from(&self.lock))
    }
}

impl fmt::Display for EdgeData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_site)
    }
}

/// DOT for `graph`, with the cycles of `findings` in red: every cycle of
/// each, those it was seen again over included (`other_cycles`).
pub fn render(graph: &LockOrderGraph, findings: &[Finding]) -> String {
    let red: HashSet<(u64, u64)> = findings
        .iter()
        .filter_map(|f| f.cycle.as_ref())
        .flat_map(|c| c.cycles().flatten().map(|e| (e.from.id, e.to.id)))
        .collect();
    let in_cycle: HashSet<u64> = red.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let g = graph.petgraph();
    let edge_attrs = |_, e: petgraph::stable_graph::EdgeReference<'_, EdgeData>| {
        let (a, b) = (&g[e.source()].lock, &g[e.target()].lock);
        let label = quote(&e.weight().to_site.to_string());
        // A hold-and-wait edge (a lock held across a wait) is dashed.
        let style = if e.weight().is_wait() {
            ", style = dashed"
        } else {
            ""
        };
        if red.contains(&(a.id.0, b.id.0)) {
            format!("label = {label}, color = red, fontcolor = red, penwidth = 2{style}")
        } else {
            format!("label = {label}{style}")
        }
    };
    let node_attrs = |_, n: (petgraph::stable_graph::NodeIndex, &Node)| {
        let label = quote(&n.weight().to_string());
        if in_cycle.contains(&n.weight().lock.id.0) {
            format!("label = {label}, color = red, fontcolor = red")
        } else {
            format!("label = {label}")
        }
    };
    let dot = Dot::with_attr_getters(
        g,
        &[Config::EdgeNoLabel, Config::NodeNoLabel],
        &edge_attrs,
        &node_attrs,
    );
    format!("{dot}")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
