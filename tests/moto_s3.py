"""What the S3 test scripts share: a moto S3 server on 127.0.0.1 (started and stopped here, bounded
in time), pass/fail bookkeeping, and reading a Parquet file's rows."""
import contextlib
import http.client
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
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
def moto_server(env=None):
    """Runs moto's server (S3, IAM, STS…) on a free port of 127.0.0.1, with `env` added to its
    environment (INITIAL_NO_AUTH_ACTION_COUNT turns authentication on); yields its endpoint URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=dict(os.environ, **(env or {})),
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


def proxy(upstream_port, flaky=False):
    """An endpoint in front of moto that forwards every request and records who signed it:
    (method, path, access key id, AWS service, whether a session token came along). With
    `flaky`, each request's first attempt is answered 503 SlowDown (as S3 does under load) and
    only the retry is forwarded. Returns (endpoint, server, attempts per request, records)."""
    seen, log = {}, []

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def relay(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = (self.command, self.path, self.headers.get("Range"))
            seen[key] = seen.get(key, 0) + 1
            auth = re.search(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
            log.append((self.command, self.path, auth and auth.group(1), auth and auth.group(2),
                        "X-Amz-Security-Token" in self.headers))
            if flaky and seen[key] == 1:
                err = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(err)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(err)
                return
            up = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            up.request(self.command, self.path, body=body or None, headers=dict(self.headers))
            resp = up.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", resp.getheader("Content-Length") or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            up.close()

        do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = relay

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server, seen, log
