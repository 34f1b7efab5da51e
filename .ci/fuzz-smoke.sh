#!/usr/bin/env bash
# A short run of each fuzz target (the long runs are documented in the README): installs
# cargo-fuzz from crates.io if missing, builds the targets without sanitizers on the stable
# toolchain (RUSTC_BOOTSTRAP=1 lets it take the coverage flags), and runs each for RUNS inputs
# from a throw-away copy of the corpus, so the repository's small corpus isn't grown.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
RUNS="${RUNS:-200000}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
export RUSTC_BOOTSTRAP=1
cargo fuzz build -s none -O
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in line_parser layout envelope; do
    mkdir -p "$work/$t"
    cargo fuzz run -s none -O "$t" "$work/$t" "$PWD/corpus/$t" -- \
        -runs="$RUNS" -max_len=4096 -timeout=10 2>&1 | grep -E "^Done|crash|panicked|ERROR" || true
    # cargo fuzz exits non-zero on a crash; the pipe above hides it, so check for artifacts.
    if ls "artifacts/$t"/crash-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
        echo "fuzz target $t found a crash or timeout: see fuzz/artifacts/$t" >&2
        exit 1
    fi
done
