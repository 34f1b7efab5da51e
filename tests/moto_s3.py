"""What the S3 test scripts share: a moto S3 server on 127.0.0.1 (started and stopped here, bounded
in time), pass/fail bookkeeping, and reading a Parquet file's rows."""
import contextlib
import os
import socket
import subprocess
import sys
import time

import pyarrow.parquet as pq

PASSED = FAILED = 0


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok    {name}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL  {name}: {detail}"[:3000], flush=True)


def summary():
    """Prints `N passed, M failed` and exits 1 on any failure."""
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def moto_server():
    """Runs moto's S3 (and STS) server on a free port of 127.0.0.1; yields its endpoint URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("moto server did not start")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def rows(path):
    """A Parquet file's rows (dicts), without the CloudWatch log group/stream columns."""
    t = pq.read_table(path)
    drop = [c for c in t.column_names if c in ("log_group", "log_stream")]
    return t.drop(drop).to_pylist()
