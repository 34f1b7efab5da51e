#!/usr/bin/env bash
# Scale-out, measured in one run with the variants alternated:
#  1. `convert --cluster` into a dataset with two executors of one core each (pinned with taskset
#     to cores 0 and 1) against one executor of one core, on the same inputs. Goal: >= 1.8x.
#  2. `convert -o s3://…/` (moto's S3 on 127.0.0.1) against the same dataset written locally.
# Prints wall seconds per run, medians, the ratios, and the per-core rate (MB of input per second)
# the README's "Scaling out" estimates come from.
#
#   bash benches/cluster.sh
#
# Needs a build with `--features cluster` and the Python venv (.ci/python-deps.sh, for moto).
# Environment: BENCH_DATA (default /tmp/vpcflow-bench; 8 genflows files of RECORDS records are
# made there), RECORDS (default 500000 per file), RUNS (default 3).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}/cluster-in"
RUNS="${RUNS:-3}"
RECORDS="${RECORDS:-500000}"
PY=$(bash "$REPO/.ci/python-deps.sh" | tail -n 1)
mkdir -p "$DATA"
for i in 0 1 2 3 4 5 6 7; do
    f="$DATA/in-$i.log"
    [ -f "$f" ] || python3 "$REPO/../shared/bench/genflows.py" --format default --records "$RECORDS" \
        --seed $((40 + i)) --start $((1700000000 + i * 86400)) --out "$f"
done
cat "$DATA"/*.log > /dev/null  # warm the page cache
MB=$(du -cm "$DATA"/*.log | tail -n 1 | cut -f1)
OUT="$(mktemp -d /tmp/vpcflow-cluster-bench.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$OUT"
}
trap cleanup EXIT

port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }

# Two clusters: a scheduler with one executor on core 0, and a scheduler with two executors on
# cores 0 and 1.
start_cluster() {  # cores... ; sets URL
    local sp; sp=$(port)
    "$BIN" cluster scheduler --bind "127.0.0.1:$sp" >/dev/null 2>&1 & PIDS+=($!)
    wait_port "$sp"
    for core in "$@"; do
        local ep gp; ep=$(port); gp=$(port)
        taskset -c "$core" "$BIN" cluster executor --scheduler "127.0.0.1:$sp" --bind "127.0.0.1:$ep" \
            --grpc-port "$gp" --concurrency 1 >/dev/null 2>&1 & PIDS+=($!)
        wait_port "$ep"
    done
    sleep 2
    URL="df://127.0.0.1:$sp"
}
start_cluster 0; ONE=$URL
start_cluster 0 1; TWO=$URL

MOTO=$(port)
"$PY" -m moto.server -H 127.0.0.1 -p "$MOTO" >/dev/null 2>&1 & PIDS+=($!)
wait_port "$MOTO"
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
    AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO" AWS_EC2_METADATA_DISABLED=true
"$PY" -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$MOTO', region_name='us-east-1').create_bucket(Bucket='bench')"

declare -A T
variants=("one-executor" "two-executors" "local-dataset" "s3-dataset")
for r in $(seq "$RUNS"); do
    for v in "${variants[@]}"; do
        rm -rf "$OUT/ds"
        case "$v" in
            one-executor) args=(-o "$OUT/ds/" --cluster "$ONE" --threads 1) ;;
            two-executors) args=(-o "$OUT/ds/" --cluster "$TWO" --threads 1) ;;
            local-dataset) args=(-o "$OUT/ds/" --threads 1) ;;
            s3-dataset) args=(-o "s3://bench/run$r/" --threads 1) ;;
        esac
        s=$(date +%s.%N)
        "$BIN" convert "$DATA" --partition-by date "${args[@]}" -q
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc -l)
        T[$v]+="$t "
        printf 'run %d  %-14s %6.2f s\n' "$r" "$v" "$t"
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one=$(echo "${T[one-executor]}" | median)
two=$(echo "${T[two-executors]}" | median)
loc=$(echo "${T[local-dataset]}" | median)
s3=$(echo "${T[s3-dataset]}" | median)
echo "input: $MB MB in 8 files"
printf 'two executors / one executor (1 core each): %.2fx faster (one %.2f s, two %.2f s; goal >= 1.8x)\n' \
    "$(echo "$one / $two" | bc -l)" "$one" "$two"
printf 'per-core rate on the cluster: %.0f MB/s\n' "$(echo "$MB / $one" | bc -l)"
printf 's3:// dataset (moto) / local dataset: %.2fx the time (local %.2f s, s3 %.2f s)\n' \
    "$(echo "$s3 / $loc" | bc -l)" "$loc" "$s3"
