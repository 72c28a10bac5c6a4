#!/usr/bin/env bash
# Runs the test suites of real crates that lock with parking_lot twice —
# as published, then with parking_lot patched to lockcheck's shims — and
# prints each run's result and time. Not part of CI: it needs the crates.io
# registry and several minutes. Usage: scripts/patched_suites.sh [WORKDIR]
#
# The crates: r2d2 0.8 (parking_lot 0.12) and scheduled-thread-pool 0.2
# (parking_lot 0.13 since 0.2.8), whose suites lock across threads.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
echo "lockcheck: working in $work" >&2

crates=("r2d2@0.8.10" "scheduled-thread-pool@0.2.8")

# The patched suites run under `lockcheck run`, which counts the test
# processes that reported to lockcheck and collects their findings.
cargo build -q --release -p lockcheck-cli --manifest-path "$repo/Cargo.toml"
lockcheck="$repo/target/release/lockcheck"

# Fetch the published sources through a throw-away crate, then copy them.
fetcher="$work/fetch"
rm -rf "$fetcher"
cargo new -q --vcs none "$fetcher"
for c in "${crates[@]}"; do
    (cd "$fetcher" && cargo add -q "${c/@/@=}")
done
(cd "$fetcher" && cargo fetch -q)

summary=()
for c in "${crates[@]}"; do
    name="${c%@*}"
    version="${c#*@}"
    for mode in published patched; do
        dir="$work/$name-$mode"
        rm -rf "$dir"
        # The unpacked source, in whichever registry index cargo used.
        src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$name-$version" | head -n 1)"
        cp -r "$src" "$dir"
        chmod -R u+w "$dir"
        # Each copy is a workspace of its own; the patched one swaps both
        # parking_lot versions for the shims.
        printf '\n[workspace]\n' >> "$dir/Cargo.toml"
        if [ "$mode" = patched ]; then
            cat >> "$dir/Cargo.toml" <<TOML

[patch.crates-io]
parking_lot = { path = "$repo/shims/parking_lot-0.12" }
parking_lot_013 = { path = "$repo/shims/parking_lot-0.13", package = "parking_lot" }
TOML
        fi
        # Build first, so that the time below is the suite's, not the build's.
        (cd "$dir" && cargo test -q --no-run >/dev/null 2>"$dir.build.log") || {
            echo "$name $mode: build failed, see $dir.build.log" >&2
            summary+=("$name $mode: build failed")
            continue
        }
        if [ "$mode" = patched ]; then
            (cd "$dir" && cargo tree -i parking_lot@0.12.5 -e normal 2>/dev/null | head -n 1) >&2 || true
            (cd "$dir" && cargo tree -i parking_lot@0.13.0 -e normal 2>/dev/null | head -n 1) >&2 || true
        fi
        start=$(date +%s.%N)
        status=0
        if [ "$mode" = patched ]; then
            (cd "$dir" && "$lockcheck" run --format json -- cargo test -q \
                >"$dir.report.json" 2>"$dir.test.log") || status=$?
        else
            (cd "$dir" && cargo test -q >"$dir.test.log" 2>&1) || status=$?
        fi
        end=$(date +%s.%N)
        seconds=$(echo "$end - $start" | bc)
        result=$(grep -E '^test result' "$dir.test.log" | awk '{p+=$4; f+=$6} END {print p " passed, " f " failed"}')
        checked=""
        if [ "$mode" = patched ]; then
            checked=$(python3 - "$dir.report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
checked = report['run']['processes_checked']
print(f"{checked} test process{'' if checked == 1 else 'es'} checked by lockcheck, "
      f"{len(report['findings'])} findings ({report['failing']} failing)")
PY
)
            checked=", $checked (report: $dir.report.json)"
        fi
        line="$name $version $mode: exit $status, $result, ${seconds}s$checked"
        echo "$line" >&2
        summary+=("$line")
    done
done
printf '%s\n' "${summary[@]}"
