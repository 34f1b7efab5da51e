#!/usr/bin/env python3
"""Read a Hive-partitioned dataset of `vpcflow convert --partition-by` with Spark, and run the canned
queries, unchanged, in Spark SQL against `vpcflow query` over the same dataset.

  python tests/spark_dataset.py [PATH/TO/vpcflow] [--only NAME ...] [--keep DIR] [--timeout SECONDS]

Needs pyspark and pyarrow (`.ci/python-deps.sh` makes a venv that has them; pyspark wants a Java 17+
runtime on PATH) and duckdb (tests/query_oracle.py, whose header parser, parameter binding and value
comparison this borrows, imports it). The binary defaults to target/release/vpcflow.

Spark needs spark.sql.ansi.enabled=true and spark.sql.ansi.doubleQuotedIdentifiers=true to run the
canned SQL as written: by default Spark reads "end" as the string literal 'end', so MAX("end") is
silently 'end' (checked below) and SUM("end" - start) fails. With both set, the files run as is.

What it does:
  * converts testdata/query/logs/*.log (query_oracle.py's test set: all 40 v2-v8 fields, Transit
    Gateway, and hot.log, a default-layout file without `region`) with `--partition-by
    date,account_id,region --commit-rows 500` (hot.log's rows land in
    `region=__HIVE_DEFAULT_PARTITION__`);
  * checks every part file's layout and schema with pyarrow against AWS's types (int32 / int64 /
    string, as tests/readback.py), and that Spark's own reading of the footers gives the same;
  * starts Spark in local mode (local[2], 2 shuffle partitions, no UI, every socket on 127.0.0.1,
    session time zone UTC, the two ANSI settings above) and reads the dataset with the column types
    declared as a Glue/Athena table declares them, partition type inference off (so `date`,
    `account_id` and `region` are strings, as Athena/Glue declare partitions);
  * checks the rows: the count equals `--stats`' rows_written, the rows through the Hive layout
    (account_id/region from the directory names) equal the files read alone, every `date=` is the
    UTC day of `start`, and AWS's Athena DDL for Parquet flow logs (`protocol bigint` over our
    int32) reads the same values;
  * makes the view `flows` (the dataset plus start_time/end_time = timestamp_seconds(start/end), as
    vpcflow's own `flows` view) and checks that MAX("end") is the largest `end`, and the string 'end'
    with spark.sql.ansi.doubleQuotedIdentifiers=false;
  * runs every canned query (`vpcflow query --list`, which must name the queries/*.sql files) in
    Spark SQL with its params bound as query_oracle.py binds them, and compares with `vpcflow query
    DATASET --name NAME --param ... --format json`: same column names in order, same rows, ints
    exact, floats to 1e-9, timestamps normalised; in order when the query has a top-level ORDER BY
    (the canned queries order totally, NULLS FIRST/LAST spelled out, so Spark's other default null
    order would show), else as a multiset;
  * runs `vpcflow athena-ddl DATASET --location file://DATASET/ --table vpc_flow_logs`'s CREATE
    EXTERNAL TABLE exactly as printed on the same session, which has Hive support (an embedded Derby
    metastore and the warehouse in the temp dir), then MSCK REPAIR TABLE, and checks: the table's
    columns are the files' with AWS's types, then date/account_id/region as string partitions (each
    once), every TBLPROPERTIES value is stored as printed, it has one partition per directory, and
    its rows are the dataset's (count and fingerprint; region=__HIVE_DEFAULT_PARTITION__ is NULL);
    then every canned query run with `flows` over the table gives Spark's answer over the dataset.
    Spark substitutes ${var} in SQL text (spark.sql.variable.substitute, on by default) and an
    undefined one becomes '': storage.location.template's ${date} etc. would be stored empty, so
    the DDL runs with substitution off (checked: the value is stored as printed).

A query that can't run unchanged on Spark is listed in NEEDS_DIALECT with the reason and must say
so in a `-- note:` header line that mentions Spark. It is still run: if it runs and equals ours, that
fails, so the list stays honest. Every other query must run on Spark and equal ours.

Ends with `spark: N queries equal, M need dialect changes (noted)` and `N passed, M failed`;
exits 1 if anything failed (also when the whole run takes longer than --timeout, default 600 s).
"""
import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.dont_write_bytecode = True  # no tests/__pycache__ from importing query_oracle


def die(msg):
    print(f"FAIL  {msg}\n0 passed, 1 failed", flush=True)
    sys.exit(1)


try:  # header parsing, param binding, ours as JSON, value comparison: one copy, in query_oracle.py
    import pyarrow  # noqa: E402
    import pyspark  # noqa: E402
    import query_oracle as qo  # noqa: E402
except ImportError as e:
    die(f"imports: {e} (run .ci/python-deps.sh and use its python)")

QUERIES = qo.QUERIES
LOGS = qo.LOGS
PARTITION_BY = ["date", "account_id", "region"]

# Canned queries that Spark SQL (with the ANSI settings) cannot run unchanged: name -> why.
# Each file must carry a `-- note:` line mentioning Spark.
NEEDS_DIALECT = {
    "accepted_from_internet": "is_private_ip is vpcflow's SQL function; Spark has no IP functions",
    "rejected_by_security_group": "needs the eni_* columns of --eni-inventory; Spark unnests with explode",
    "rejected_by_instance": "needs the eni_* columns of --eni-inventory (the dataset is converted without)",
    "traffic_by_instance": "needs the eni_* columns of --eni-inventory (the dataset is converted without)",
}

# ---- the spec: AWS's types for the stored columns (as tests/readback.py checks them) ----
INT32 = {"version", "srcport", "dstport", "protocol", "tcp_flags", "traffic_path",
         "encryption_status"}
INT64 = {"packets", "bytes", "start", "end", "packets_lost_no_route", "packets_lost_blackhole",
         "packets_lost_mtu_exceeded", "packets_lost_ttl_expired"}
# AWS's Athena DDL for flow logs delivered as Parquet ("Create tables for flow logs in Apache
# Parquet format", v2-v5 columns) declares these types where they differ from the Parquet's.
ATHENA_DDL_DIFFERENT = {"protocol": "bigint"}


def spark_type(col):
    return "int" if col in INT32 else "bigint" if col in INT64 else "string"


def arrow_type(col):
    return "int32" if col in INT32 else "int64" if col in INT64 else "string"


PASSED = 0
FAILED = 0


def ok(what):
    global PASSED
    PASSED += 1
    print(f"ok    {what}", flush=True)


def fail(what, detail=""):
    global FAILED
    FAILED += 1
    print(f"FAIL  {what}", flush=True)
    for line in str(detail).rstrip().splitlines():
        print(f"      {line}", flush=True)


def check(what, fn, *args):
    """Run one check; an exception (assert or otherwise) counts as a failure. Returns fn's value."""
    t = time.time()
    try:
        value = fn(*args)
    except Exception as e:  # noqa: BLE001 - every error is a failed check
        if isinstance(e, AssertionError) and str(e):
            fail(what, str(e))
        else:
            fail(what, traceback.format_exc(limit=4))
        return None
    ok(f"{what} ({time.time() - t:.1f} s)")
    return value


# ---- SQL text ----
# A 'string', a "quoted identifier", a -- comment or a /* comment */ (the leftmost match wins, as in
# a lexer, so a -- inside a string is part of the string).
OPAQUE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.S)


def top_level(sql, words):
    """True when the keyword sequence (e.g. 'ORDER BY') appears outside parentheses, literals and
    comments."""
    depth, flat = 0, []
    for ch in OPAQUE.sub(lambda m: " " * len(m.group()), sql):
        depth += ch == "("
        flat.append(ch if depth == 0 else " ")
        depth -= ch == ")"
    pattern = r"\b" + r"\s+".join(words.split()) + r"\b"
    return re.search(pattern, "".join(flat), re.IGNORECASE) is not None


# ---- comparison ----
def sort_key(row):
    key = []
    for v in row:
        n = qo.norm(v)
        if n[0] == "float":  # tolerance: near-equal floats must sort together
            x = n[1]
            n = ("float", "nan" if math.isnan(x) else f"{x:.9g}")
        elif n[0] == "int":
            n = ("float", f"{float(n[1]):.9g}", n[1])
        key.append(repr(n))
    return key


def compare(label, spark_cols, spark_rows, our_cols, our_rows, ordered):
    """None when equal, else a description of the first difference."""
    if our_cols is None:  # an empty JSON array carries no column names
        return f"{label}: ours has no rows, Spark {len(spark_rows)}" if spark_rows else None
    if list(spark_cols) != list(our_cols):
        return f"{label}: columns differ\n  spark: {spark_cols}\n  ours:  {our_cols}"
    if not ordered:
        spark_rows = sorted(spark_rows, key=sort_key)
        our_rows = sorted(our_rows, key=sort_key)
    how = "in order" if ordered else "as a multiset"
    if len(spark_rows) != len(our_rows):
        return f"{label}: ours has {len(our_rows)} rows, Spark {len(spark_rows)}"
    for i, (s, o) in enumerate(zip(spark_rows, our_rows)):
        bad = [c for c, a, b in zip(spark_cols, s, o) if not qo.same(a, b)]
        if bad:
            detail = (f"{label}: row {i} ({how}) differs in {', '.join(bad)}\n"
                      f"  spark: {dict(zip(spark_cols, s))}\n  ours:  {dict(zip(our_cols, o))}")
            if ordered and not compare(label, spark_cols, spark_rows, our_cols, our_rows, False):
                detail += "\n  (the same rows as a multiset: only the order differs)"
            return detail
    return None


# ---- the dataset ----
def convert(binary, out):
    stats = out.rstrip("/") + ".stats.json"
    cmd = [binary, "convert", *LOGS, "-o", out + "/", "--partition-by", ",".join(PARTITION_BY),
           "--commit-rows", "500", "--stats", stats, "-q"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:2000]}"
    with open(stats) as f:
        s = json.load(f)
    assert s["rows_written"] > 0 and s["rejected"] == 0, s
    return s


def part_files(out):
    files = []
    for root, dirs, names in os.walk(out):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".parquet")]
    return files


def check_layout(out):
    """Every part file sits at date=/account_id=/region= and has AWS's types (pyarrow); all files
    have the same columns. Returns the column names in file order."""
    import pyarrow.parquet as pq

    files = part_files(out)
    assert files, f"no part files under {out}"
    cols, bad = None, []
    for path in files:
        rel = os.path.relpath(path, out).split(os.sep)
        keys = [d.split("=", 1)[0] for d in rel[:-1]]
        if keys != PARTITION_BY:
            bad.append(f"{'/'.join(rel)}: directories {keys}, want {PARTITION_BY}")
        schema = pq.read_schema(path)
        names = list(schema.names)
        if cols is None:
            cols = names
        elif names != cols:
            bad.append(f"{'/'.join(rel)}: columns {names} differ from the first file's {cols}")
        for field in schema:
            if str(field.type) != arrow_type(field.name):
                bad.append(f"{'/'.join(rel)}: {field.name} is {field.type}, want {arrow_type(field.name)}")
    assert not bad, "\n".join(bad[:20])
    for k in PARTITION_BY:
        if k != "date":
            assert k in cols, f"partition key {k} is not a column of the files"
    print(f"#     {len(files)} part files, {len(cols)} columns, "
          f"{len({os.path.dirname(f) for f in files})} partition directories")
    return cols


# ---- Spark ----
def start_spark(tmp):
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["SPARK_LOCAL_HOSTNAME"] = "localhost"
    # pyspark turns TimestampType into naive datetimes in the Python process's zone: make it UTC.
    os.environ["TZ"] = "UTC"
    time.tzset()
    from pyspark.sql import SparkSession

    local = os.path.join(tmp, "spark-local")
    os.makedirs(local, exist_ok=True)
    os.environ["SPARK_LOCAL_DIRS"] = local  # scratch space (shuffle, spills) inside tmp
    spark = (SparkSession.builder
             .master("local[2]")
             .appName("vpcflow-spark-dataset")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.default.parallelism", "2")
             .config("spark.sql.session.timeZone", "UTC")
             # Needed to run the canned SQL as written: "end" is an identifier, not a string.
             .config("spark.sql.ansi.enabled", "true")
             .config("spark.sql.ansi.doubleQuotedIdentifiers", "true")
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .config("spark.driver.memory", "1g")
             .config("spark.sql.warehouse.dir", os.path.join(tmp, "spark-warehouse"))
             .config("spark.driver.extraJavaOptions",
                     f"-Duser.timezone=UTC -Djava.io.tmpdir={local} -XX:-UsePerfData "
                     f"-Dderby.system.home={tmp}")  # derby.log
             # athena-ddl's CREATE EXTERNAL TABLE: a Hive metastore (embedded Derby) inside tmp.
             .enableHiveSupport()
             .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                     f"jdbc:derby:;databaseName={os.path.join(tmp, 'metastore_db')};create=true")
             .config("spark.hadoop.hive.exec.scratchdir", os.path.join(tmp, "hive-scratch"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def declared_schema(cols, types=None):
    """The table as a Glue/Athena DDL would declare it: the stored columns with AWS's types, then
    the partition columns as strings (account_id and region are both; Spark then takes their
    values from the directory names)."""
    from pyspark.sql.types import StructType

    types = types or {}
    parts = [f"`{c}` {types.get(c, spark_type(c))}" for c in cols if c not in PARTITION_BY]
    parts += [f"`{k}` string" for k in PARTITION_BY]
    return StructType.fromDDL(", ".join(parts))


def read_dataset(spark, out, cols, types=None):
    return spark.read.schema(declared_schema(cols, types)).parquet(out)


def check_spark_types(spark, out, cols):
    """Spark's own reading of the footers (no schema given) has the declared types; the partition
    columns are strings with type inference off."""
    df = spark.read.parquet(out)
    got = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    want = {c: spark_type(c) for c in cols}
    want.update({k: "string" for k in PARTITION_BY})
    diff = [f"{c}: spark {got.get(c)}, declared {want.get(c)}"
            for c in sorted(set(got) | set(want)) if got.get(c) != want.get(c)]
    assert not diff, "\n".join(diff)
    declared = read_dataset(spark, out, cols)
    names = [f.name for f in declared.schema.fields]
    assert sorted(names) == sorted(want), f"declared table columns {names}"


def check_rows(spark, out, cols, stats):
    """The rows through the Hive layout (account_id and region from the directory names) are the
    rows of the files read alone (every column from the file), compared as a multiset by a sum of
    row hashes; every date= is the UTC day of start; hot.log's rows have no region."""
    hive = read_dataset(spark, out, cols)
    # The same files without partition discovery: every column from the file itself.
    files = (spark.read.schema(declared_schema(cols)).option("recursiveFileLookup", "true")
             .option("pathGlobFilter", "*.parquet").parquet(out))
    data = [f"`{c}`" for c in cols]
    fingerprint = ["count(*) AS n", f"sum(CAST(xxhash64({', '.join(data)}) AS DECIMAL(38, 0))) AS h"]
    h = hive.selectExpr(
        *fingerprint,
        "count_if(NOT (`date` <=> date_format(timestamp_seconds(`start`), 'yyyy-MM-dd'))) AS wrong_date",
        "count_if(region IS NULL) AS no_region").collect()[0]
    f = files.selectExpr(*fingerprint).collect()[0]
    assert h.n == stats["rows_written"], f"spark counts {h.n} rows, --stats says {stats['rows_written']}"
    assert f.n == h.n, f"files alone: {f.n} rows, through the Hive layout {h.n}"
    if f.h != h.h:
        a, b = hive.selectExpr(*data), files.selectExpr(*data)
        extra, missing = a.exceptAll(b), b.exceptAll(a)
        sample = [r.asDict() for r in extra.select("account_id", "region").limit(3).collect()]
        raise AssertionError(f"{extra.count()} rows through the Hive layout are not in the files, "
                             f"{missing.count()} the other way (partition values differ from the "
                             f"columns?) e.g. {sample}")
    assert h.wrong_date == 0, f"{h.wrong_date} rows in the wrong date= partition"
    assert h.no_region > 0, "no row in region=__HIVE_DEFAULT_PARTITION__ (hot.log has no region)"


def check_athena_ddl(spark, out, cols):
    """AWS's Athena DDL declares protocol bigint over Parquet whose protocol is int32 (AWS's and
    ours); Spark widens on read, with the same values."""
    b = read_dataset(spark, out, cols, ATHENA_DDL_DIFFERENT)
    declared = {f.name: f.dataType.simpleString() for f in b.schema.fields}
    assert declared["protocol"] == "bigint", declared["protocol"]
    count = "SELECT protocol, count(*) AS n FROM {} GROUP BY protocol"
    b.createOrReplaceTempView("athena_ddl")
    read_dataset(spark, out, cols).createOrReplaceTempView("declared")
    got = {(r.protocol, r.n) for r in spark.sql(count.format("athena_ddl")).collect()}
    want = {(r.protocol, r.n) for r in spark.sql(count.format("declared")).collect()}
    assert got == want and len(want) > 1, f"protocol as bigint: {sorted(got, key=repr)}, as int: {sorted(want, key=repr)}"


def check_double_quotes(spark):
    """MAX("end") is the largest `end` with the session's settings, and the string 'end' with
    spark.sql.ansi.doubleQuotedIdentifiers=false (Spark's default): why the settings are needed."""
    sql = 'SELECT MAX("end") FROM flows'
    want = spark.sql("SELECT MAX(`end`) FROM flows").collect()[0][0]
    got = spark.sql(sql).collect()[0][0]
    assert isinstance(got, int) and got == want, f"{sql}: {got!r}, want {want!r}"
    key = "spark.sql.ansi.doubleQuotedIdentifiers"
    before = spark.conf.get(key)
    spark.conf.set(key, "false")
    try:
        got = spark.sql(sql).collect()[0][0]
    finally:
        spark.conf.set(key, before)
    assert got == "end", f"{sql} with {key}=false: {got!r}, want the string 'end'"


def check_hive_table(spark, binary, out, cols, stats):
    """athena-ddl's DDL, run exactly as printed (variable substitution off: see the header), then
    MSCK REPAIR TABLE: the table declares the files' columns with AWS's types then the partitions as
    strings, stores every TBLPROPERTIES value as printed, and reads the dataset's rows."""
    cmd = [binary, "athena-ddl", out + "/", "--location", f"file://{out}/", "--table", "vpc_flow_logs"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()[:2000]}"
    ddl = p.stdout
    key = "spark.sql.variable.substitute"
    before = spark.conf.get(key)
    spark.conf.set(key, "false")
    try:
        spark.sql(ddl)
    finally:
        spark.conf.set(key, before)
    spark.sql("MSCK REPAIR TABLE vpc_flow_logs")
    table = spark.table("vpc_flow_logs")
    got = [(f.name, f.dataType.simpleString()) for f in table.schema.fields]
    want = [(f.name, f.dataType.simpleString()) for f in declared_schema(cols).fields]
    assert got == want, f"table columns\n  got:  {got}\n  want: {want}"
    parts = [c.name for c in spark.catalog.listColumns("vpc_flow_logs") if c.isPartition]
    assert parts == PARTITION_BY, f"partition columns {parts}, want {PARTITION_BY}"
    printed = dict(re.findall(r"^\s*'([^']*)'\s*=\s*'([^']*)',?$", ddl.split("\nTBLPROPERTIES", 1)[-1], re.M))
    stored = {r.key: r.value for r in spark.sql("SHOW TBLPROPERTIES vpc_flow_logs").collect()}
    assert printed and "storage.location.template" in printed, f"no TBLPROPERTIES parsed from\n{ddl}"
    diff = [f"{k}: printed {v!r}, stored {stored.get(k)!r}" for k, v in printed.items() if stored.get(k) != v]
    assert not diff, "\n".join(diff)
    n_parts = spark.sql("SHOW PARTITIONS vpc_flow_logs").count()
    n_dirs = len({os.path.dirname(f) for f in part_files(out)})
    assert n_parts == n_dirs, f"MSCK REPAIR TABLE: {n_parts} partitions, {n_dirs} directories"
    every = ", ".join(f"`{c}`" for c, _ in want)
    fingerprint = ["count(*) AS n", f"sum(CAST(xxhash64({every}) AS DECIMAL(38, 0))) AS h"]
    t = table.selectExpr(*fingerprint, "count_if(region IS NULL) AS no_region").collect()[0]
    d = read_dataset(spark, out, cols).selectExpr(*fingerprint).collect()[0]
    assert t.n == stats["rows_written"], f"the table has {t.n} rows, --stats says {stats['rows_written']}"
    assert t.h == d.h, "the table's rows differ from the dataset's (fingerprints differ)"
    assert t.no_region > 0, "no NULL region (region=__HIVE_DEFAULT_PARTITION__)"
    print(f"#     {len(got)} columns, {n_parts} partitions, {t.n} rows, {len(printed)} TBLPROPERTIES")
    return True


def check_table_queries(spark, answers):
    """Every canned query that ran on Spark, again with `flows` over the table: the same answer."""
    assert answers, "no query ran on Spark"
    spark.sql("CREATE OR REPLACE TEMP VIEW flows AS SELECT *, timestamp_seconds(`start`) AS "
              "start_time, timestamp_seconds(`end`) AS end_time FROM vpc_flow_logs")
    diffs = []
    for name, (sql, ordered, cols, rows) in answers.items():
        got_cols, got_rows = run_spark(spark, sql)
        diff = compare(name, got_cols, got_rows, cols, rows, ordered)
        if diff:
            diffs.append(diff)
    assert not diffs, "\n".join(diffs)
    print(f"#     {len(answers)} queries: {', '.join(answers)}")


def run_spark(spark, sql):
    df = spark.sql(sql)
    cols = df.columns
    return cols, [list(r) for r in df.collect()]


# ---- the queries ----
def listed_names(binary):
    p = subprocess.run([binary, "query", "--list"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return sorted(line.split()[0] for line in p.stdout.splitlines() if line and not line[0].isspace())


def run_query(spark, binary, out, name, counts):
    """Run one canned query on Spark and with vpcflow; counts['equal'|'noted'] += 1."""
    q = qo.Query(name, os.path.join(QUERIES, name + ".sql"))
    if q.problems:
        fail(f"{name}: header", "\n".join(q.problems))
        return
    listed = name in NEEDS_DIALECT
    if listed:
        spark_notes = [n for n in q.notes if "spark" in n.lower()]
        if spark_notes:
            ok(f"{name}: needs dialect changes ({NEEDS_DIALECT[name]}); noted: {spark_notes[0]}")
        else:
            fail(f"{name}: header", f"in NEEDS_DIALECT ({NEEDS_DIALECT[name]}) but no `-- note:` "
                                    "line mentions Spark")
    try:
        values = q.values()
        sql = qo.substitute(q, values)
        ordered = top_level(sql, "ORDER BY")
        t = time.time()
        spark_cols, spark_rows = run_spark(spark, sql)
        spark_s = time.time() - t
        counts["answers"][name] = (sql, ordered, spark_cols, spark_rows)
    except Exception as e:  # noqa: BLE001 - report and carry on
        msg = str(e).strip().splitlines()
        msg = "\n".join(msg[:8])
        if listed:
            counts["noted"] += 1
            print(f"#     {name}: fails on Spark as expected: {msg.splitlines()[0][:200]}")
        else:
            fail(f"{name}: spark", f"{type(e).__name__}: {msg}")
        return
    try:
        our_cols, our_rows = qo.run_ours(binary, [out], q, values)
        diff = compare(name, spark_cols, spark_rows, our_cols, our_rows, ordered)
    except Exception as e:  # noqa: BLE001
        diff = f"{type(e).__name__}: {e}"
    how = f"{len(spark_rows)} rows, {'in order' if ordered else 'as a multiset'}, spark {spark_s:.1f} s"
    if listed:
        if diff:
            counts["noted"] += 1
            print(f"#     {name}: differs on Spark as expected: {diff.splitlines()[0][:200]}")
        else:
            fail(f"{name}: spark", f"in NEEDS_DIALECT ({NEEDS_DIALECT[name]}) but runs on Spark and "
                                   f"equals ours ({how}): take it off the list")
        return
    if not spark_rows:
        fail(f"{name}: spark", "no rows on the test set (nothing compared)")
    elif diff:
        fail(f"{name}: spark vs ours", diff)
    else:
        counts["equal"] += 1
        ok(f"{name}: spark = ours ({how})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(REPO, "target", "release", "vpcflow"))
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these queries")
    ap.add_argument("--keep", metavar="DIR", help="write the dataset to DIR (must not exist) and keep it")
    ap.add_argument("--timeout", type=int, default=600, help="give up after this many seconds (600)")
    args = ap.parse_args()
    binary = args.binary
    if not os.path.exists(binary) and os.path.exists(os.path.join(REPO, binary)):
        binary = os.path.join(REPO, binary)
    binary = os.path.abspath(binary)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"no vpcflow binary at {binary}")
    java = shutil.which("java") or (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
                                    if os.environ.get("JAVA_HOME") else None)
    if not java:
        die("java: no java on PATH and no JAVA_HOME (pyspark needs a Java 17+ runtime)")
    print(f"# pyspark {pyspark.__version__}, pyarrow {pyarrow.__version__}, binary {binary}")

    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="vpcflow-spark-")
    state = {"spark": None, "equal": 0, "noted": 0, "answers": {}}

    def summary():
        print(f"# {time.time() - t0:.1f} s")
        print(f"spark: {state['equal']} queries equal, {state['noted']} need dialect changes (noted)")
        print(f"{PASSED} passed, {FAILED} failed", flush=True)

    def on_alarm(sig, _frame):
        # An exception raised here could be swallowed by py4j (it wraps errors during a call), so
        # end the run outright: kill the JVM, remove the scratch folder, exit 1.
        fail("deadline", f"the run took longer than --timeout {args.timeout} s"
             if sig == signal.SIGALRM else "terminated (SIGTERM)")
        proc = getattr(getattr(state["spark"] and state["spark"].sparkContext, "_gateway", None),
                       "proc", None)
        if proc is not None:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        summary()
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)  # `timeout` in CI: same clean end
    signal.alarm(args.timeout)
    try:
        run(args, binary, tmp, state)
    finally:
        signal.alarm(0)
        if state["spark"] is not None:
            try:
                state["spark"].stop()
            except Exception:  # noqa: BLE001 - the JVM exits with us anyway
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    summary()
    sys.exit(1 if FAILED else 0)


def run(args, binary, tmp, state):
    names = check("query --list names the queries/*.sql files", _names, binary)
    if names is None:
        names = sorted(f[:-4] for f in os.listdir(QUERIES) if f.endswith(".sql"))
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            fail("--only", f"no such queries: {', '.join(unknown)}")
            return
        names = [n for n in names if n in args.only]
    else:
        for name in sorted(set(NEEDS_DIALECT) - set(names)):
            fail(f"NEEDS_DIALECT: {name}", "no such query")

    out = os.path.abspath(args.keep) if args.keep else os.path.join(tmp, "flows")
    if args.keep and os.path.exists(out):
        fail("--keep", f"{out} already exists")
        return
    stats = check(f"convert {' '.join(os.path.relpath(p, REPO) for p in LOGS)} "
                  f"--partition-by {','.join(PARTITION_BY)}", convert, binary, out)
    if stats is None:
        return
    cols = check("part files: Hive layout, AWS's types (pyarrow)", check_layout, out)
    if cols is None:
        return
    t1 = time.time()
    spark = state["spark"] = start_spark(tmp)
    print(f"# Spark {spark.version} local[2] on 127.0.0.1, started in {time.time() - t1:.1f} s")
    check("spark reads the footers as the declared types; partitions are strings",
          check_spark_types, spark, out, cols)
    check("spark rows: count, partition values = columns, date= is the day of start",
          check_rows, spark, out, cols, stats)
    check("AWS's Athena DDL (protocol bigint) reads our int32 protocol",
          check_athena_ddl, spark, out, cols)
    read_dataset(spark, out, cols).createOrReplaceTempView("dataset")
    spark.sql("CREATE OR REPLACE TEMP VIEW flows AS SELECT *, "
              "timestamp_seconds(`start`) AS start_time, timestamp_seconds(`end`) AS end_time "
              "FROM dataset")
    check('MAX("end") is the column; with spark.sql.ansi.doubleQuotedIdentifiers=false, the string \'end\'',
          check_double_quotes, spark)
    for name in names:
        run_query(spark, binary, out, name, state)
    if check("athena-ddl's CREATE EXTERNAL TABLE + MSCK REPAIR TABLE on Spark (Hive): columns, "
             "types, partitions, TBLPROPERTIES, rows", check_hive_table, spark, binary, out, cols,
             stats) is not None:
        check("canned queries with `flows` over the table = over the dataset",
              check_table_queries, spark, state["answers"])


def _names(binary):
    listed = listed_names(binary)
    files = sorted(f[:-4] for f in os.listdir(QUERIES) if f.endswith(".sql"))
    assert listed == files, (f"vpcflow query --list: {listed}\nqueries/*.sql:        {files}\n"
                             "(a binary built before the queries changed?)")
    return files


if __name__ == "__main__":
    main()
