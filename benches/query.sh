#!/usr/bin/env bash
# Time `vpcflow query` on the five reference summaries of ../shared/bench/peer_query.py against
# DuckDB running them over pyarrow's Parquet of the same data, side by side in one run (our
# Parquet as `convert` writes it by default, with `--cluster-by srcaddr`, and with
# `--sort-by srcaddr,dstaddr`, the layout chosen for these summaries); and
# `vpcflow query` straight over the raw text (each of the five queries parses it once), against
# DuckDB's `read_csv` over the same text (benches/peer_query_raw.py).
#
#   bash benches/query.sh                     # data in /tmp/vpcflow-bench (generated if missing)
#   RUNS=5 BENCH_DATA=/tmp/bench bash benches/query.sh
#
# Environment: BENCH_DATA (folder of default-5m.log), VPCFLOW (binary), RUNS (default 3),
# THREADS (default 2), RAW (1 = also time queries over the raw text; default 1).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(dirname "$REPO")/shared/bench"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
RAW="${RAW:-1}"
die() { echo "query.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no binary at $BIN (cargo build --release, or set VPCFLOW)"
[ -f "$SHARED/peer_query.py" ] || die "no $SHARED/peer_query.py"
PY="$(bash "$REPO/.ci/python-deps.sh" | tail -n1)"

mkdir -p "$DATA"
LOG="$DATA/default-5m.log"
if [ ! -f "$LOG" ] || [ "$(wc -l <"$LOG")" -ne 5000001 ]; then
    echo "query.sh: generating $LOG" >&2
    python3 "$SHARED/genflows.py" --format default --records 5000000 --seed 1 --out "$LOG.tmp.$$"
    mv "$LOG.tmp.$$" "$LOG"
fi
OURS="$DATA/default-5m.vpcflow.parquet"
PEER="$DATA/default-5m.pyarrow.parquet"
[ -f "$OURS" ] || "$BIN" convert "$LOG" -o "$OURS" -q
# The same rows clustered by source address (`--cluster-by srcaddr`, windows of 131,072 rows).
CLUSTERED="$DATA/default-5m.vpcflow-clustered.parquet"
[ -f "$CLUSTERED" ] || "$BIN" convert "$LOG" -o "$CLUSTERED" --cluster-by srcaddr -q
# The same rows ordered by source and destination address, the order recorded in the file.
SORTED="$DATA/default-5m.vpcflow-sorted.parquet"
[ -f "$SORTED" ] || "$BIN" convert "$LOG" -o "$SORTED" --sort-by srcaddr,dstaddr -q
[ -f "$PEER" ] || "$PY" "$SHARED/peer_convert.py" pyarrow "$LOG" "$PEER" --threads "$THREADS" >/dev/null

# The five reference queries, as peer_query.py has them (its table t is our flows).
mapfile -t QUERIES < <("$PY" - "$SHARED" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import peer_query
for q in peer_query.QUERIES.values():
    print(q.format(eni="interface_id").replace(" FROM t ", " FROM flows ").replace(" FROM t", " FROM flows"))
PY
)
[ "${#QUERIES[@]}" -eq 5 ] || die "expected 5 reference queries, got ${#QUERIES[@]}"
ARGS=()
for q in "${QUERIES[@]}"; do ARGS+=(--sql "$q"); done

run() { # label, command...: prints "label seconds"
    local label=$1; shift
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>"$DATA/query-bench.err" || { cat "$DATA/query-bench.err" >&2; die "$label failed"; }
    t1=$(date +%s%N)
    echo "$label $(( (t1 - t0) / 1000000 ))"
}

RES="$(mktemp)"
trap 'rm -f "$RES"' EXIT
cat "$LOG" >/dev/null
for r in $(seq 0 "$RUNS"); do   # run 0 warms up and is not counted
    {
        run duckdb "$PY" "$SHARED/peer_query.py" duckdb "$PEER" --threads "$THREADS"
        run vpcflow-parquet "$BIN" query "$OURS" "${ARGS[@]}" --threads "$THREADS" --format csv -q
        run vpcflow-clustered "$BIN" query "$CLUSTERED" "${ARGS[@]}" --threads "$THREADS" --format csv -q
        run vpcflow-sorted "$BIN" query "$SORTED" "${ARGS[@]}" --threads "$THREADS" --format csv -q
        if [ "$RAW" = 1 ]; then
            run duckdb-raw "$PY" "$REPO/benches/peer_query_raw.py" "$SHARED" "$LOG" --threads "$THREADS"
            run vpcflow-raw "$BIN" query "$LOG" "${ARGS[@]}" --threads "$THREADS" --format csv -q
        fi
    } | if [ "$r" = 0 ]; then cat >/dev/null; else tee -a "$RES" >&2; fi
done

"$PY" - "$RES" "$(stat -c %s "$LOG")" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    label, ms = line.split()
    times.setdefault(label, []).append(int(ms) / 1000)
size = int(sys.argv[2])
duck = statistics.median(times["duckdb"])
print(f"{'engine':<18}{'median s':>10}{'min-max s':>14}{'x duckdb':>10}")
for label, ts in times.items():
    m = statistics.median(ts)
    print(f"{label:<18}{m:>10.2f}{min(ts):>8.2f}-{max(ts):<5.2f}{m / duck:>10.2f}")
if "vpcflow-raw" in times:
    m = statistics.median(times["vpcflow-raw"])
    print(f"raw text: 5 queries each parse {size / 1e6:.0f} MB: {5 * size / 1e6 / m:.0f} MB/s of text queried")
    if "duckdb-raw" in times:
        d = statistics.median(times["duckdb-raw"])
        print(f"raw text, vpcflow / DuckDB read_csv over the same text: {m / d:.2f}")
PY
