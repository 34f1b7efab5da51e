#!/usr/bin/env python3
"""`vpcflow report` in a real headless browser (Debian's chromium, installed here if missing):
the page loads with no script error and no network request (Chromium's own net log is read),
every chart is there with the number of marks an independent count over the raw logs expects,
and a screenshot is taken.

  python tests/report_browser.py target/release/vpcflow [--screenshot docs/report.png]
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(REPO, "testdata", "query", "logs")
PASSED = FAILED = 0
TOP = 10


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok    {name}")
    else:
        FAILED += 1
        print(f"FAIL  {name}\n{str(detail)[:3000]}")


def chromium():
    path = shutil.which("chromium")
    if path:
        return path
    print("report_browser: installing Debian's chromium", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return shutil.which("chromium")


def browser(exe, profile, *args):
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           "--disable-default-apps", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


# ---- an independent count of what each chart must show, from the raw logs ----

def records():
    for name in sorted(os.listdir(LOGS)):
        with open(os.path.join(LOGS, name)) as f:
            header = f.readline().split()
            cols = [h.replace("-", "_") for h in header]
            for line in f:
                toks = line.split()
                if toks:
                    yield {c: (None if t == "-" else t) for c, t in zip(cols, toks)}


def bucket_seconds(span):
    for b in [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]:
        if span // b < 240:
            return b
    return (span // 86400 // 240 + 1) * 86400


def expected_marks():
    rs = list(records())
    num = lambda r, k: int(r[k]) if r.get(k) is not None else None
    first = min(num(r, "start") for r in rs if r.get("start"))
    last = max(num(r, "end") for r in rs if r.get("end"))
    b = bucket_seconds(max(last - first, 0))
    timed = [num(r, "start") - num(r, "start") % b for r in rs if r.get("start") and r.get("action")]
    n = (max(timed) - min(timed)) // b + 1
    pairs = {(r["srcaddr"], r["dstaddr"]) for r in rs if r.get("srcaddr") and r.get("dstaddr")}
    rej_src = {r["srcaddr"] for r in rs if r.get("action") == "REJECT" and r.get("srcaddr")}
    rej_port = {(r["dstport"], r.get("protocol")) for r in rs if r.get("action") == "REJECT" and r.get("dstport")}
    direction = {(r["flow_direction"], r["action"]) for r in rs if r.get("flow_direction") and r.get("action")}
    protocols = {r["protocol"] for r in rs if r.get("protocol")}
    services = {(r["pkt_src_aws_service"], "from") for r in rs if r.get("pkt_src_aws_service")} | \
               {(r["pkt_dst_aws_service"], "to") for r in rs if r.get("pkt_dst_aws_service")}
    per_if = {}
    for r in rs:
        if r.get("interface_id") and r.get("bytes"):
            per_if[r["interface_id"]] = per_if.get(r["interface_id"], 0) + int(r["bytes"])
    top_if = set(sorted(per_if, key=lambda i: (-per_if[i], i))[:20])
    cells = {}
    for r in rs:
        if r.get("interface_id") in top_if and r.get("bytes") and r.get("start"):
            k = (r["interface_id"], num(r, "start") - num(r, "start") % b)
            cells[k] = cells.get(k, 0) + int(r["bytes"])
    gaps = {(r["interface_id"], r["log_status"]) for r in rs
            if r.get("log_status") in ("NODATA", "SKIPDATA") and r.get("interface_id")}
    return {
        "over-time": 2 * 2 * n,
        "top-talkers": min(TOP, len(pairs)),
        "rejected-sources": min(TOP, len(rej_src)),
        "rejected-ports": min(TOP, len(rej_port)),
        "direction": len(direction),
        "protocols": len(protocols),
        "aws-services": len(services),
        "heat": sum(1 for v in cells.values() if v > 0),
        "gaps": min(TOP, len(gaps)),
    }


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.body = {}
        self.sections = {}
        self.section = None
        self.rects = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "section":
            self.section = a.get("id")
            self.sections[self.section] = a
            self.rects[self.section] = 0
        elif tag == "rect" and "mark" in (a.get("class") or "").split() and self.section:
            self.rects[self.section] += 1


def page_requests(netlog):
    """URLs the page asked for (the browser's own background requests have no origin)."""
    try:
        log = json.load(open(netlog))
    except (OSError, ValueError) as e:
        return [f"no net log: {e}"]
    names = {v: k for k, v in log.get("constants", {}).get("logEventTypes", {}).items()}
    urls = set()
    for e in log.get("events", []):
        p = e.get("params") or {}
        url = p.get("url")
        if names.get(e.get("type")) == "URL_REQUEST_START_JOB" and p.get("initiator") != "not an origin":
            if url and not url.startswith(("file:", "data:")):
                urls.add(url)
    return sorted(urls)


def main():
    binary = os.path.abspath(sys.argv[1])
    shot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    exe = chromium()
    check("chromium is there", bool(exe))
    tmp = tempfile.mkdtemp(prefix="vpcflow-report-")
    try:
        report = os.path.join(tmp, "report.html")
        p = subprocess.run([binary, "report", LOGS, "-o", report, "--top", str(TOP), "-q"],
                           capture_output=True, text=True, timeout=300)
        check("report written", p.returncode == 0 and os.path.exists(report), p.stderr)
        text = open(report).read()
        check("self-contained: a CSP that forbids fetching, no external references",
              "default-src 'none'" in text
              and not re.search(r"(src|href)\s*=|<link|<img|<iframe|@import|url\(", text, re.I)
              and not re.search(r"https?://", text), re.findall(r"(?:src|href)=\S+|https?://\S+", text)[:5])

        netlog = os.path.join(tmp, "net.json")
        p = browser(exe, os.path.join(tmp, "profile"), "--enable-logging=stderr", "--v=0",
                    "--host-resolver-rules=MAP * ~NOTFOUND", f"--log-net-log={netlog}",
                    "--virtual-time-budget=3000", "--dump-dom", "file://" + report)
        check("chromium loaded the page", p.returncode == 0 and "<body" in p.stdout, p.stderr[-2000:])
        console = [l for l in p.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
        check("no console messages (errors) from the page", not console, "\n".join(console))
        remote = page_requests(netlog)
        check("no network requests from the page in chromium's net log", remote == [], remote)
        # The net-log check itself can fail: a page that fetches an image is caught.
        control = os.path.join(tmp, "control.html")
        with open(control, "w") as f:
            f.write('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
        netlog2 = os.path.join(tmp, "net2.json")
        browser(exe, os.path.join(tmp, "profile3"), "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--log-net-log={netlog2}", "--virtual-time-budget=2000", "--dump-dom", "file://" + control)
        check("the net-log check sees a page's request (control page)",
              "http://127.0.0.1:9/x.png" in (page_requests(netlog2) or []))

        dom = Dom()
        dom.feed(p.stdout)
        check("the page's script ran to the end", dom.body.get("data-ready") == "1", dom.body)
        check("the page's script saw no error", "data-error" not in dom.body, dom.body.get("data-error"))
        want = expected_marks()
        check("every chart section is present", set(want) <= set(dom.sections),
              f"missing {set(want) - set(dom.sections)}")
        for sid, n in want.items():
            got = dom.rects.get(sid)
            counted = dom.sections.get(sid, {}).get("data-marks")
            check(f"{sid}: {n} marks", got == n and counted == str(n),
                  f"DOM has {got}, the page counted {counted}, expected {n}")
            part = text.split(f'<section id="{sid}"', 1)[-1].split("</section>", 1)[0]
            check(f"{sid}: numbers and SQL are there",
                  "<summary>Numbers" in part and re.search(r"<summary>SQL</summary><pre>.*FROM flows", part, re.S),
                  part[-1500:])

        png = shot or os.path.join(tmp, "report.png")
        p = browser(exe, os.path.join(tmp, "profile2"), "--hide-scrollbars", "--window-size=1280,2200",
                    "--host-resolver-rules=MAP * ~NOTFOUND",
                    f"--screenshot={png}", "file://" + report)
        ok = os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        check("screenshot taken", ok and os.path.getsize(png) > 20000, p.stderr[-1000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
