#!/usr/bin/env bash
# Partitioned dataset output against plain single-file conversion, on the same 5M-row file,
# interleaved, in one run: `-o one.parquet` vs `-o dir/ --partition-by date` vs
# `--partition-by date,hour` vs `--partition-by account_id,action`. The issue's target: within
# 15% of the single file.
#
#   bash benches/partition.sh
#
# Environment: BENCH_DATA (default /tmp/vpcflow-bench; default-5m.log is generated there with
# ../shared/bench/genflows.py if missing), RUNS (default 3, medians), THREADS (default 2).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
SRC="$DATA/default-5m.log"
mkdir -p "$DATA"
[ -f "$SRC" ] || python3 "$REPO/../shared/bench/genflows.py" --format default --records 5000000 --out "$SRC"
cat "$SRC" > /dev/null  # warm the page cache

declare -A T
variants=("single" "date" "date,hour" "account_id,action")
for _ in $(seq "$RUNS"); do
    for v in "${variants[@]}"; do
        out="$DATA/part-bench"
        rm -rf "$out" "$out.parquet"
        if [ "$v" = single ]; then
            args=(-o "$out.parquet")
        else
            args=(-o "$out" --partition-by "$v")
        fi
        s=$(date +%s.%N)
        "$BIN" convert "$SRC" "${args[@]}" -q --threads "$THREADS"
        e=$(date +%s.%N)
        T[$v]+="$(echo "$e - $s" | bc -l) "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${T[single]}" | median)
for v in "${variants[@]}"; do
    m=$(echo "${T[$v]}" | median)
    files=0
    [ "$v" != single ] && files=$(find "$DATA/part-bench" -name '*.parquet' 2>/dev/null | wc -l || true)
    printf '%-22s %6.2f s  %5.2fx single\n' "$v" "$m" "$(echo "$m / $base" | bc -l)"
done
rm -rf "$DATA/part-bench" "$DATA/part-bench.parquet"
