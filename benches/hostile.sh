#!/usr/bin/env bash
# Peak memory and time of `vpcflow convert` on hostile inputs, next to an ordinary one: lines
# far longer than --max-line-bytes must be refused without being held, so the peak RSS stays at
# the ordinary input's level whatever the bytes.
#
#   bash benches/hostile.sh
#
# Inputs (made in BENCH_DATA, default /tmp/vpcflow-bench, if missing):
#   ordinary.log       1M default-format records (../shared/bench/genflows.py), the baseline
#   bomb-1g.log.gz     a ~1 MB gzip object inflating to one 1 GiB line between two records
#   noeol-1g.bin       1 GiB of pseudo-random bytes without a single line feed (memory-mapped)
#   binary-256m.bin    256 MiB of pseudo-random bytes (line feeds where they fall)
#   cloudwatch-big.json  a CloudWatch Logs payload that never closes (256 MiB)
# Environment: VPCFLOW (binary, default target/release/vpcflow), THREADS (default 2).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
THREADS="${THREADS:-2}"
[ -x "$BIN" ] || { echo "hostile.sh: no binary at $BIN" >&2; exit 1; }
/usr/bin/time -f %M true 2>/dev/null || { echo "hostile.sh: needs GNU time (/usr/bin/time)" >&2; exit 1; }
mkdir -p "$DATA"

[ -f "$DATA/ordinary.log" ] ||
    python3 "$REPO/../shared/bench/genflows.py" --format default --records 1000000 --seed 3 --out "$DATA/ordinary.log"
python3 - "$DATA" <<'PY'
import gzip, os, random, sys
d = sys.argv[1]
rec = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n"
p = os.path.join(d, "bomb-1g.log.gz")
if not os.path.exists(p):
    with gzip.open(p, "wb", compresslevel=9) as f:
        f.write(rec)
        block = b"0" * (1 << 20)
        for _ in range(1024):
            f.write(block)
        f.write(b"\n" + rec)
def noise(path, size, newlines):
    if os.path.exists(path):
        return
    r = random.Random(7)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            b = bytearray(r.randbytes(n))
            if not newlines:
                b = b.replace(b"\n", b"?")
            b[0:1] = b"G"
            f.write(b)
            left -= n
noise(os.path.join(d, "noeol-1g.bin"), 1 << 30, False)
noise(os.path.join(d, "binary-256m.bin"), 256 << 20, True)
p = os.path.join(d, "cloudwatch-big.json")
if not os.path.exists(p):
    with open(p, "wb") as f:
        f.write(b'{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[')
        ev = b'{"id":"1","timestamp":1,"message":"' + rec.strip() + b'"},'
        for _ in range((256 << 20) // len(ev)):
            f.write(ev)
PY

printf '%-22s %10s %8s %8s %8s %10s %9s\n' input "size MB" wall_s user_s sys_s "peak MB" refused
for f in ordinary.log bomb-1g.log.gz noeol-1g.bin binary-256m.bin cloudwatch-big.json; do
    out=$(mktemp -d)
    /usr/bin/time -f '%e %U %S %M' -o "$out/time" \
        "$BIN" convert "$DATA/$f" -o "$out/o.parquet" --stats "$out/s.json" -q --show-rejects 0 \
        --threads "$THREADS" >/dev/null 2>"$out/err" || true
    read -r wall user sys kb <"$out/time"
    refused=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rejected"])' "$out/s.json" 2>/dev/null || echo "?")
    printf '%-22s %10.0f %8s %8s %8s %10.0f %9s\n' "$f" "$(echo "$(stat -c %s "$DATA/$f") / 1000000" | bc -l)" \
        "$wall" "$user" "$sys" "$(echo "$kb / 1024" | bc -l)" "$refused"
    rm -rf "$out"
done
