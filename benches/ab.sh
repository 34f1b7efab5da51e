#!/usr/bin/env bash
# Two builds side by side: the same `vpcflow` commands timed with binary A and binary B,
# alternated run by run (A B B A …) so the machine's drift hits both alike. Prints, per command,
# the median wall and CPU (user+sys) seconds of each and the ratios B/A.
#
#   A=/path/to/old/vpcflow B=target/release/vpcflow bash benches/ab.sh
#
# The commands are the conversions of benches/compare.sh (5M default records and 1M all-fields
# records to Parquet) and of benches/ecs.sh (the 1M all-fields records as ECS NDJSON to
# /dev/null), and the queries of benches/query.sh's kind (top talkers over the 5M records' raw
# text, and over their Parquet as A's convert writes it), on the shared generator's data in BENCH_DATA (default /tmp/vpcflow-bench; made
# if missing). Environment: RUNS (default 5), THREADS (default 2).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A="${A:?set A to the baseline binary}"
B="${B:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-5}"
THREADS="${THREADS:-2}"
GEN="$REPO/../shared/bench/genflows.py"
mkdir -p "$DATA"
[ -f "$DATA/default-5m.log" ] || python3 "$GEN" --format default --records 5000000 --seed 1 --out "$DATA/default-5m.log"
[ -f "$DATA/all-1m.log" ] || python3 "$GEN" --format all --records 1000000 --seed 2 --out "$DATA/all-1m.log"
cat "$DATA/default-5m.log" "$DATA/all-1m.log" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CMDS=(
    "parquet-default-5m|convert $DATA/default-5m.log -o $out/o.parquet -q --threads $THREADS"
    "parquet-all-1m|convert $DATA/all-1m.log -o $out/o.parquet -q --threads $THREADS"
    "ecs-all-1m|convert $DATA/all-1m.log --to ecs -o - -q --threads $THREADS"
    "query-raw-5m|query $DATA/default-5m.log --name top_talkers --format csv -q --threads $THREADS"
    "query-parquet-5m|query $out/ref.parquet --name top_talkers --format csv -q --threads $THREADS"
    "query-raw-5m-rejected|query $DATA/default-5m.log --name rejected_by_port --format csv -q --threads $THREADS"
)
"$A" convert "$DATA/default-5m.log" -o "$out/ref.parquet" -q --threads "$THREADS"
declare -A W C
run() { # bin key args...
    local bin=$1 key=$2; shift 2
    /usr/bin/time -f '%e %U %S' -o "$out/t" "$bin" "$@" >/dev/null
    read -r wall user sys <"$out/t"
    W[$key]+="$wall "
    C[$key]+="$(echo "$user + $sys" | bc -l) "
}
for spec in "${CMDS[@]}"; do
    IFS='|' read -r name args <<<"$spec"
    read -ra argv <<<"$args"
    run "$A" "$name.A" "${argv[@]}"  # warm-up, discarded below
    W[$name.A]=""; C[$name.A]=""
    for r in $(seq "$RUNS"); do
        if [ $((r % 2)) -eq 1 ]; then
            run "$A" "$name.A" "${argv[@]}"; run "$B" "$name.B" "${argv[@]}"
        else
            run "$B" "$name.B" "${argv[@]}"; run "$A" "$name.A" "${argv[@]}"
        fi
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "A=$A"
echo "B=$B"
echo "$RUNS alternated runs each, $THREADS threads; medians"
printf '%-20s %9s %9s %9s %9s %8s %8s\n' command "A wall" "B wall" "A cpu" "B cpu" "wall B/A" "cpu B/A"
for spec in "${CMDS[@]}"; do
    name=${spec%%|*}
    aw=$(echo "${W[$name.A]}" | median); bw=$(echo "${W[$name.B]}" | median)
    ac=$(echo "${C[$name.A]}" | median); bc_=$(echo "${C[$name.B]}" | median)
    printf '%-20s %9.2f %9.2f %9.2f %9.2f %8.3f %8.3f\n' "$name" "$aw" "$bw" "$ac" "$bc_" \
        "$(echo "$bw / $aw" | bc -l)" "$(echo "$bc_ / $ac" | bc -l)"
done
