#!/usr/bin/env bash
# ECS NDJSON throughput: `vpcflow convert --to ecs -o -` on the shared generator's all-fields
# data, written to /dev/null, without and with GeoIP (../shared/geoip), interleaved run by run.
# Prints medians, GB/s of NDJSON written, µs per record per core, and the cost of geo.
#
#   bash benches/ecs.sh
#
# Environment: BENCH_DATA (default /tmp/vpcflow-bench; all-1m.log is generated there with
# ../shared/bench/genflows.py if missing), RUNS (default 5), THREADS (default 2).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-5}"
THREADS="${THREADS:-2}"
GEO="$REPO/../shared/geoip"
SRC="$DATA/all-1m.log"
mkdir -p "$DATA"
[ -f "$SRC" ] || python3 "$REPO/../shared/bench/genflows.py" --format all --records 1000000 --out "$SRC"
cat "$SRC" > /dev/null  # warm the page cache

records=$(grep -vc '^version' "$SRC" || true)
variants=("ecs")
[ -d "$GEO" ] && variants+=("ecs+geo")
declare -A T BYTES
for v in "${variants[@]}"; do
    args=(convert "$SRC" --to ecs -o - -q --threads "$THREADS")
    [ "$v" = "ecs+geo" ] && args+=(--geoip "$GEO")
    BYTES[$v]=$("$BIN" "${args[@]}" | wc -c)
done
for _ in $(seq "$RUNS"); do
    for v in "${variants[@]}"; do
        args=(convert "$SRC" --to ecs -o - -q --threads "$THREADS")
        [ "$v" = "ecs+geo" ] && args+=(--geoip "$GEO")
        s=$(date +%s.%N)
        "$BIN" "${args[@]}" > /dev/null
        e=$(date +%s.%N)
        T[$v]+="$(echo "$e - $s" | bc -l) "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { tr ' ' '\n' | grep . | sort -n | head -n1; }
echo "input: $SRC ($records records, $(stat -c %s "$SRC") bytes), $THREADS threads, $RUNS runs"
base=$(echo "${T[ecs]}" | median)
for v in "${variants[@]}"; do
    m=$(echo "${T[$v]}" | median)
    b=$(echo "${T[$v]}" | best)
    printf '%-8s median %5.2f s  %5.2f GB/s  (best %5.2f s, %5.2f GB/s)  %5.2f µs/record/core  %5.2fx ecs  %d bytes\n' \
        "$v" "$m" "$(echo "${BYTES[$v]} / $m / 1000000000" | bc -l)" "$b" "$(echo "${BYTES[$v]} / $b / 1000000000" | bc -l)" \
        "$(echo "$m * $THREADS * 1000000 / $records" | bc -l)" "$(echo "$m / $base" | bc -l)" "${BYTES[$v]}"
done
