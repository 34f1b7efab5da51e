#!/usr/bin/env python3
"""A Ballista cluster of vpcflow processes on 127.0.0.1 — `vpcflow cluster scheduler` and two
`vpcflow cluster executor`s (one task at a time each), started and stopped here — answers every
canned query exactly as one machine does:
- over raw flow logs (the query oracle's test set, split into several files so the scan has
  several partitions for the executors to share), and over a Parquet dataset;
- both executors run tasks (their -vvv logs show tasks received);
- an input the cluster can't reach (standard input) and a wrong scheduler address are clear errors;
- `convert --cluster` into a local dataset and into an S3 bucket (moto on 127.0.0.1) holds exactly
  the rows of a local conversion, `--stats` names both executors with their tasks and rows, and a
  re-run skips everything;
- an executor killed with SIGKILL in the middle of a conversion: the run fails clearly or finishes
  on the survivor, and a re-run completes with every record exactly once.

  python tests/ballista_cluster.py target/release/vpcflow
Needs a build with `--features cluster`. Ends with `N passed, M failed`; exit 1 on any failure.
"""
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import query_oracle as qo  # noqa: E402  (query headers, parameters, comparison)
from moto_s3 import check, free_port, moto_server, summary  # noqa: E402

import boto3  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402


def wait_port(port, proc, what, seconds=60):
    import socket
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on {port}")


def ours(binary, inputs, query, values, cluster=None):
    """The dataset has the --eni-inventory columns stored; a cluster can't take the flag."""
    args = list(inputs)
    if cluster:
        args += ["--cluster", cluster]
    return qo.run_ours(binary, args, query, values, inventory=False)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                             os.path.join(qo.REPO, "target", "release", "vpcflow"))
    with moto_server() as endpoint:
        run_cluster(binary, endpoint)
    summary()


def run_cluster(binary, endpoint):
    tmp = tempfile.mkdtemp(prefix="vpcflow-ballista-")
    procs = []
    logs = []
    # Every node reads and writes S3 with these (the executors get their settings themselves).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    os.environ.update(env)
    try:
        sport = free_port()
        scheduler = subprocess.Popen([binary, "-v", "cluster", "scheduler", "--bind", f"127.0.0.1:{sport}"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "scheduler.log"), "w"),
                                     env=env)
        procs.append(scheduler)
        wait_port(sport, scheduler, "the scheduler")
        for i in range(2):
            port = free_port()
            grpc = free_port()
            log = os.path.join(tmp, f"executor{i}.log")
            logs.append(log)
            e = subprocess.Popen([binary, "-vvv", "cluster", "executor", "--scheduler", f"127.0.0.1:{sport}",
                                  "--bind", f"127.0.0.1:{port}", "--grpc-port", str(grpc), "--concurrency", "1"],
                                 stdout=subprocess.DEVNULL, stderr=open(log, "w"), env=env)
            procs.append(e)
            wait_port(port, e, f"executor {i}")
        time.sleep(2)  # registration with the scheduler
        cluster = f"df://127.0.0.1:{sport}"
        raw_dir = run_checks(binary, tmp, cluster, logs)
        convert_checks(binary, tmp, cluster, raw_dir, procs[2], endpoint)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def run_checks(binary, tmp, cluster, logs):
    # The raw test set split into six files, so a scan has partitions to share out.
    raw_dir = os.path.join(tmp, "raw")
    os.makedirs(raw_dir)
    for path in qo.LOGS:
        lines = open(path).read().splitlines()
        header, body = lines[0], [l for l in lines[1:] if l.strip()]
        half = len(body) // 2
        for j, part in enumerate((body[:half], body[half:])):
            name = f"{os.path.basename(path)[:-4]}-{j}.log"
            open(os.path.join(raw_dir, name), "w").write("\n".join([header] + part) + "\n")
    dataset = os.path.join(tmp, "dataset")
    r = subprocess.run([binary, "convert", *qo.LOGS, "-o", dataset + "/", "--partition-by", "date",
                        "--commit-rows", "300", "--eni-inventory", qo.INVENTORY, "-q"],
                       capture_output=True, text=True, timeout=300)
    check("dataset converted", r.returncode == 0, r.stderr)

    names = sorted(f[:-4] for f in os.listdir(qo.QUERIES) if f.endswith(".sql"))
    for name in names:
        q = qo.Query(name, os.path.join(qo.QUERIES, name + ".sql"))
        values = q.values()
        for label, inputs in (("raw logs", [raw_dir]), ("dataset", [dataset])):
            if label == "raw logs" and qo.needs_inventory(q):
                continue  # --eni-inventory is not available with --cluster: the dataset has them
            try:
                want_cols, want_rows = ours(binary, inputs, q, values)
                got_cols, got_rows = ours(binary, inputs, q, values, cluster)
                diff = qo.compare(f"{name} ({label})", want_cols, want_rows, got_cols, got_rows)
            except Exception as e:  # noqa: BLE001 - report and carry on
                diff = f"{type(e).__name__}: {e}"
            check(f"{name} over {label}: the cluster's answer is one machine's", not diff, diff)

    tasks = [open(l).read().count("Received task") + open(l).read().count("task_id") for l in logs]
    check("both executors ran tasks", all(t > 0 for t in tasks), tasks)

    r = subprocess.run([binary, "query", "-", "--sql", "SELECT count(*) FROM flows", "--cluster", cluster],
                       input=open(qo.LOGS[0]).read(), capture_output=True, text=True, timeout=120)
    check("standard input on a cluster: a clear error",
          r.returncode != 0 and "standard input" in r.stderr, r.stderr)
    r = subprocess.run([binary, "query", raw_dir, "--sql", "SELECT 1", "--cluster", f"df://127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=120)
    check("no scheduler there: a clear error", r.returncode != 0 and "--cluster" in r.stderr, r.stderr)
    return raw_dir


def rows_of(files):
    """The rows of Parquet files, as a multiset of JSON texts of their non-null columns (files of
    work units whose inputs have other layouts have other columns; readers unite them by name)."""
    out = collections.Counter()
    for f in files:
        out.update(json.dumps({k: v for k, v in r.items() if v is not None}, sort_keys=True, default=str)
                   for r in pq.read_table(f).to_pylist())
    return out


def local_rows(dataset):
    lines = open(os.path.join(dataset, "_vpcflow_manifest.jsonl")).read().splitlines()[1:]
    return rows_of(os.path.join(dataset, f) for u in lines for f in json.loads(u)["files"])


def convert_checks(binary, tmp, cluster, raw_dir, victim, endpoint):
    def convert(inputs, out, *more):
        stats = os.path.join(tmp, "stats.json")
        if os.path.exists(stats):
            os.remove(stats)
        r = subprocess.run([binary, "convert", *inputs, "-o", out, "--partition-by", "date",
                            "--stats", stats, *more], capture_output=True, text=True, timeout=600)
        return r, (json.load(open(stats)) if os.path.exists(stats) else {})

    ref = os.path.join(tmp, "ref")
    r, _ = convert([raw_dir], ref + "/", "-q")
    want = local_rows(ref)
    out = os.path.join(tmp, "cds")
    r, st = convert([raw_dir], out + "/", "--cluster", cluster)
    check("convert --cluster into a local dataset: the rows of a local conversion",
          r.returncode == 0 and local_rows(out) == want, (r.stderr, st))
    ex = st.get("executors", {})
    check("--stats: both executors, their tasks and rows adding up",
          len(ex) == 2 and all(e["tasks"] > 0 for e in ex.values())
          and sum(e["rows"] for e in ex.values()) == st.get("rows_written") == sum(want.values())
          and st["records"] == st["rows_written"] + st["rejected"], st)
    check("nothing left in staging", not os.path.exists(os.path.join(out, "_staging")))
    r, st = convert([raw_dir], out + "/", "--cluster", cluster)
    check("a re-run skips every input", r.returncode == 0 and st.get("records") == 0
          and "already converted" in r.stderr, (r.stderr, st))

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="cluster")
    r, st = convert([raw_dir], "s3://cluster/ds/", "--cluster", cluster)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="cluster", Prefix="ds/").get("Contents", [])]
    files = []
    for k in keys:
        if k.endswith(".parquet"):
            path = os.path.join(tmp, "s3-" + k.replace("/", "_"))
            s3.download_file("cluster", k, path)
            files.append(path)
    check("convert --cluster into s3://: the rows of a local conversion, nothing staged",
          r.returncode == 0 and rows_of(files) == want and not any("_staging" in k for k in keys),
          (r.stderr, keys))

    # A bigger run, and one executor killed while it works.
    big = os.path.join(tmp, "big")
    os.makedirs(big)
    gen = os.path.join(qo.REPO, "..", "shared", "bench", "genflows.py")
    for i in range(12):
        subprocess.run([sys.executable, gen, "--format", "default", "--records", "60000", "--seed", str(i),
                        "--start", str(1700000000 + i * 3600), "--out", os.path.join(big, f"f{i:02}.log")],
                       check=True)
    ref = os.path.join(tmp, "bigref")
    convert([big], ref + "/", "-q")
    want = local_rows(ref)
    out = os.path.join(tmp, "killed")
    p = subprocess.Popen([binary, "convert", big, "-o", out + "/", "--partition-by", "date",
                          "--cluster", cluster, "--threads", "1", "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    victim.send_signal(signal.SIGKILL)
    try:
        _, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    first = p.returncode
    check("executor killed mid-convert: the run finishes on the survivor or fails clearly",
          first == 0 or ("error" in err and len(err) < 5000), (first, err[-2000:]))
    r, st = convert([big], out + "/", "--cluster", cluster, "--threads", "1")
    check("…and a re-run completes with every record exactly once",
          r.returncode == 0 and local_rows(out) == want and not os.path.exists(os.path.join(out, "_staging")),
          (r.stderr[-2000:], st, sum(local_rows(out).values()), sum(want.values())))


if __name__ == "__main__":
    main()
