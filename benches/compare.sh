#!/usr/bin/env bash
# Time `vpcflow convert` against DuckDB and pyarrow (../shared/bench/peer_convert.py)
# turning the same flow logs into zstd Parquet, side by side in one run.
#
#   bash benches/compare.sh                      # from anywhere; data in /tmp/vpcflow-bench
#   BENCH_DATA=/tmp/bench bash benches/compare.sh
#
# Environment:
#   BENCH_DATA  folder of the generated inputs (default /tmp/vpcflow-bench); files
#               default-5m.log and all-1m.log are generated there only if missing
#   VPCFLOW     binary to time (default target/release/vpcflow of this repo)
#   RUNS        timed runs of each engine on each input (default 3; the median is shown)
#   THREADS     threads given to every engine (default 2)
#   ENGINES     engines to time (default "vpcflow duckdb pyarrow"; polars and
#               datafusion work too if installed in the venv)
#   WARMUP      1 (default) runs every engine once untimed first, 0 skips that
#   VPCFLOW_VENV  the venv of .ci/python-deps.sh, which is used for the peers
#
# Wall time is the whole process (Python start-up and imports included for the
# peers), the peak RSS is from /usr/bin/time -v when present, else from Python's
# resource module. Engines are interleaved round by round so drift hits all alike.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(dirname "$REPO")/shared/bench"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
ENGINES="${ENGINES:-vpcflow duckdb pyarrow}"
WARMUP="${WARMUP:-1}"

die() { echo "compare.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no binary at $BIN (cargo build --release, or set VPCFLOW)"
[ -f "$SHARED/genflows.py" ] || die "no $SHARED/genflows.py"
[ -f "$SHARED/peer_convert.py" ] || die "no $SHARED/peer_convert.py"

PY="$(bash "$REPO/.ci/python-deps.sh" | tail -n1)"
[ -x "$PY" ] || die "python-deps.sh gave no python"

if [ -n "${BENCH_TIMER:-}" ]; then
    TIMER=$BENCH_TIMER   # gnu-time | python-resource (for testing the fallback)
elif /usr/bin/time -v true >/dev/null 2>&1; then
    TIMER=gnu-time
else
    TIMER=python-resource
fi

# ---- inputs: name|genflows args|records ----
INPUTS=(
    "default-5m.log|--format default --records 5000000 --seed 1|5000000"
    "all-1m.log|--format all --records 1000000 --seed 2|1000000"
)
mkdir -p "$DATA"
for spec in "${INPUTS[@]}"; do
    IFS='|' read -r name args records <<<"$spec"
    f="$DATA/$name"
    if [ -f "$f" ]; then
        lines=$(wc -l <"$f")
        if [ "$lines" -eq $((records + 1)) ]; then
            continue
        fi
        echo "compare.sh: $f has $lines lines, expected $((records + 1)) (incomplete?): generating it again" >&2
    fi
    echo "compare.sh: generating $f (genflows.py $args)" >&2
    # shellcheck disable=SC2086
    python3 "$SHARED/genflows.py" $args --out "$f.tmp.$$"
    mv "$f.tmp.$$" "$f"
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-compare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.tsv"
: >"$RESULTS"

# command line of ENGINE converting IN to OUT, into the array CMD
engine_cmd() {
    local engine=$1 in=$2 out=$3
    case "$engine" in
        vpcflow) CMD=("$BIN" convert "$in" -o "$out" --threads "$THREADS" -q --stats "$out.stats.json") ;;
        *) CMD=("$PY" "$SHARED/peer_convert.py" "$engine" "$in" "$out" --threads "$THREADS") ;;
    esac
}

ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# run one command; prints "wall_seconds peak_rss_kib exit_code"
measure() {
    local out=$1; shift
    local t0 t1 rc rss
    if [ "$TIMER" = gnu-time ]; then
        t0=$(date +%s%N)
        set +e
        /usr/bin/time -v -o "$out.time" "$@" >"$out.stdout" 2>"$out.stderr"
        rc=$?
        set -e
        t1=$(date +%s%N)
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out.time")
        echo "$(ms_to_s $(( (t1 - t0) / 1000000 ))) ${rss:-0} $rc"
    else
        "$PY" -c '
import resource, subprocess, sys, time
t = time.perf_counter()
with open(sys.argv[1] + ".stdout", "wb") as o, open(sys.argv[1] + ".stderr", "wb") as e:
    rc = subprocess.run(sys.argv[2:], stdout=o, stderr=e).returncode
w = time.perf_counter() - t
print("%.3f %d %d" % (w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc))
' "$out" "$@"
    fi
}

# rows the engine says it wrote
rows_of() {
    local engine=$1 out=$2
    if [ "$engine" = vpcflow ]; then
        "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows_written"])' "$out.stats.json" 2>/dev/null || echo "?"
    else
        tail -n1 "$out.stdout" 2>/dev/null | tr -dc '0-9' || true
    fi
}

echo "# vpcflow: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "# peers: $("$PY" -c 'import duckdb, pyarrow; print("duckdb", duckdb.__version__, "pyarrow", pyarrow.__version__)')"
echo "# data: $DATA; $RUNS runs each, $THREADS threads, timer: $TIMER; $(nproc) cores"

for spec in "${INPUTS[@]}"; do
    IFS='|' read -r name args records <<<"$spec"
    in="$DATA/$name"
    bytes=$(stat -c %s "$in")
    # page cache, and a reference: reading the file once
    cat "$in" >/dev/null
    t0=$(date +%s%N); cat "$in" >/dev/null; t1=$(date +%s%N)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "cat" 0 "$(ms_to_s $(( (t1 - t0) / 1000000 )))" 0 0 "$records" "$bytes" 0 >>"$RESULTS"
    if [ "$WARMUP" = 1 ]; then
        for engine in $ENGINES; do
            out="$WORK/warm-$engine.parquet"
            engine_cmd "$engine" "$in" "$out"
            measure "$out" "${CMD[@]}" >/dev/null || true
            rm -f "$out"*
        done
    fi
    for run in $(seq 1 "$RUNS"); do
        for engine in $ENGINES; do
            out="$WORK/$engine.parquet"
            rm -f "$out"*
            engine_cmd "$engine" "$in" "$out"
            read -r wall rss rc < <(measure "$out" "${CMD[@]}")
            rows=$(rows_of "$engine" "$out")
            osize=$(stat -c %s "$out" 2>/dev/null || echo 0)
            if [ "$rc" != 0 ]; then
                echo "compare.sh: $engine on $name exited $rc:" >&2
                tail -n5 "$out.stderr" >&2 || true
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$engine" "$run" "$wall" "$rss" "$rc" "$rows" "$bytes" "$osize" >>"$RESULTS"
            echo "  $name $engine run $run: ${wall}s, $((rss / 1024)) MiB, rc $rc, $rows rows" >&2
            rm -f "$out"*
        done
    done
done

"$PY" - "$RESULTS" "$ENGINES" <<'PY'
import statistics, sys
from collections import OrderedDict

rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
engines = sys.argv[2].split()
by = OrderedDict()
for name, engine, run, wall, rss, rc, nrows, size, osize in rows:
    by.setdefault(name, OrderedDict()).setdefault(engine, []).append(
        (float(wall), int(rss), int(rc), nrows, int(size), int(osize)))

hdr = ["input", "engine", "median s", "min-max s", "peak RSS MiB", "MB/s", "x vpcflow time",
       "x vpcflow RSS", "out MB", "rows"]
table = []
for name, per in by.items():
    size = next(iter(per.values()))[0][4]
    base = per.get("vpcflow")
    ok_base = base and all(r[2] == 0 for r in base)
    bt = statistics.median(r[0] for r in base) if ok_base else None
    brss = max(r[1] for r in base) if ok_base else None
    for engine in ["cat"] + engines:
        runs = per.get(engine)
        if not runs:
            continue
        if engine != "cat" and any(r[2] != 0 for r in runs):
            table.append([name, engine, "FAILED (rc %s)" % ",".join(str(r[2]) for r in runs)] + [""] * 7)
            continue
        walls = [r[0] for r in runs]
        med = statistics.median(walls)
        rss = max(r[1] for r in runs)
        nrows = sorted({r[3] for r in runs})
        table.append([
            f"{name} ({size / 1e6:.0f} MB)", engine, f"{med:.2f}",
            f"{min(walls):.2f}-{max(walls):.2f}",
            "" if engine == "cat" else f"{rss / 1024:.0f}",
            f"{size / 1e6 / med:.0f}" if med > 0 else "",
            "" if engine in ("cat", "vpcflow") or bt is None else f"{med / bt:.2f}",
            "" if engine in ("cat", "vpcflow") or not brss else f"{rss / brss:.2f}",
            "" if engine == "cat" else f"{max(r[5] for r in runs) / 1e6:.1f}",
            "/".join(nrows),
        ])

w = [max(len(str(r[i])) for r in table + [hdr]) for i in range(len(hdr))]
line = lambda r: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |"
print(line(hdr))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in table:
    print(line(r))
print("x vpcflow time = peer median wall / vpcflow median wall (>1: vpcflow faster); "
      "x vpcflow RSS = peer peak RSS / vpcflow peak RSS; MB/s = input MB / median wall")
PY
