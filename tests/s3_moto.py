#!/usr/bin/env python3
"""`s3://` inputs against a real S3 API server (moto's, from PyPI) on 127.0.0.1, started and
stopped here. The same records converted from the bucket and from local files give identical rows:
an AWS-layout tree of .log.gz objects (prefix, glob, --include/--exclude, one object by name), a
CloudWatch Logs subscription payload object, an AWS-style Parquet object. Credentials from the
environment, from a shared-credentials profile, and the endpoint from AWS_ENDPOINT_URL as well as
--endpoint-url. Failures: a corrupt gzip object fails that object only (named, counted, exit 1),
a missing bucket or a prefix with no objects is a clear error. `vpcflow query` reads s3:// too.

  python tests/s3_moto.py target/release/vpcflow
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

import boto3
import pyarrow.parquet as pq

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(REPO, "testdata", "query", "logs")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moto_s3 import check, moto_server, proxy, rows, summary  # noqa: E402


def main():
    exe = os.path.abspath(sys.argv[1])
    with moto_server() as endpoint:
        run_checks(exe, endpoint)
    summary()


def run_checks(exe, endpoint):
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # Never reach for a real instance-metadata service from a test.
    base_env["AWS_EC2_METADATA_DISABLED"] = "true"
    env = dict(base_env, **creds)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="flows")

    lines = open(os.path.join(LOGS, "vpc-all.log")).read().splitlines()
    header, records = lines[0], [l for l in lines[1:] if l.strip()]
    tmp = tempfile.mkdtemp(prefix="vpcflow-s3-")
    local = os.path.join(tmp, "local")
    # The same tree locally and in the bucket: four hourly objects of one day, plus a stray file.
    keys = []
    per = (len(records) + 3) // 4
    for h in range(4):
        part = records[h * per:(h + 1) * per]
        key = (f"AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/25/"
               f"123456789012_vpcflowlogs_us-east-1_fl-0abc_20261125T{h:02d}00Z_hash.log.gz")
        body = gzip.compress(("\n".join([header] + part) + "\n").encode())
        path = os.path.join(local, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(body)
        s3.put_object(Bucket="flows", Key=key, Body=body)
        keys.append(key)
    s3.put_object(Bucket="flows", Key="AWSLogs/123456789012/vpcflowlogs/README.txt", Body=b"x")
    # A CloudWatch Logs subscription payload (gzip), records without header.
    payload = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/vpc/flows",
               "logStream": "eni-0-all", "subscriptionFilters": ["f"],
               "logEvents": [{"id": str(i), "timestamp": 1700000000000, "message": m}
                             for i, m in enumerate(records)]}
    s3.put_object(Bucket="flows", Key="firehose/2026/11/25/20/stream-1",
                  Body=gzip.compress(json.dumps(payload).encode()))

    def vpcflow(args, env=env, timeout=120):
        return subprocess.run([exe] + args, capture_output=True, text=True, env=env, timeout=timeout)

    want_path = os.path.join(tmp, "want.parquet")
    r = vpcflow(["convert", local, "--include", "*.log.gz", "-o", want_path, "-q"])
    assert r.returncode == 0, r.stderr
    want = rows(want_path)
    check("local reference has every record", len(want) == len(records), len(want))

    def convert(tag, args, env=env):
        out = os.path.join(tmp, tag + ".parquet")
        stats = os.path.join(tmp, tag + ".json")
        r = vpcflow(["convert"] + args + ["-o", out, "--stats", stats, "-q"], env=env)
        st = json.load(open(stats)) if os.path.exists(stats) else {}
        return r, (rows(out) if r.returncode == 0 else None), st

    r, got, st = convert("prefix", ["s3://flows/AWSLogs/", "--include", "*.log.gz",
                                    "--endpoint-url", endpoint])
    check("prefix: same rows as the local tree", got == want, (r.stderr, st))
    check("prefix: 4 objects, counts add up",
          st.get("inputs") == 4 and st.get("records") == st.get("rows_written", -1) + st.get("rejected", -1),
          st)

    glob = "s3://flows/AWSLogs/*/vpcflowlogs/**/*.log.gz"
    r, got, st = convert("glob", [glob, "--endpoint-url", endpoint])
    check("glob: same rows", got == want, (r.stderr, st))

    r, got, st = convert("exclude", ["s3://flows/AWSLogs", "--exclude", "*.txt",
                                     "--exclude", "**/*T03*", "--endpoint-url", endpoint])
    check("--exclude: three objects", st.get("inputs") == 3 and got == want[:3 * per], (r.stderr, st))

    r, got, st = convert("one", ["s3://flows/" + keys[1], "--endpoint-url", endpoint])
    check("one object by name", got == want[per:2 * per], (r.stderr, st))

    r, got, st = convert("envurl", ["s3://flows/AWSLogs/", "--include", "*.log.gz"],
                         env=dict(env, AWS_ENDPOINT_URL=endpoint))
    check("AWS_ENDPOINT_URL instead of --endpoint-url", got == want, r.stderr)

    # Credentials from a profile in a shared credentials file, none in the environment.
    cred_file = os.path.join(tmp, "credentials")
    open(cred_file, "w").write("[other]\naws_access_key_id = nope\n\n[flowreader]\n"
                               "aws_access_key_id = testing\naws_secret_access_key = testing\n")
    penv = dict(base_env, AWS_SHARED_CREDENTIALS_FILE=cred_file, AWS_PROFILE="flowreader",
                AWS_CONFIG_FILE=os.path.join(tmp, "none"), AWS_REGION="us-east-1")
    r, got, st = convert("profile", ["s3://flows/AWSLogs/", "--include", "*.log.gz",
                                     "--endpoint-url", endpoint], env=penv)
    check("credentials from a shared-credentials profile", got == want, r.stderr)

    # CloudWatch payload object: same rows, log group and stream kept.
    out = os.path.join(tmp, "cw.parquet")
    r = vpcflow(["convert", "s3://flows/firehose/", "--fields", header, "--endpoint-url", endpoint,
                 "-o", out, "-q"])
    ok = r.returncode == 0
    check("CloudWatch payload object: same rows", ok and rows(out) == want, r.stderr)
    if ok:
        t = pq.read_table(out)
        check("CloudWatch payload object: log_group/log_stream columns",
              set(t.column("log_group").to_pylist()) == {"/vpc/flows"}
              and set(t.column("log_stream").to_pylist()) == {"eni-0-all"}, t.schema)

    # AWS-style Parquet object (hyphenated names), read from the bucket.
    t = pq.read_table(want_path)
    t = t.rename_columns([c.replace("_", "-") for c in t.column_names])
    pq_path = os.path.join(tmp, "aws.log.parquet")
    pq.write_table(t, pq_path, compression="snappy")
    s3.upload_file(pq_path, "flows", "parquet/aws.log.parquet")
    r, got, st = convert("parquet", ["s3://flows/parquet/", "--endpoint-url", endpoint])
    check("AWS Parquet object: same rows", got == want, (r.stderr, st))
    leftovers = [f for f in os.listdir(tempfile.gettempdir()) if f.startswith(".vpcflow-s3-")]
    check("downloaded Parquet copy removed", leftovers == [], leftovers)

    # A corrupt gzip object next to good ones: that object fails, named; the others convert.
    bad = bytearray(gzip.compress(("\n".join([header] + records) + "\n").encode()))
    bad[len(bad) // 2:len(bad) // 2 + 64] = b"\xff" * 64
    s3.put_object(Bucket="flows", Key="AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/26/bad.log.gz",
                  Body=bytes(bad))
    out = os.path.join(tmp, "bad.parquet")
    stats = os.path.join(tmp, "bad.json")
    r = vpcflow(["convert", "s3://flows/AWSLogs/", "--include", "*.log.gz", "--endpoint-url", endpoint,
                 "-o", out, "--stats", stats])
    st = json.load(open(stats)) if os.path.exists(stats) else {}
    check("corrupt object: run fails, object named, counted",
          r.returncode != 0 and "s3://flows/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/26/bad.log.gz" in r.stderr
          and st.get("failed_inputs") == 1 and st.get("inputs") == 5, (r.returncode, r.stderr[-800:], st))
    check("corrupt object: the good objects are all there",
          st.get("rows_written", 0) >= len(records), st)
    s3.delete_object(Bucket="flows", Key="AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/26/bad.log.gz")

    r = vpcflow(["convert", "s3://no-such-bucket/x/", "--endpoint-url", endpoint, "-o", os.path.join(tmp, "n.parquet")])
    check("missing bucket: clear error", r.returncode != 0 and "s3://no-such-bucket/x/" in r.stderr, r.stderr)
    r = vpcflow(["convert", "s3://flows/nothing-here/", "--endpoint-url", endpoint, "-o", os.path.join(tmp, "n.parquet")])
    check("empty prefix: clear error", r.returncode != 0 and "no objects match" in r.stderr, r.stderr)

    # Bulk documents from an S3 object carry its provenance as Elastic's aws-s3 input writes it:
    # the object URL in the client's region (the AWS form even with --endpoint-url), the key
    # percent-encoded in it, and the bucket and key under aws.s3.
    default_lines = open(os.path.join(REPO, "testdata", "sample-default.log")).read().splitlines()
    key = "bulk/x y/ü+1.log"
    s3.put_object(Bucket="flows", Key=key, Body=("\n".join(default_lines[:6]) + "\n").encode())
    bulk_base = os.path.join(tmp, "bulk.ndjson")
    r = vpcflow(["convert", "s3://flows/bulk/", "--to", "bulk", "--endpoint-url", endpoint,
                 "-o", bulk_base, "-q"], env=dict(env, AWS_REGION="eu-west-1"))
    docs = []
    if r.returncode == 0:
        text = open(os.path.join(tmp, "bulk-000001.ndjson"), encoding="utf-8").read()
        docs = [json.loads(l) for l in text.splitlines()][1::2]
    url = "https://flows.s3.eu-west-1.amazonaws.com/" + urllib.parse.quote(key, safe="/")
    check("bulk from s3://: one document per record", len(docs) == 5, (r.stderr, len(docs)))
    check("bulk from s3://: aws-s3 provenance",
          docs and all(d["input"] == {"type": "aws-s3"}
                       and d["aws"]["s3"] == {"bucket": {"name": "flows", "arn": "arn:aws:s3:::flows"},
                                              "object": {"key": key}}
                       and d["log"]["file"]["path"] == url
                       and d["cloud"]["region"] == "eu-west-1"
                       and isinstance(d["log"]["offset"], int)
                       for d in docs),
          docs[:1])
    s3.delete_object(Bucket="flows", Key=key)

    # SQL straight over the bucket.
    r = vpcflow(["query", "s3://flows/AWSLogs/", "--include", "*.log.gz", "--endpoint-url", endpoint,
                 "--sql", "SELECT count(*) AS n, sum(bytes) AS b FROM flows", "--format", "json"])
    ok = r.returncode == 0
    got = json.loads(r.stdout)[0] if ok else None
    want_b = sum(x["bytes"] or 0 for x in want)
    check("query over s3://", ok and got["n"] == len(want) and got["b"] == want_b, (r.stderr, got))

    # S3 under load: every request's first attempt gets 503 SlowDown. object_store retries with
    # back-off, `-v` says so on stderr, and the rows are the same.
    flaky, server, seen, _ = proxy(urllib.parse.urlparse(endpoint).port, flaky=True)
    try:
        out = os.path.join(tmp, "flaky.parquet")
        r = vpcflow(["-v", "convert", "s3://flows/AWSLogs/", "--include", "*.log.gz",
                     "--endpoint-url", flaky, "-o", out, "-q"])
        got = rows(out) if r.returncode == 0 else None
        check("503 SlowDown on every first attempt: retried, same rows", got == want, r.stderr)
        retries = [l for l in r.stderr.splitlines() if "object_store" in l and "503" in l]
        check("-v shows each retry (one per request)",
              len(retries) == len(seen) and len(seen) >= 5
              and all("retry 1 of" in l for l in retries),
              (len(seen), r.stderr))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
