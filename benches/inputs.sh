#!/usr/bin/env bash
# Reading delivered archives: a directory of .log.gz objects in AWS's layout (≥ 500 MB
# uncompressed), converted to Parquet by vpcflow, against `zcat | wc -l` on the same files as the
# floor (decompression alone, one core), and the same objects read from an S3 API server (moto)
# on 127.0.0.1. MB/s are given for compressed and uncompressed bytes; all timings of one run.
#
#   bash benches/inputs.sh
#
# Environment:
#   BENCH_DATA  folder for generated inputs (default /tmp/vpcflow-bench); default-5m.log is made
#               with ../shared/bench/genflows.py if missing, then cut into FILES gzip objects
#   FILES       number of objects (default 48)
#   RUNS        timed runs of each (default 3; the median is shown)
#   THREADS     vpcflow --threads (default 2)
#   S3          1 (default) also times reads from moto's S3 server, 0 skips
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(dirname "$REPO")/shared/bench"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
FILES="${FILES:-48}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
S3="${S3:-1}"
PY="$(bash "$REPO/.ci/python-deps.sh" | tail -n1)"

mkdir -p "$DATA"
SRC="$DATA/default-5m.log"
if [ ! -f "$SRC" ]; then
    echo "generating $SRC" >&2
    python3 "$SHARED/genflows.py" --format default --records 5000000 --out "$SRC"
fi
TREE="$DATA/gz-tree-$FILES"
if [ ! -f "$TREE/.done" ]; then
    echo "cutting $SRC into $FILES gzip objects under $TREE" >&2
    rm -rf "$TREE"
    "$PY" - "$SRC" "$TREE" "$FILES" <<'PY'
import gzip, os, sys
src, tree, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(src, "rb").read().split(b"\n")
header, recs = lines[0], [l for l in lines[1:] if l]
per = -(-len(recs) // files)
for i in range(files):
    day, hour = divmod(i, 24)
    d = os.path.join(tree, "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11", f"{day + 1:02d}")
    os.makedirs(d, exist_ok=True)
    name = f"123456789012_vpcflowlogs_us-east-1_fl-0abc_202611{day + 1:02d}T{hour:02d}00Z_{i:04x}.log.gz"
    body = b"\n".join([header] + recs[i * per:(i + 1) * per]) + b"\n"
    with open(os.path.join(d, name), "wb") as f:
        f.write(gzip.compress(body, compresslevel=6))
open(os.path.join(tree, ".done"), "w").write("")
PY
fi

mapfile -t GZ < <(find "$TREE" -name '*.log.gz' | sort)
COMP=$(cat "${GZ[@]}" | wc -c)
UNCOMP=$(zcat "${GZ[@]}" | wc -c)
echo "inputs: ${#GZ[@]} objects, $((COMP / 1000000)) MB gzip, $((UNCOMP / 1000000)) MB uncompressed"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
time_cmd() { # label, command...
    local label=$1; shift
    local t=()
    for _ in $(seq "$RUNS"); do
        local s e
        s=$(now); "$@" >/dev/null 2>&1; e=$(now)
        t+=("$(echo "$e - $s" | bc -l)")
    done
    local m
    m=$(printf '%s\n' "${t[@]}" | median)
    printf '%-44s %7.2f s  %7.0f MB/s gzip  %7.0f MB/s uncompressed\n' "$label" "$m" \
        "$(echo "$COMP / 1000000 / $m" | bc -l)" "$(echo "$UNCOMP / 1000000 / $m" | bc -l)"
    echo "$m"
}

OUT="$DATA/inputs-out.parquet"
results=()
run() { local r; r=$(time_cmd "$@" | tee /dev/stderr | tail -n1); results+=("$r"); }
run "zcat | wc -l (floor, 1 core)" bash -c "zcat ${GZ[*]} | wc -l"
run "vpcflow convert tree -> Parquet" "$BIN" convert "$TREE" --include '*.log.gz' -o "$OUT" -q --threads "$THREADS"
run "vpcflow convert tree -> /dev/null (ndjson)" "$BIN" convert "$TREE" --include '*.log.gz' --to ndjson -o /dev/null -q --threads "$THREADS"
echo "ratio vpcflow Parquet / zcat floor: $(echo "${results[1]} / ${results[0]}" | bc -l | cut -c1-5)"

if [ "$S3" = 1 ]; then
    PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" -m moto.server -H 127.0.0.1 -p "$PORT" </dev/null >/dev/null 2>&1 &
    MOTO=$!
    trap 'kill $MOTO 2>/dev/null || true' EXIT
    for _ in $(seq 100); do
        (echo > /dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
        sleep 0.2
    done
    "$PY" - "$PORT" "$TREE" <<'PY'
import os, sys, boto3
port, tree = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
s3.create_bucket(Bucket="flows")
for root, _, files in os.walk(tree):
    for f in files:
        if f.endswith(".log.gz"):
            p = os.path.join(root, f)
            s3.upload_file(p, "flows", os.path.relpath(p, tree))
PY
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
    run "vpcflow convert s3:// (moto) -> Parquet" "$BIN" convert s3://flows/AWSLogs/ --endpoint-url "http://127.0.0.1:$PORT" -o "$OUT" -q --threads "$THREADS"
    echo "ratio S3 / local tree: $(echo "${results[3]} / ${results[1]}" | bc -l | cut -c1-5)"
fi
rm -f "$OUT"
