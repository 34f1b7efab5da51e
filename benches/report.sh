#!/usr/bin/env bash
# Time `vpcflow report` over the 5M-row Parquet of benches/query.sh against running the same
# queries (taken from the report's own SQL blocks) with `vpcflow query` in one process, side by
# side: the report should cost little more than its queries.
#
#   bash benches/report.sh            # needs /tmp/vpcflow-bench/default-5m.vpcflow.parquet
# Environment: BENCH_DATA, VPCFLOW, RUNS (default 3).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-3}"
PQ="$DATA/default-5m.vpcflow.parquet"
[ -f "$PQ" ] || { echo "report.sh: no $PQ (run benches/query.sh first)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$BIN" report "$PQ" -o "$WORK/r.html" -q
# The report's SQL, unescaped, as --sql arguments.
mapfile -d '' QUERIES < <(python3 - "$WORK/r.html" <<'PY'
import html, re, sys
text = open(sys.argv[1]).read()
sqls = [html.unescape(m) for m in re.findall(r"<summary>SQL</summary><pre>(.*?)</pre>", text, re.S)]
# the headline numbers' query is not shown in a section; run an equivalent one too
sqls.insert(0, "SELECT COUNT(*), SUM(bytes), SUM(packets), MIN(start), MAX(\"end\") FROM flows")
sys.stdout.write("\0".join(sqls) + "\0")
PY
)
ARGS=()
for q in "${QUERIES[@]}"; do ARGS+=("--sql=$q"); done
echo "report.sh: ${#QUERIES[@]} queries" >&2
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for r in $(seq 1 "$RUNS"); do
    echo "report $(ms "$BIN" report "$PQ" -o "$WORK/r.html" -q)"
    echo "queries $(ms "$BIN" query "$PQ" "${ARGS[@]}" --format csv -q)"
done | python3 -c '
import statistics, sys
t = {}
for l in sys.stdin:
    k, v = l.split(); t.setdefault(k, []).append(int(v) / 1000)
r, q = statistics.median(t["report"]), statistics.median(t["queries"])
n = len(t["report"])
print(f"report {r:.2f} s, its queries {q:.2f} s (medians of {n}): ratio {r / q:.2f}")
'
