#!/usr/bin/env python3
"""`s3://` outputs against a real S3 API server (moto's) on 127.0.0.1, started and stopped here.

What is written to the bucket equals what the same run writes locally:
- one Parquet file, NDJSON and ECS objects (byte for byte for the text formats), small (one PUT)
  and large (a multipart upload of several parts);
- numbered bulk objects (`--to bulk -o s3://…/bulk.ndjson`), byte for byte;
- a Hive-partitioned dataset: the same part files with the same rows, a manifest naming them,
  a re-run that skips what is done, local and S3 inputs mixed in one run, `vpcflow query`
  over the dataset prefix, and `vpcflow athena-ddl` naming the files' columns and types.
Faults: a run killed with SIGKILL mid-dataset leaves nothing that a re-run doesn't finish or remove
(every record exactly once); a live run's lease keeps a second run out; a missing bucket is a clear
error and leaves no object; an output prefix holding the inputs is refused.

  python tests/s3_output.py target/release/vpcflow
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import boto3
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moto_s3 import check, moto_server, rows, summary  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENFLOWS = os.path.join(REPO, "..", "shared", "bench", "genflows.py")


def main():
    exe = os.path.abspath(sys.argv[1])
    with moto_server() as endpoint:
        run_checks(exe, endpoint)
    summary()


def generate(path, records, seed, start=None):
    """Flow logs from genflows (deterministic), or repeated sample lines when ../shared is absent."""
    if os.path.exists(GENFLOWS):
        args = [sys.executable, GENFLOWS, "--format", "default", "--records", str(records),
                "--seed", str(seed), "--out", path]
        if start is not None:
            args += ["--start", str(start)]
        subprocess.run(args, check=True)
    else:
        lines = open(os.path.join(REPO, "testdata", "sample-default.log")).read().splitlines()
        body = (lines[1:] * (records // (len(lines) - 1) + 1))[:records]
        open(path, "w").write("\n".join([lines[0]] + body) + "\n")


def run_checks(exe, endpoint):
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = dict(base_env, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="logs")
    tmp = tempfile.mkdtemp(prefix="vpcflow-s3out-")

    def vpcflow(args, timeout=300):
        return subprocess.run([exe] + args, capture_output=True, text=True, env=env, timeout=timeout)

    def keys(prefix):
        out = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="lake", Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return sorted(out)

    def get(key):
        return s3.get_object(Bucket="lake", Key=key)["Body"].read()

    def download(key):
        path = os.path.join(tmp, "dl-" + key.replace("/", "_"))
        open(path, "wb").write(get(key))
        return path

    small = os.path.join(REPO, "testdata", "sample-default.log")
    big = os.path.join(tmp, "big.log")
    generate(big, 120_000, 3)

    # One object per format, small and large, against the same local run.
    for name, src, fmt, ext in [("small parquet", small, "parquet", "parquet"),
                                ("large parquet", big, "parquet", "parquet"),
                                ("small ndjson", small, "ndjson", "ndjson"),
                                ("large ndjson (multipart)", big, "ndjson", "ndjson"),
                                ("ecs", small, "ecs", "ndjson")]:
        local = os.path.join(tmp, f"{name.replace(' ', '_')}.{ext}")
        key = f"files/{name.replace(' ', '_')}.{ext}"
        a = vpcflow(["convert", src, "--to", fmt, "-o", local, "-q"])
        b = vpcflow(["convert", src, "--to", fmt, "-o", f"s3://lake/{key}", "-q"])
        ok = a.returncode == 0 and b.returncode == 0 and key in keys("files/")
        if ok and fmt == "parquet":
            same = rows(local) == rows(download(key))
        else:
            same = ok and open(local, "rb").read() == get(key)
        check(f"-o s3:// {name}: same as the local output", ok and same, (a.stderr, b.stderr))
    size = s3.head_object(Bucket="lake", Key="files/large_ndjson_(multipart).ndjson")["ContentLength"]
    check("the large NDJSON object is over two parts (8 MiB each)", size > 16 << 20, size)

    # Numbered bulk objects.
    local_base = os.path.join(tmp, "bulk", "bulk.ndjson")
    os.makedirs(os.path.dirname(local_base))
    a = vpcflow(["convert", small, "--to", "bulk", "--bulk-bytes", "9000", "-o", local_base, "-q"])
    b = vpcflow(["convert", small, "--to", "bulk", "--bulk-bytes", "9000",
                 "-o", "s3://lake/bulk/bulk.ndjson", "-q"])
    local_files = sorted(os.listdir(os.path.dirname(local_base)))
    got = keys("bulk/")
    check("bulk: the same numbered files", a.returncode == 0 and b.returncode == 0
          and ["bulk/" + f for f in local_files] == got and len(got) > 1, (local_files, got, b.stderr))
    check("bulk: byte for byte", all(
        open(os.path.join(tmp, "bulk", f), "rb").read() == get("bulk/" + f) for f in local_files))

    # A dataset, local and on S3, from three hourly inputs (two in a local dir, one in a bucket).
    srcdir = os.path.join(tmp, "src")
    os.makedirs(srcdir)
    for i in range(3):
        generate(os.path.join(srcdir, f"h{i}.log"), 20_000, 10 + i, start=1_700_000_000 + i * 86_400)
    s3.upload_file(os.path.join(srcdir, "h2.log"), "logs", "in/h2.log")
    local_ds = os.path.join(tmp, "ds")
    inputs_local = [os.path.join(srcdir, "h0.log"), os.path.join(srcdir, "h1.log"),
                    os.path.join(srcdir, "h2.log")]
    inputs_mixed = inputs_local[:2] + ["s3://logs/in/h2.log"]
    opts = ["--partition-by", "date", "--commit-rows", "20000", "-q"]
    a = vpcflow(["convert"] + inputs_local + ["-o", local_ds + "/"] + opts)
    b = vpcflow(["convert"] + inputs_mixed + ["-o", "s3://lake/ds/"] + opts)
    local_files = sorted(os.path.relpath(os.path.join(d, f), local_ds)
                         for d, _, fs in os.walk(local_ds) for f in fs if f.endswith(".parquet"))
    s3_files = [k[len("ds/"):] for k in keys("ds/") if k.endswith(".parquet")]
    check("dataset: local and S3 inputs mixed into s3://, the same part files",
          a.returncode == 0 and b.returncode == 0 and local_files == s3_files and len(s3_files) >= 3,
          (local_files, s3_files, a.stderr, b.stderr))
    check("dataset: the same rows in each part file",
          all(rows(os.path.join(local_ds, f)) == rows(download("ds/" + f)) for f in s3_files))
    manifest = [json.loads(l) for l in get("ds/_vpcflow_manifest.jsonl").decode().splitlines()]
    named = sorted(f for u in manifest[1:] for f in u["files"])
    check("dataset: the manifest names exactly the part files, one unit per input",
          named == s3_files and len(manifest) == 4 and
          [i["name"] for u in manifest[1:] for i in u["inputs"]] == inputs_mixed, manifest)
    check("dataset: no lease left behind", "ds/_vpcflow.lock" not in keys("ds/"), keys("ds/"))
    r = vpcflow(["convert"] + inputs_mixed + ["-o", "s3://lake/ds/", "--partition-by", "date",
                                              "--stats", os.path.join(tmp, "rerun.json")])
    st = json.load(open(os.path.join(tmp, "rerun.json")))
    check("dataset: a re-run skips every input", r.returncode == 0 and "3 inputs already converted" in r.stderr
          and st["records"] == 0, (r.stderr, st))
    r = vpcflow(["query", "s3://lake/ds/", "--sql", "SELECT count(*) AS n FROM flows", "--format", "json"])
    check("query over the S3 dataset (bookkeeping objects skipped)",
          r.returncode == 0 and json.loads(r.stdout) == [{"n": 60_000}], r.stderr)

    # Athena's table over the S3 dataset: every column of the files with its type, read from
    # the part files' footers; partition projection over the dates present.
    r = vpcflow(["athena-ddl", "s3://lake/ds/", "--table", "db.flows"])
    schema = pq.read_schema(download("ds/" + s3_files[0]))
    types = {"int32": "int", "int64": "bigint", "string": "string"}
    want_cols = [f"  `{f.name}` {types[str(f.type)]}" for f in schema]
    ddl = r.stdout
    body = ddl[ddl.find("(\n") + 2:ddl.find("\n)")].split(",\n") if r.returncode == 0 else []
    dates = sorted({f.split("/")[0][len("date="):] for f in s3_files})
    check("athena-ddl: the files' columns and types, date partitions projected",
          body == want_cols and "PARTITIONED BY (\n  `date` string\n)" in ddl
          and "LOCATION 's3://lake/ds/'" in ddl
          and f"'projection.date.range'='{dates[0]},NOW'" in ddl
          and "'storage.location.template'='s3://lake/ds/date=${date}/'" in ddl, (r.stderr, ddl))

    # SIGKILL mid-run, then resume: every record exactly once.
    many = os.path.join(tmp, "many")
    os.makedirs(many)
    for i in range(12):
        generate(os.path.join(many, f"f{i:02}.log"), 15_000, 100 + i, start=1_700_000_000 + i * 3600)
    want = collections.Counter()
    for i in range(12):
        t = os.path.join(tmp, f"ref{i}.parquet")
        assert vpcflow(["convert", os.path.join(many, f"f{i:02}.log"), "-o", t, "-q"]).returncode == 0
        want.update(json.dumps(x, sort_keys=True) for x in rows(t))
    args = [exe, "convert", many, "-o", "s3://lake/killed/", "--partition-by", "date,hour",
            "--commit-rows", "15000", "--threads", "1", "-q"]
    p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            text = get("killed/_vpcflow_manifest.jsonl").decode()
            if len(text.splitlines()) >= 3:
                break
        except s3.exceptions.NoSuchKey:
            pass
        time.sleep(0.05)
    killed = p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.wait()
    units = len(get("killed/_vpcflow_manifest.jsonl").decode().splitlines()) - 1
    check("SIGKILL: the run was killed between commits", killed and 0 < units < 12, units)
    r = vpcflow(args[1:-1] + ["--stats", os.path.join(tmp, "resume.json")], timeout=300)
    st = json.load(open(os.path.join(tmp, "resume.json"))) if r.returncode == 0 else {}
    check("SIGKILL: the re-run takes the dead run's lease at once and finishes",
          r.returncode == 0 and "inputs already converted" in r.stderr, r.stderr)
    got = collections.Counter()
    files = [k for k in keys("killed/") if k.endswith(".parquet")]
    for k in files:
        got.update(json.dumps(x, sort_keys=True) for x in rows(download(k)))
    check("SIGKILL: every record exactly once after the re-run", got == want,
          (sum(got.values()), sum(want.values()), st))
    manifest = get("killed/_vpcflow_manifest.jsonl").decode().splitlines()[1:]
    check("SIGKILL: no object outside the manifest", sorted(
        f"killed/{f}" for u in manifest for f in json.loads(u)["files"]) == files)

    # Another live run's lease keeps this run out (waits out a short lease, then says so).
    s3.put_object(Bucket="lake", Key="busy/_vpcflow.lock",
                  Body=json.dumps({"host": "elsewhere", "pid": 1, "expires": int(time.time()) + 3600}).encode())
    r = vpcflow(["convert", small, "-o", "s3://lake/busy/", "--lease-seconds", "2"])
    check("a live lease: refused clearly, nothing written",
          r.returncode != 0 and "another run is writing this dataset" in r.stderr
          and keys("busy/") == ["busy/_vpcflow.lock"], (r.stderr, keys("busy/")))

    # A missing bucket: clear error, no object anywhere.
    for target in ["s3://no-such-bucket/x.parquet", "s3://no-such-bucket/ds/"]:
        r = vpcflow(["convert", small, "-o", target, "-q"])
        check(f"missing bucket ({target}): clear error",
              r.returncode == 1 and "NoSuchBucket" in r.stderr and "<Error>" not in r.stderr, r.stderr)

    # Outputs that would overwrite inputs are refused before anything is written.
    r = vpcflow(["convert", "s3://logs/in/", "-o", "s3://logs/", "--partition-by", "date"])
    check("a dataset prefix holding an input: refused", r.returncode == 2 and "holds the input" in r.stderr,
          r.stderr)
    r = vpcflow(["convert", "s3://logs/in/h2.log", "-o", "s3://logs/in/h2.log", "--to", "ndjson"])
    check("the input object as -o: refused", r.returncode == 2 and "that is the input" in r.stderr, r.stderr)
    check("the input object is intact",
          s3.get_object(Bucket="logs", Key="in/h2.log")["Body"].read() == open(inputs_local[2], "rb").read())


if __name__ == "__main__":
    main()
