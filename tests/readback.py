#!/usr/bin/env python3
"""Read vpcflow's Parquet back with DuckDB and pyarrow and check it against a naive oracle.

  python tests/readback.py [PATH/TO/vpcflow]      (default: target/release/vpcflow)

Needs duckdb and pyarrow (`.ci/python-deps.sh` makes a venv that has them).
Inputs are generated into a temporary folder with ../shared/bench/genflows.py
when the shared folder sits beside the repo, else taken from testdata/.
For every input it checks, in both readers: the column names (the header's
names, '-' -> '_'), the column types (int32 / int64 / string, DuckDB INTEGER /
BIGINT / VARCHAR), the row count, every value against the text file split on
whitespace ('-' -> null), and per-column aggregates computed by DuckDB SQL.
Ends with the line `N passed, M failed`; exits 1 if anything failed.
"""
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENFLOWS = os.path.join(os.path.dirname(REPO), "shared", "bench", "genflows.py")

# ---- the spec the Parquet is checked against (not taken from the binary) ----
INT32 = {"version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path",
         "encryption_status"}
INT64 = {"packets", "bytes", "start", "end", "packets_lost_no_route", "packets_lost_blackhole",
         "packets_lost_mtu_exceeded", "packets_lost_ttl_expired"}
# Header spellings that name a registry field under another name.
ALIASES = {"pkt-src-service": "pkt-src-aws-service", "pkt-dst-service": "pkt-dst-aws-service"}
ARROW_TYPE = {"int32": "int32", "int64": "int64", "utf8": "string"}
DUCK_TYPE = {"int32": "INTEGER", "int64": "BIGINT", "utf8": "VARCHAR"}

DEFAULT_V2 = ("version account-id interface-id srcaddr dstaddr srcport dstport "
              "protocol packets bytes start end action log-status").split()
# genflows' `--format all` layout, used for the header-less --fields case.
ALL_FIELDS = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
              "packets bytes start end action log-status vpc-id subnet-id instance-id "
              "tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type "
              "sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction "
              "traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn "
              "ecs-container-instance-id ecs-container-id ecs-second-container-id "
              "ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id "
              "reject-reason").split()


def column_name(aws_name):
    return ALIASES.get(aws_name, aws_name).replace("-", "_")


def column_type(col):
    return "int32" if col in INT32 else "int64" if col in INT64 else "utf8"


# ---- tiny test harness ----
PASSED = 0
FAILED = 0


def check(name, fn, *args):
    """Run one check; an exception (assert or otherwise) counts as a failure."""
    global PASSED, FAILED
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - every error is a failed check
        FAILED += 1
        msg = str(e) if isinstance(e, AssertionError) and str(e) else traceback.format_exc(limit=3)
        print(f"FAIL {name}: {msg.strip()}")
    else:
        PASSED += 1
        print(f"ok   {name}")


# ---- the oracle: the text file parsed naively ----
class Oracle:
    def __init__(self, path, fields):
        """fields: the AWS names of the layout, or None to take them from the header line."""
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            lines = [ln for ln in f.read().split("\n") if ln.strip()]
        if fields is None:
            fields, lines = lines[0].split(), lines[1:]
        self.fields = fields
        self.columns = [column_name(n) for n in fields]
        self.types = [column_type(c) for c in self.columns]
        self.values = [[] for _ in self.columns]
        for i, ln in enumerate(lines):
            toks = ln.split()
            assert len(toks) == len(fields), f"{path}: line {i + 1} has {len(toks)} fields, layout {len(fields)}"
            for j, tok in enumerate(toks):
                if tok == "-":
                    v = None
                elif self.types[j] == "utf8":
                    v = tok
                else:
                    v = int(tok)
                self.values[j].append(v)
        self.rows = len(lines)


def run_convert(binary, src, out, extra):
    stats = out + ".stats.json"
    cmd = [binary, "convert", src, "-o", out, "--stats", stats, "-q"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:2000]}"
    assert os.path.getsize(out) > 0, "empty output"
    with open(stats) as f:
        return json.load(f)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y or type(x) is not type(y):
            return i, x, y
    return None


def run_case(binary, tmp, name, src, fields, extra):
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = os.path.join(tmp, "".join(c if c.isalnum() else "_" for c in name) + ".parquet")
    state = {}

    def convert():
        state["oracle"] = Oracle(src, fields)
        st = run_convert(binary, src, out, extra)
        o = state["oracle"]
        assert st.get("records") == o.rows, f"stats records {st.get('records')} != {o.rows} lines"
        assert st.get("rows_written") == o.rows, f"stats rows_written {st.get('rows_written')} != {o.rows}"
        assert st.get("rejected") == 0, f"stats rejected {st.get('rejected')}"
        state["ok"] = True

    check(f"{name}: convert", convert)
    if not state.get("ok"):
        return
    o = state["oracle"]
    t = pq.read_table(out)
    con = duckdb.connect()
    rel = "read_parquet('" + out.replace("'", "''") + "')"

    def pa_names():
        assert t.column_names == o.columns, f"\n  got      {t.column_names}\n  expected {o.columns}"

    def pa_types():
        bad = []
        for field in t.schema:
            want = ARROW_TYPE[column_type(field.name)]
            if str(field.type) != want:
                bad.append(f"{field.name}: {field.type} (want {want})")
        assert not bad, "; ".join(bad)
        assert all(f.nullable for f in t.schema), "non-nullable column"

    def pa_rows():
        assert t.num_rows == o.rows, f"{t.num_rows} rows, {o.rows} data lines"
        meta = pq.ParquetFile(out).metadata
        assert meta.num_rows == o.rows, f"footer says {meta.num_rows} rows"

    def pa_values():
        bad = []
        for j, col in enumerate(o.columns):
            if col not in t.column_names:
                bad.append(f"{col}: missing")
                continue
            got = t.column(col).to_pylist()
            if got != o.values[j]:
                d = first_diff(got, o.values[j])
                if d is None:
                    bad.append(f"{col}: {len(got)} values, expected {len(o.values[j])}")
                else:
                    i, x, y = d
                    bad.append(f"{col}: row {i}: got {x!r}, expected {y!r}")
        assert not bad, "; ".join(bad[:8])

    def duck_types():
        desc = con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
        names = [r[0] for r in desc]
        assert names == o.columns, f"\n  got      {names}\n  expected {o.columns}"
        bad = [f"{r[0]}: {r[1]} (want {DUCK_TYPE[column_type(r[0])]})"
               for r in desc if r[1] != DUCK_TYPE[column_type(r[0])]]
        assert not bad, "; ".join(bad)

    def duck_rows():
        n = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
        assert n == o.rows, f"count(*) = {n}, {o.rows} data lines"

    def duck_values():
        rows = con.execute(f"SELECT * FROM {rel}").fetchall()
        assert len(rows) == o.rows, f"{len(rows)} rows"
        expected = list(zip(*o.values)) if o.values else []
        for i, (got, want) in enumerate(zip(rows, expected)):
            if tuple(got) != tuple(want):
                cols = [f"{c}: {g!r} != {w!r}" for c, g, w in zip(o.columns, got, want) if g != w]
                raise AssertionError(f"row {i}: " + "; ".join(cols[:5]))

    def duck_aggregates():
        # per column: count(non-null), and sum/min/max for ints or count(distinct) for text
        exprs, expect = [], []
        for j, col in enumerate(o.columns):
            q = '"' + col + '"'
            vals = [v for v in o.values[j] if v is not None]
            exprs.append(f"count({q})")
            expect.append((f"count({col})", len(vals)))
            if o.types[j] == "utf8":
                exprs.append(f"count(DISTINCT {q})")
                expect.append((f"count(distinct {col})", len(set(vals))))
            else:
                exprs.append(f"sum({q})::HUGEINT")
                expect.append((f"sum({col})", sum(vals) if vals else None))
                exprs.append(f"min({q})")
                expect.append((f"min({col})", min(vals) if vals else None))
                exprs.append(f"max({q})")
                expect.append((f"max({col})", max(vals) if vals else None))
        got = con.execute(f"SELECT {', '.join(exprs)} FROM {rel}").fetchone()
        bad = [f"{label} = {g!r}, oracle {w!r}" for (label, w), g in zip(expect, got) if g != w]
        assert not bad, "; ".join(bad[:8])
        # the named examples, spelled out
        if "bytes" in o.columns:
            s = con.execute(f"SELECT sum(bytes) FROM {rel}").fetchone()[0]
            w = sum(v for v in o.values[o.columns.index("bytes")] if v is not None)
            assert s == w, f"sum(bytes) {s} != {w}"
        if "interface_id" in o.columns:
            s = con.execute(f"SELECT count(DISTINCT interface_id) FROM {rel}").fetchone()[0]
            w = len({v for v in o.values[o.columns.index("interface_id")] if v is not None})
            assert s == w, f"count(distinct interface_id) {s} != {w}"

    check(f"{name}: pyarrow column names", pa_names)
    check(f"{name}: pyarrow types", pa_types)
    check(f"{name}: pyarrow row count", pa_rows)
    check(f"{name}: pyarrow values vs oracle", pa_values)
    check(f"{name}: duckdb DESCRIBE names+types", duck_types)
    check(f"{name}: duckdb row count", duck_rows)
    check(f"{name}: duckdb values vs oracle", duck_values)
    check(f"{name}: duckdb aggregates vs oracle", duck_aggregates)
    con.close()


def check_partitioned(binary, tmp):
    """A dataset written with --partition-by date,account_id reads back through Hive partitioning
    in DuckDB and pyarrow: same rows as the naive oracle, partition values equal to the columns."""
    import datetime

    import duckdb
    import pyarrow.dataset as pads

    src = os.path.join(REPO, "testdata", "query", "logs", "vpc-all.log")
    out = os.path.join(tmp, "partitioned")
    stats = os.path.join(tmp, "partitioned.stats.json")
    cmd = [binary, "convert", src, "-o", out, "--partition-by", "date,account_id",
           "--stats", stats, "-q", "--commit-rows", "400", "--target-file-mb", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[:2000]
    oracle = Oracle(src, None)
    cols = oracle.columns
    want = [tuple(oracle.values[j][i] for j in range(len(cols))) for i in range(oracle.rows)]
    glob = os.path.join(out, "**", "*.parquet")
    con = duckdb.connect()
    sel = ", ".join(f'"{c}"' for c in cols)
    got = con.execute(
        f"SELECT {sel} FROM read_parquet('{glob}', hive_partitioning = true, "
        "hive_types_autocast = false)"
    ).fetchall()
    assert sorted(got, key=repr) == sorted(want, key=repr), "duckdb rows differ from the oracle"
    bad = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true, "
        "hive_types_autocast = false) WHERE strftime(to_timestamp(start), '%Y-%m-%d') <> date"
    ).fetchone()[0]
    assert bad == 0, f"{bad} rows in the wrong date partition"
    ds = pads.dataset(out, format="parquet", partitioning="hive",
                      exclude_invalid_files=True, ignore_prefixes=[".", "_"])
    assert ds.count_rows() == oracle.rows, (ds.count_rows(), oracle.rows)
    for frag in ds.get_fragments():
        part = os.path.relpath(os.path.dirname(frag.path), out)
        date_dir, acct_dir = part.split(os.sep)
        t = frag.to_table(columns=["start", "account_id"])
        for start, acct in zip(t.column("start").to_pylist(), t.column("account_id").to_pylist()):
            day = datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%d")
            assert date_dir == f"date={day}", (part, start)
            assert acct_dir == f"account_id={acct}", (part, acct)


def check_registry(binary):
    """The binary's own field list agrees with the type rules this script checks against."""
    p = subprocess.run([binary, "fields", "--json"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    reg = json.loads(p.stdout)
    bad = []
    for f in reg:
        if f["column"] != f["aws_name"].replace("-", "_"):
            bad.append(f"{f['aws_name']} -> column {f['column']}")
        if f["type"] != column_type(f["column"]):
            bad.append(f"{f['column']}: {f['type']} (want {column_type(f['column'])})")
    cols = {f["column"] for f in reg}
    for c in sorted(INT32 | INT64):
        if c not in cols:
            bad.append(f"{c} missing from registry")
    assert not bad, "; ".join(bad)


def genflows(tmp, name, *args):
    out = os.path.join(tmp, name + ".log")
    subprocess.run([sys.executable, GENFLOWS, *args, "--out", out], check=True, timeout=120)
    return out


def prepare_inputs(tmp, cases):
    """Fill cases with (name, input file, oracle layout or None for a header line, extra args)."""
    if os.path.exists(GENFLOWS):
        print(f"# inputs from {GENFLOWS}")
        cases.append(("default", genflows(tmp, "default", "--format", "default", "--records", "2000"), None, []))
        cases.append(("all", genflows(tmp, "all", "--format", "all", "--records", "2000", "--seed", "2"), None, []))
        cases.append(("tgw", genflows(tmp, "tgw", "--format", "tgw", "--records", "2000", "--seed", "3"), None, []))
        cases.append(("shuffled", genflows(tmp, "shuffled", "--format", "shuffled", "--records", "2000", "--seed", "7"), None, []))
        nh_all = genflows(tmp, "all-noheader", "--format", "all", "--records", "2000", "--seed", "4", "--no-header")
        layout = " ".join("${%s}" % f for f in ALL_FIELDS)
        cases.append(("all no header --fields", nh_all, ALL_FIELDS, ["--fields", layout]))
        nh_def = genflows(tmp, "default-noheader", "--format", "default", "--records", "2000", "--seed", "5", "--no-header")
        cases.append(("default no header (auto v2)", nh_def, DEFAULT_V2, []))
        # several row groups written by two parser threads: order and values must survive
        cases.append(("all, row groups of 300, 2 threads", os.path.join(tmp, "all.log"), None,
                      ["--row-group-rows", "300", "--threads", "2"]))
        gz = genflows(tmp, "tgw-gz", "--format", "tgw", "--records", "2000", "--seed", "6", "--gzip")
        os.rename(gz, gz + ".gz")
        cases.append(("tgw gzip", gz + ".gz", None, []))
    else:
        # testdata/default.log (a default-format file with a header); the other
        # names are the same kind of file, used if default.log has been renamed.
        names = [n for n in ("default.log", "sample-default.log", "aws-default.log")
                 if os.path.exists(os.path.join(REPO, "testdata", n))]
        assert names, f"{GENFLOWS} not found and testdata/default.log missing"
        src = os.path.join(REPO, "testdata", names[0])
        print(f"# {GENFLOWS} not found: inputs from {src}")
        with open(src, encoding="utf-8") as f:
            header, body = f.read().split("\n", 1)
        assert header.split() == DEFAULT_V2, f"{src}: first line is not the default header: {header!r}"
        cases.append(("testdata/" + names[0], src, None, []))
        # the same records without their header line
        nh = os.path.join(tmp, "default-noheader.log")
        with open(nh, "w", encoding="utf-8") as f:
            f.write(body)
        cases.append(("testdata no header --fields", nh, DEFAULT_V2, ["--fields", " ".join(DEFAULT_V2)]))
        cases.append(("testdata no header (auto v2)", nh, DEFAULT_V2, []))
    # a header naming a field the registry doesn't know: kept as a text column
    unk = os.path.join(tmp, "unknown.log")
    with open(unk, "w") as f:
        f.write("version my-field srcport bytes\n2 abc 443 1000\n2 - - -\n5 x-y 0 9223372036854775807\n")
    cases.append(("unknown header field", unk, None, []))


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/vpcflow"
    if not os.path.exists(binary) and os.path.exists(os.path.join(REPO, binary)):
        binary = os.path.join(REPO, binary)
    binary = os.path.abspath(binary)
    try:
        import duckdb
        import pyarrow
        print(f"# duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, binary {binary}")
    except ImportError as e:
        print(f"FAIL imports: {e} (run .ci/python-deps.sh and use its python)")
        print("0 passed, 1 failed")
        sys.exit(1)

    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="vpcflow-readback-")
    try:
        check("fields --json agrees with the type rules", check_registry, binary)
        cases = []  # (name, input file, layout for the oracle or None for a header, extra args)
        check("prepare inputs", prepare_inputs, tmp, cases)
        for name, src, fields, extra in cases:
            run_case(binary, tmp, name, src, fields, extra)
        check("partitioned dataset read through Hive partitioning (duckdb, pyarrow)",
              check_partitioned, binary, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {time.time() - t0:.1f} s")
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
