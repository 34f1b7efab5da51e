#!/usr/bin/env python3
"""Check `vpcflow query` against DuckDB, query by query, over the canned queries in queries/.

  python tests/query_oracle.py [PATH/TO/vpcflow] [--no-snapshots] [--duckdb-only] [--only NAME ...]

Needs duckdb (`.ci/python-deps.sh` makes a venv that has it). The binary defaults to
target/release/vpcflow.

For every queries/NAME.sql it:
  * lints the header: line 1 is `-- DESCRIPTION`, then `-- param: NAME TYPE DEFAULT DESCRIPTION`
    and `-- note: ...` lines; every `${NAME}` in the SQL is a declared param and every param is used;
  * fills in the params (defaults, and TEST_VALUES below for `required` ones) the way the tool does
    (string -> 'quoted', int -> 42, int_list -> 22, 3389, string_list -> 'a', 'b') and runs the SQL
    in DuckDB over the Parquet that `vpcflow convert` made of testdata/query/*.log (a view `flows`
    with start_time/end_time added); the result must not be empty;
  * runs `vpcflow query PARQUET --name NAME --param K=V ... --format json` and the same over the
    three raw .log files, passing every param explicitly, and compares both with DuckDB row by row:
    same column names in order, same row count, ints exact, floats to 1e-9 (relative or absolute),
    timestamps normalised ('T' or ' ', trailing zero fraction, UTC suffix);
  * checks that testdata/query/expected/NAME.csv exists (skipped with --no-snapshots).

vpcflow's is_private_ip is a Python function here, written from its definition with the ipaddress
module (DuckDB calls it through a table of every address in the flows), and the columns --eni-inventory adds for the
record's interface (eni_*) come from testdata/query/inventory.json joined on interface_id; ours
runs with --eni-inventory testdata/query/inventory.json.

--duckdb-only runs just the DuckDB half and prints each query's row count. If the binary is not
there it loads the .log files straight into DuckDB instead of converting them (typed per the
column spec below), so the queries can be checked before `vpcflow query` exists.

Ends with the line `N passed, M failed`; exits 1 if anything failed.
"""
import argparse
import datetime
import decimal
import ipaddress
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import traceback

import duckdb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUERIES = os.path.join(REPO, "queries")
DATA = os.path.join(REPO, "testdata", "query")
EXPECTED = os.path.join(DATA, "expected")
LOGS = [os.path.join(DATA, "logs", f) for f in ("vpc-all.log", "tgw.log", "hot.log")]
INVENTORY = os.path.join(DATA, "inventory.json")

# Test values for params whose default is `required`: testdata/query/params.tsv, shared with
# tests/query.rs (query<TAB>name=value).
def load_test_values():
    values = {}
    with open(os.path.join(DATA, "params.tsv")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            query, kv = line.rstrip("\n").split("\t", 1)
            k, v = kv.split("=", 1)
            values[(query, k)] = v
    return values


TEST_VALUES = load_test_values()

# Column spec, only used by --duckdb-only when there is no binary to convert with.
INT32 = {"version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path",
         "encryption_status"}
INT64 = {"packets", "bytes", "start", "end", "packets_lost_no_route", "packets_lost_blackhole",
         "packets_lost_mtu_exceeded", "packets_lost_ttl_expired"}
ALIASES = {"pkt_src_service": "pkt_src_aws_service", "pkt_dst_service": "pkt_dst_aws_service"}

PARAM_TYPES = ("int", "string", "int_list", "string_list")
PARAM_RE = re.compile(r"^-- param: ([A-Za-z_][A-Za-z0-9_]*) (\S+) (\S+)(?: (.*))?$")
PLACEHOLDER_RE = re.compile(r"\$\{([^}]*)\}")
TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00(:?00)?| UTC)?$")

PASSED = 0
FAILED = 0


def ok(what):
    global PASSED
    PASSED += 1
    print(f"ok    {what}")


def fail(what, detail=""):
    global FAILED
    FAILED += 1
    print(f"FAIL  {what}")
    for line in str(detail).rstrip().splitlines():
        print(f"      {line}")


# ---- the header ----
class Query:
    def __init__(self, name, path):
        self.name = name
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.text = f.read()
        self.description = None
        self.params = []  # (name, type, default or None when required, description)
        self.notes = []
        self.sql = ""
        self.problems = []
        self._parse()

    def _parse(self):
        lines = self.text.splitlines()
        if not lines or not lines[0].startswith("-- ") or not lines[0][3:].strip():
            self.problems.append("line 1 is not a `-- DESCRIPTION` line")
        else:
            self.description = lines[0][3:].strip()
            if self.description.startswith(("param:", "note:")):
                self.problems.append("line 1 is a param/note line, not a description")
        i = 1
        while i < len(lines) and lines[i].startswith("--"):
            line = lines[i]
            if line.startswith("-- param:"):
                m = PARAM_RE.match(line)
                if not m:
                    self.problems.append(f"bad param line: {line!r}")
                else:
                    pname, ptype, default, desc = m.groups()
                    if ptype not in PARAM_TYPES:
                        self.problems.append(f"param {pname}: unknown type {ptype!r}")
                    if any(p[0] == pname for p in self.params):
                        self.problems.append(f"param {pname} declared twice")
                    if not desc:
                        self.problems.append(f"param {pname} has no description")
                    self.params.append((pname, ptype, None if default == "required" else default,
                                        desc or ""))
            elif line.startswith("-- note:"):
                self.notes.append(line[len("-- note:"):].strip())
            else:
                self.problems.append(f"header line is neither param nor note: {line!r}")
            i += 1
        self.sql = "\n".join(lines[i:]).strip()
        if not self.sql:
            self.problems.append("no SQL after the header")
        used = set(PLACEHOLDER_RE.findall(self.sql))
        declared = {p[0] for p in self.params}
        for u in sorted(used - declared):
            self.problems.append(f"${{{u}}} is used but not declared")
        for d in sorted(declared - used):
            self.problems.append(f"param {d} is declared but not used")
        body = self.sql.rstrip().rstrip(";")
        if ";" in re.sub(r"'(?:[^']|'')*'", "''", body):
            self.problems.append("more than one statement (a ';' inside the SQL)")

    def values(self):
        """Text value of every param as passed on the command line (defaults + test values)."""
        out = []
        for pname, ptype, default, _ in self.params:
            if default is not None:
                value = default
            elif (self.name, pname) in TEST_VALUES:
                value = TEST_VALUES[(self.name, pname)]
            else:
                raise RuntimeError(f"required param {pname!r} has no test value in testdata/query/params.tsv")
            out.append((pname, ptype, value))
        return out


def literal(ptype, value):
    """The SQL text the tool puts in place of ${NAME}."""
    def quote(s):
        return "'" + s.replace("'", "''") + "'"

    def as_int(s):
        s = s.strip()
        if not re.fullmatch(r"-?\d+", s):
            raise ValueError(f"not an integer: {s!r}")
        return str(int(s))

    if ptype == "int":
        return as_int(value)
    if ptype == "string":
        return quote(value)
    items = [v for v in value.split(",") if v.strip()]
    if ptype in ("int_list", "string_list") and not items:
        raise ValueError("an empty list")
    if ptype == "int_list":
        return ", ".join(as_int(v) for v in items)
    if ptype == "string_list":
        return ", ".join(quote(v.strip()) for v in items)
    raise ValueError(f"unknown param type {ptype!r}")


def substitute(query, values):
    lits = {pname: literal(ptype, value) for pname, ptype, value in values}
    return PLACEHOLDER_RE.sub(lambda m: lits[m.group(1)], query.sql)


# ---- vpcflow's SQL functions and attribution columns, for DuckDB ----
PRIVATE_NETS = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10")]


def _addr(text):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def is_private_ip(text):
    a = _addr(text)
    if a is None:
        return None
    return any(a.version == n.version and a in n for n in PRIVATE_NETS)


ENI_COLUMNS = ["eni_type", "eni_description", "eni_name", "eni_instance_id",
               "eni_security_groups", "eni_subnet_id", "eni_vpc_id"]


def add_functions(con, table):
    """is_private_ip(addr) for every address in `table` (DuckDB's Python functions need numpy)."""
    addrs = con.execute(f"SELECT srcaddr FROM {table} WHERE srcaddr IS NOT NULL UNION "
                        f"SELECT dstaddr FROM {table} WHERE dstaddr IS NOT NULL").fetchall()
    con.execute("CREATE TABLE private_addr (addr VARCHAR PRIMARY KEY, private BOOLEAN)")
    con.executemany("INSERT INTO private_addr VALUES (?, ?)",
                    [(a, is_private_ip(a)) for (a,) in addrs])
    con.execute("CREATE MACRO is_private_ip(a) AS (SELECT private FROM private_addr WHERE addr = a)")


def add_inventory(con):
    """A table `eni` of inventory.json's interfaces by interface_id."""
    with open(INVENTORY) as f:
        nics = json.load(f)["NetworkInterfaces"]
    con.execute("CREATE TABLE eni (eni_interface_id VARCHAR, eni_type VARCHAR, eni_description VARCHAR, "
                "eni_name VARCHAR, eni_instance_id VARCHAR, eni_security_groups VARCHAR[], "
                "eni_subnet_id VARCHAR, eni_vpc_id VARCHAR)")
    for n in nics:
        name = next((t["Value"] for t in n.get("TagSet", []) if t["Key"] == "Name"), None)
        con.execute("INSERT INTO eni VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            n["NetworkInterfaceId"], n.get("InterfaceType"), n.get("Description") or None, name,
            (n.get("Attachment") or {}).get("InstanceId"),
            [g["GroupId"] for g in n.get("Groups", [])], n.get("SubnetId"), n.get("VpcId")])


# ---- DuckDB ----
def duck_from_parquet(parquet):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    add_inventory(con)
    p = parquet.replace("'", "''")
    add_functions(con, f"read_parquet('{p}')")
    con.execute(f"""CREATE VIEW flows AS SELECT f.*,
        CAST(to_timestamp(f.start) AS TIMESTAMP) AS start_time,
        CAST(to_timestamp(f."end") AS TIMESTAMP) AS end_time,
        {", ".join("e." + c for c in ENI_COLUMNS)}
        FROM read_parquet('{p}') f LEFT JOIN eni e ON e.eni_interface_id = f.interface_id""")
    return con


def duck_from_logs(logs):
    """The three layouts typed per the spec and unioned by name, without the tool."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    selects = []
    for n, path in enumerate(logs):
        src = (f"read_csv('{path}', delim=' ', header=true, nullstr='-', all_varchar=true, "
               f"auto_detect=true)")
        cols = con.execute(f"SELECT * FROM {src} LIMIT 0").description
        exprs = []
        for (raw, *_rest) in cols:
            col = raw.replace("-", "_")
            col = ALIASES.get(col, col)
            typ = "INTEGER" if col in INT32 else "BIGINT" if col in INT64 else "VARCHAR"
            exprs.append(f'CAST("{raw}" AS {typ}) AS "{col}"')
        con.execute(f"CREATE TABLE part{n} AS SELECT {', '.join(exprs)} FROM {src}")
        selects.append(f"SELECT * FROM part{n}")
    con.execute("CREATE TABLE flows_raw AS " + " UNION ALL BY NAME ".join(selects))
    add_inventory(con)
    add_functions(con, "flows_raw")
    con.execute(f"""CREATE VIEW flows AS SELECT f.*,
        CAST(to_timestamp(f.start) AS TIMESTAMP) AS start_time,
        CAST(to_timestamp(f."end") AS TIMESTAMP) AS end_time,
        {", ".join("e." + c for c in ENI_COLUMNS)}
        FROM flows_raw f LEFT JOIN eni e ON e.eni_interface_id = f.interface_id""")
    return con


def run_duck(con, sql):
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return cols, [list(r) for r in cur.fetchall()]


# ---- ours ----
def needs_inventory(query):
    """Whether the query names a column that --eni-inventory adds."""
    return re.search(r"\beni_[a-z_]+", query.sql) is not None


def run_ours(binary, inputs, query, values, inventory=True):
    """Our answer; with `inventory`, the run has --eni-inventory testdata/query/inventory.json."""
    cmd = [binary, "query", *inputs, "--name", query.name]
    if inventory:
        cmd += ["--eni-inventory", INVENTORY]
    for pname, _ptype, value in values:
        cmd += ["--param", f"{pname}={value}"]
    cmd += ["--format", "json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {' '.join(cmd)}\n{proc.stderr.strip()}")
    try:
        doc = json.loads(proc.stdout, object_pairs_hook=lambda pairs: pairs)
    except ValueError as e:
        raise RuntimeError(f"output is not JSON ({e}): {proc.stdout[:500]!r}")
    if not isinstance(doc, list):
        raise RuntimeError(f"output is not a JSON array: {proc.stdout[:200]!r}")
    cols = None
    rows = []
    for i, obj in enumerate(doc):
        if not isinstance(obj, list):  # object_pairs_hook turns objects into lists of pairs
            raise RuntimeError(f"row {i} is not a JSON object: {obj!r}")
        keys = [k for k, _ in obj]
        if len(set(keys)) != len(keys):
            raise RuntimeError(f"row {i} has duplicate keys: {keys}")
        if cols is None:
            cols = keys
        elif keys != cols:
            raise RuntimeError(f"row {i} keys {keys} differ from row 0 keys {cols}")
        rows.append([v for _, v in obj])
    return cols, rows


# ---- comparison ----
def norm_ts(s):
    m = TS_RE.match(s)
    if not m:
        return None
    frac = (m.group(3) or "").rstrip("0")
    if frac == ".":
        frac = ""
    return f"{m.group(1)}T{m.group(2)}{frac}"


def norm(v):
    """A comparable form: ('int', n) / ('float', x) / ('str', s) / ('ts', s) / ('null',).
    DuckDB's DECIMAL counts as a float; HUGEINT (its SUM of BIGINT) comes back as a Python int."""
    if v is None:
        return ("null",)
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, int):
        return ("int", v)
    if isinstance(v, (float, decimal.Decimal)):
        return ("float", float(v))
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return ("ts", norm_ts(v.isoformat()))
    if isinstance(v, datetime.date):
        return ("str", v.isoformat())
    if isinstance(v, str):
        t = norm_ts(v)
        return ("ts", t) if t is not None else ("str", v)
    return ("other", repr(v))


def same(a, b):
    na, nb = norm(a), norm(b)
    if na[0] in ("int", "float") and nb[0] in ("int", "float"):
        if na[0] == "int":  # an integer column must come back as an integer, exactly
            return nb[0] == "int" and na[1] == nb[1]
        x, y = float(na[1]), float(nb[1])
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    return na == nb


def compare(label, want_cols, want_rows, got_cols, got_rows):
    """None when equal, else a description of the first difference."""
    if got_cols is None:  # an empty JSON array carries no column names
        if want_rows:
            return f"{label}: no rows, DuckDB has {len(want_rows)}"
        return None
    if list(want_cols) != list(got_cols):
        return f"{label}: columns differ\n  duckdb: {want_cols}\n  ours:   {got_cols}"
    if len(want_rows) != len(got_rows):
        detail = f"{label}: {len(got_rows)} rows, DuckDB has {len(want_rows)}"
        for i, (w, g) in enumerate(zip(want_rows, got_rows)):
            if not all(same(a, b) for a, b in zip(w, g)):
                detail += f"\n  first difference at row {i}:\n  duckdb: {w}\n  ours:   {g}"
                break
        return detail
    for i, (w, g) in enumerate(zip(want_rows, got_rows)):
        bad = [c for c, a, b in zip(want_cols, w, g) if not same(a, b)]
        if bad:
            return (f"{label}: row {i} differs in {', '.join(bad)}\n"
                    f"  duckdb: {dict(zip(want_cols, w))}\n  ours:   {dict(zip(got_cols, g))}")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(REPO, "target", "release", "vpcflow"))
    ap.add_argument("--no-snapshots", action="store_true",
                    help="do not require testdata/query/expected/NAME.csv")
    ap.add_argument("--duckdb-only", action="store_true",
                    help="only run the queries in DuckDB and print row counts")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these queries")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    have_binary = os.path.isfile(binary) and os.access(binary, os.X_OK)

    names = sorted(f[:-4] for f in os.listdir(QUERIES) if f.endswith(".sql"))
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            sys.exit(f"no such queries: {', '.join(unknown)}")
        names = [n for n in names if n in args.only]
    if not names:
        fail("queries/", "no .sql files")

    with tempfile.TemporaryDirectory(prefix="vpcflow-query-oracle-") as tmp:
        parquet = os.path.join(tmp, "flows.parquet")
        if have_binary:
            cmd = [binary, "convert", *LOGS, "-o", parquet, "-q"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0 or not os.path.exists(parquet):
                fail("convert", f"exit {proc.returncode}: {' '.join(cmd)}\n{proc.stderr}")
                print(f"{PASSED} passed, {FAILED} failed")
                sys.exit(1)
            con = duck_from_parquet(parquet)
            print(f"# DuckDB over {' '.join(os.path.relpath(p, REPO) for p in LOGS)} "
                  f"converted by {os.path.relpath(binary, REPO)}")
        elif args.duckdb_only:
            con = duck_from_logs(LOGS)
            print(f"# no binary at {binary}: DuckDB over the .log files loaded by DuckDB itself")
        else:
            sys.exit(f"no vpcflow binary at {binary} (build it, or use --duckdb-only)")

        for name in names:
            q = Query(name, os.path.join(QUERIES, name + ".sql"))
            if q.problems:
                fail(f"{name}: header", "\n".join(q.problems))
                continue
            ok(f"{name}: header")

            if not args.duckdb_only and not args.no_snapshots:
                snap = os.path.join(EXPECTED, name + ".csv")
                if os.path.isfile(snap):
                    ok(f"{name}: snapshot")
                else:
                    fail(f"{name}: snapshot", f"missing {os.path.relpath(snap, REPO)}")

            try:
                values = q.values()
                sql = substitute(q, values)
                want_cols, want_rows = run_duck(con, sql)
            except Exception as e:  # noqa: BLE001 - report and carry on with the next query
                fail(f"{name}: duckdb", f"{type(e).__name__}: {e}")
                continue
            dup = sorted({c for c in want_cols if want_cols.count(c) > 1})
            if dup:
                fail(f"{name}: duckdb", f"duplicate column names {dup} (JSON objects cannot hold them)")
                continue
            if not want_rows:
                fail(f"{name}: duckdb", "no rows on the test set")
                continue
            ok(f"{name}: duckdb, {len(want_rows)} rows x {len(want_cols)} columns")
            if args.duckdb_only:
                continue

            for label, inputs in (("parquet", [parquet]), ("raw logs", LOGS)):
                try:
                    got_cols, got_rows = run_ours(binary, inputs, q, values)
                    diff = compare(f"{name} ({label})", want_cols, want_rows, got_cols, got_rows)
                except Exception as e:  # noqa: BLE001
                    diff = f"{type(e).__name__}: {e}"
                    if not isinstance(e, (RuntimeError, subprocess.TimeoutExpired)):
                        diff += "\n" + traceback.format_exc()
                if diff:
                    fail(f"{name}: ours over {label} vs duckdb", diff)
                else:
                    ok(f"{name}: ours over {label} = duckdb")

    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
