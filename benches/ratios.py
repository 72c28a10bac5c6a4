#!/usr/bin/env python3
"""Summarise `cargo bench --bench locks` and `--bench shared` as Markdown tables (stdlib only).

Usage:
    python3 benches/ratios.py [CRITERION_DIR] [--stat mean|median|slope]

Path layout read (criterion 0.8, as produced by benches/locks.rs and benches/shared.rs):

    CRITERION_DIR/<group>/<impl>/new/estimates.json          uncontended, chain4,
                                                             create_lock_under_outer,
                                                             contended2,
                                                             contended2_one_side, locks_10k
    CRITERION_DIR/<group>/<impl>/<n>/new/estimates.json      locks_n, fresh_n (n = 1000, 10000, 100000)
    CRITERION_DIR/<group>/<impl>/new/estimates.json          shared_read, shared_write,
                                                             shared_locked_2threads,
                                                             lock_8threads_race_live,
                                                             shared_8threads_1m
                                                             (benches/shared.rs)
    .../new/benchmark.json                                   the benchmark id, including
                                                             its throughput (elements)

<impl> is the criterion function id: parking_lot, lockcheck, tracing-mutex,
deloxide (wait-for mode) or deloxide-lock-order (a build with
`--features deloxide/lock-order-graph`); for benches/shared.rs also cell and
atomic. Any other directory is shown too.
Criterion's own directories (report, base, change, and saved baselines) are
ignored: only `new/` results, i.e. the latest run of each benchmark, are read.

CRITERION_DIR defaults to, in order: $CRITERION_HOME, $CARGO_TARGET_DIR/criterion,
and target/criterion in the crate root (the parent of this script's directory).

Values in estimates.json are nanoseconds per iteration. The first table gives,
for each group, every implementation's time per iteration and its ratio to
parking_lot. The second table, for benchmarks with an element throughput
(locks_10k, locks_n, fresh_n), gives the time per element (per lock acquired), which
makes the linearity of locks_n and fresh_n easy to read: it should not grow with n.

The groups of benches/shared.rs (race checking live) follow in tables of
their own, each group against its own baseline (SHARED_BASELINES): cell and
atomic for shared_read and shared_write (a cell shows its ratio to both),
parking_lot for shared_locked_2threads and lock_8threads_race_live, atomic for
shared_8threads_1m. Their time per element is per increment
(shared_locked_2threads), per lock + unlock (lock_8threads_race_live) and per
access (shared_8threads_1m). Either bench's tables are left out when it has
no results; the locks tables are the same whether or not shared results exist.
"""

import argparse
import json
import os
import sys
from pathlib import Path

BASELINE = "parking_lot"
IMPL_ORDER = ["parking_lot", "lockcheck", "tracing-mutex", "deloxide", "deloxide-lock-order"]
GROUP_ORDER = [
    "uncontended",
    "chain4",
    "create_lock_under_outer",
    "contended2",
    "contended2_one_side",
    "locks_10k",
    "locks_n",
    "fresh_n",
]
SKIP_DIRS = {"report", "base", "change", "new"}
# Groups of the other benches that are no lock against parking_lot (the
# trace analysis: criterion prints their events per second itself).
SKIP_GROUPS = {"analyze", "analyze_findings"}

# benches/shared.rs: group -> baselines, the first one named in the table.
SHARED_BASELINES = {
    "shared_read": ["cell", "atomic"],
    "shared_write": ["cell", "atomic"],
    "shared_locked_2threads": ["parking_lot"],
    "lock_8threads_race_live": ["parking_lot"],
    "shared_8threads_1m": ["atomic"],
}
SHARED_GROUP_ORDER = list(SHARED_BASELINES)
SHARED_IMPL_ORDER = ["lockcheck", "cell", "atomic", "parking_lot"]


def default_criterion_dir():
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path(__file__).resolve().parent.parent / "target" / "criterion"


def order_key(order):
    def key(name):
        return (order.index(name), "") if name in order else (len(order), name)

    return key


def param_key(param):
    try:
        return (0, float(param), param)
    except ValueError:
        return (1, 0.0, param)


def read_result(new_dir, stat):
    """(ns per iteration or None, elements per iteration or None) for one `new/` dir."""
    with open(new_dir / "estimates.json", encoding="utf-8") as f:
        estimates = json.load(f)
    estimate = estimates.get(stat)
    value = estimate["point_estimate"] if estimate else None

    elements = None
    try:
        with open(new_dir / "benchmark.json", encoding="utf-8") as f:
            throughput = json.load(f).get("throughput") or {}
        if "Elements" in throughput:
            elements = throughput["Elements"]
        elif "ElementsAndBytes" in throughput:
            elements = throughput["ElementsAndBytes"]["elements"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return value, elements


def collect(root, stat):
    """{row label: {impl: (ns, elements)}} and the row order."""
    rows = {}
    for group_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if group_dir.name in SKIP_DIRS or group_dir.name in SKIP_GROUPS:
            continue
        for impl_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
            impl = impl_dir.name
            if impl in SKIP_DIRS:
                continue
            if (impl_dir / "new" / "estimates.json").is_file():
                label = (group_dir.name, "")
                rows.setdefault(label, {})[impl] = read_result(impl_dir / "new", stat)
                continue
            for param_dir in impl_dir.iterdir():
                if param_dir.name in SKIP_DIRS or not param_dir.is_dir():
                    continue
                if (param_dir / "new" / "estimates.json").is_file():
                    label = (group_dir.name, param_dir.name)
                    rows.setdefault(label, {})[impl] = read_result(param_dir / "new", stat)

    group_key = order_key(GROUP_ORDER)
    order = sorted(rows, key=lambda label: (group_key(label[0]), param_key(label[1])))
    return rows, order


def fmt_ns(value):
    if value is None:
        return "n/a"
    return f"{value:,.2f}" if value < 100 else f"{value:,.1f}"


def fmt_cell(value, base):
    if value is None:
        return "n/a"
    if base:
        return f"{fmt_ns(value)} ({value / base:.2f}×)"
    return fmt_ns(value)


def table(title, rows, order, impls, pick):
    lines = [f"### {title}", ""]
    lines.append("| group | " + " | ".join(impls) + " |")
    lines.append("|---|" + "---:|" * len(impls))
    for label in order:
        results = rows[label]
        values = {impl: pick(results[impl]) for impl in results}
        if all(v is None for v in values.values()):
            continue
        base = values.get(BASELINE)
        name = f"{label[0]}/{label[1]}" if label[1] else label[0]
        cells = [fmt_cell(values[i], base) if i in values else "" for i in impls]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_iteration(result):
    return result[0]


def per_elem(result):
    return result[0] / result[1] if result[0] is not None and result[1] else None


def shared_table(title, rows, order, impls, pick):
    """Like `table`, but each group against its own baselines (SHARED_BASELINES)."""
    lines = [f"### {title}", ""]
    lines.append("| group | baseline | " + " | ".join(impls) + " |")
    lines.append("|---|---|" + "---:|" * len(impls))
    for label in order:
        results = rows[label]
        values = {impl: pick(results[impl]) for impl in results}
        if all(v is None for v in values.values()):
            continue
        baselines = [b for b in SHARED_BASELINES.get(label[0], []) if values.get(b)]
        name = f"{label[0]}/{label[1]}" if label[1] else label[0]
        cells = []
        for impl in impls:
            value = values.get(impl)
            if impl not in values:
                cells.append("")
            elif value is None:
                cells.append("n/a")
            elif len(baselines) == 1:
                cells.append(fmt_cell(value, values[baselines[0]]))
            elif baselines:
                ratios = ", ".join(f"{value / values[b]:.2f}× {b}" for b in baselines)
                cells.append(f"{fmt_ns(value)} ({ratios})")
            else:
                cells.append(fmt_ns(value))
        baseline = " / ".join(baselines) or "none"
        lines.append(f"| {name} | {baseline} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("criterion_dir", nargs="?", type=Path, default=None)
    parser.add_argument(
        "--stat",
        choices=["mean", "median", "slope"],
        default="mean",
        help="criterion estimate to report (default: mean; slope is absent "
        "for flat-sampled groups)",
    )
    args = parser.parse_args()

    root = args.criterion_dir or default_criterion_dir()
    if not root.is_dir():
        sys.exit(
            f"no criterion results in {root}; run `cargo bench --bench locks` "
            "(or `--bench shared`) first"
        )

    all_rows, all_order = collect(root, args.stat)
    if not all_rows:
        sys.exit(f"no <group>/<impl>/new/estimates.json under {root}")

    # benches/locks.rs (and anything else not from benches/shared.rs).
    order = [label for label in all_order if label[0] not in SHARED_BASELINES]
    rows = {label: all_rows[label] for label in order}
    printed = False
    if rows:
        impls = sorted({impl for r in rows.values() for impl in r}, key=order_key(IMPL_ORDER))

        print(
            table(
                f"{args.stat} time per iteration, ns (ratio to {BASELINE})",
                rows,
                order,
                impls,
                per_iteration,
            )
        )

        per_element = [label for label in order if any(r[1] for r in rows[label].values())]
        if per_element:
            print()
            print(
                table(
                    f"{args.stat} time per element (per lock acquired), ns (ratio to {BASELINE})",
                    rows,
                    per_element,
                    impls,
                    per_elem,
                )
            )
        printed = True

    # benches/shared.rs: race checking live, each group against its own baseline.
    shared_key = order_key(SHARED_GROUP_ORDER)
    shared_order = sorted(
        (label for label in all_order if label[0] in SHARED_BASELINES),
        key=lambda label: (shared_key(label[0]), param_key(label[1])),
    )
    if shared_order:
        shared_rows = {label: all_rows[label] for label in shared_order}
        shared_impls = sorted(
            {impl for r in shared_rows.values() for impl in r}, key=order_key(SHARED_IMPL_ORDER)
        )
        if printed:
            print()
        print(
            shared_table(
                f"{args.stat} time per iteration, benches/shared.rs (race checking live), "
                "ns (ratio to the group's baseline)",
                shared_rows,
                shared_order,
                shared_impls,
                per_iteration,
            )
        )
        shared_per_element = [
            label for label in shared_order if any(r[1] for r in shared_rows[label].values())
        ]
        if shared_per_element:
            print()
            print(
                shared_table(
                    f"{args.stat} time per element (per increment, lock + unlock or access), "
                    "benches/shared.rs, ns (ratio to the group's baseline)",
                    shared_rows,
                    shared_per_element,
                    shared_impls,
                    per_elem,
                )
            )


if __name__ == "__main__":
    main()
