#!/usr/bin/env python3
"""`vpcflow alert --smtp` against a real SMTP server (aiosmtpd) on 127.0.0.1, started and stopped
here: the messages that arrive (envelope recipients, subject, plain-text and HTML parts with the
rows), recipients overridden by --to, SMTP AUTH with credentials from the environment, STARTTLS
and TLS with a certificate from a throw-away CA, and the failures (server unreachable, wrong
password, untrusted certificate): a clear error, the alert still printed, exit 1.

  python tests/alerts_smtp.py target/release/vpcflow
Ends with `N passed, M failed`; exit 1 on any failure.
"""
import email
import email.policy
import logging
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", message="Requiring AUTH")
# aiosmtpd logs the handshakes our client refuses on purpose; the checks below say what matters.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(REPO, "testdata", "query", "logs")
INVENTORY = os.path.join(REPO, "testdata", "query", "inventory.json")
PASSED = FAILED = 0


def check(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok    {name}")
    else:
        FAILED += 1
        print(f"FAIL  {name}\n{detail}")


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), envelope.mail_from, msg))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"alerts" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_pki(d, ca_name="vpcflow test CA"):
    """A CA, and a certificate for localhost/127.0.0.1 signed by it."""
    ca_key, ca, key, csr, cert = (os.path.join(d, n) for n in ("ca.key", "ca.pem", "key.pem", "req.csr", "cert.pem"))
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", f"/CN={ca_name}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
            "-days", "2", "-extfile", ext)
    return ca, cert, key


def cert_of_other_ca(d):
    other = os.path.join(d, "other")
    os.makedirs(other, exist_ok=True)
    return make_pki(other, "some other CA")[0]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(binary, args, env=None):
    e = dict(os.environ)
    e.pop("VPCFLOW_SMTP_USER", None)
    e.pop("VPCFLOW_SMTP_PASSWORD", None)
    e.update(env or {})
    # args[0] is the rule, the rest the inputs and options.
    return subprocess.run([binary, "alert", "--rule", *args], capture_output=True, text=True, timeout=120, env=e)


def parts(msg):
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return plain, html


def main():
    binary = os.path.abspath(sys.argv[1])
    listed = subprocess.run([binary, "alert", "--list"], capture_output=True, text=True, timeout=60)
    rules = [l.split()[0] for l in listed.stdout.splitlines() if l and not l.startswith(" ")]
    check("at least five shipped rules", len(rules) >= 5, listed.stdout)

    # 1. Every shipped rule over the test set, mailed to a plain server.
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        # The inventory gives the security-group rule its column; the test set's busiest group
        # has 16 rejected flows in one window, so its threshold is lowered to fire.
        p = run(binary, ["all", LOGS, "--smtp", f"smtp://127.0.0.1:{port}", "--from", "flows@example.org",
                         "--eni-inventory", INVENTORY, "--param", "sg_min_rejects=10"])
        check("rules fired: exit 4", p.returncode == 4, p.stderr)
        fired = [l.split()[2].rstrip(":") for l in p.stdout.splitlines() if l.startswith("ALERT ")]
        check("every shipped rule fires on the test set", sorted(fired) == sorted(rules), f"{fired} vs {rules}")
        deadline = time.time() + 10
        while len(inbox.messages) < len(fired) and time.time() < deadline:
            time.sleep(0.05)
        check("one email per firing rule", len(inbox.messages) == len(fired),
              f"{len(inbox.messages)} messages for {len(fired)} rules\n{p.stderr}")
        by_subject = {m["Subject"]: (rcpt, frm, m) for rcpt, frm, m in inbox.messages}
        ssh = [s for s in by_subject if "SSH/RDP accepted from the internet" in s]
        check("subject of the SSH/RDP rule, with its severity", len(ssh) == 1 and ssh[0].startswith("[vpcflow high] "),
              "\n".join(by_subject))
        if ssh:
            rcpt, frm, msg = by_subject[ssh[0]]
            plain, html = parts(msg)
            check("recipients from the rule header", rcpt == ["secops@example.com"], str(rcpt))
            check("sender", frm == "flows@example.org", frm)
            check("plain part has the rows", "192.0.2.99" in plain and "srcaddr" in plain, plain)
            check("html part has the rows as a table",
                  "<table>" in html and "<td>192.0.2.99</td>" in html and "<th>srcaddr</th>" in html, html[:2000])
            check("the SQL is in the message", "dstport IN (22, 3389)" in plain, plain)
        spike = [m for s, (_, _, m) in by_subject.items() if "rejected-traffic spikes" in s]
        check("rejected spike names the scanner", bool(spike) and "198.51.100.7" in parts(spike[0])[0])
        egress = [r for s, (r, _, _) in by_subject.items() if "egress threshold" in s]
        check("several recipients", egress == [["netops@example.com", "finance@example.com"]], str(egress))

        # 2. --to overrides the rules' recipients; a quiet rule sends nothing and exits 0.
        inbox.messages.clear()
        p = run(binary, ["skipdata", LOGS, "--smtp", f"smtp://127.0.0.1:{port}", "--to", "oncall@example.net"])
        time.sleep(0.2)
        check("--to overrides recipients",
              p.returncode == 4 and [m[0] for m in inbox.messages] == [["oncall@example.net"]],
              f"{p.returncode} {inbox.messages}\n{p.stderr}")
        inbox.messages.clear()
        p = run(binary, ["rejected_spike", LOGS, "--param", "min_rejects=100000",
                         "--smtp", f"smtp://127.0.0.1:{port}"])
        time.sleep(0.2)
        check("nothing fired: exit 0, no email", p.returncode == 0 and not inbox.messages and p.stdout == "",
              f"{p.returncode} {p.stdout} {p.stderr}")
    finally:
        ctl.stop()

    # 3. SMTP AUTH with credentials from the environment.
    inbox = Inbox()
    port = free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                     auth_required=True, auth_require_tls=False)
    ctl.start()
    try:
        url = f"smtp://alerts@127.0.0.1:{port}"
        p = run(binary, ["skipdata", LOGS, "--smtp", url], {"VPCFLOW_SMTP_PASSWORD": "s3cret"})
        time.sleep(0.2)
        check("AUTH with the right password delivers", p.returncode == 4 and len(inbox.messages) == 1, p.stderr)
        p = run(binary, ["skipdata", LOGS, "--smtp", url], {"VPCFLOW_SMTP_PASSWORD": "wrong"})
        check("wrong password: exit 1, alert printed, clear error",
              p.returncode == 1 and p.stdout.startswith("ALERT LOW skipdata") and "email not sent" in p.stderr,
              f"{p.returncode}\n{p.stdout}\n{p.stderr}")
        p = run(binary, ["skipdata", LOGS, "--smtp", url])
        check("user without password: refused before anything runs",
              p.returncode == 1 and "VPCFLOW_SMTP_PASSWORD" in p.stderr, p.stderr)
    finally:
        ctl.stop()

    # 4. STARTTLS and TLS, with a certificate for localhost from a throw-away CA that only this
    # run trusts (SSL_CERT_FILE is where rustls-native-certs looks first).
    pki = tempfile.mkdtemp(prefix="vpcflow-smtp-tls-")
    try:
        ca, cert, key = make_pki(pki)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        trust = {"SSL_CERT_FILE": ca}
        inbox = Inbox()
        port = free_port()
        ctl = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost",
                         tls_context=ctx, require_starttls=True)
        ctl.start()
        try:
            p = run(binary, ["skipdata", LOGS, "--smtp", f"smtp+starttls://localhost:{port}"], trust)
            time.sleep(0.2)
            check("STARTTLS delivers", p.returncode == 4 and len(inbox.messages) == 1, p.stderr)
            p = run(binary, ["skipdata", LOGS, "--smtp", f"smtp+starttls://localhost:{port}"],
                    {"SSL_CERT_FILE": cert_of_other_ca(pki)})
            check("STARTTLS with an untrusted certificate: refused, exit 1",
                  p.returncode == 1 and "email not sent" in p.stderr and len(inbox.messages) == 1, p.stderr)
            p = run(binary, ["skipdata", LOGS, "--smtp", f"smtp://localhost:{port}"], trust)
            check("plain SMTP to a server that requires STARTTLS: refused, exit 1",
                  p.returncode == 1 and "email not sent" in p.stderr, p.stderr)
        finally:
            ctl.stop()
        inbox = Inbox()
        port = free_port()
        ctl = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost",
                         ssl_context=ctx)
        ctl.start()
        try:
            p = run(binary, ["skipdata", LOGS, "--smtp", f"smtps://localhost:{port}"], trust)
            time.sleep(0.2)
            check("TLS (smtps) delivers", p.returncode == 4 and len(inbox.messages) == 1, p.stderr)
        finally:
            ctl.stop()
    finally:
        shutil.rmtree(pki, ignore_errors=True)

    # 5. Nobody listening.
    port = free_port()
    t = time.time()
    p = run(binary, ["skipdata", LOGS, "--smtp", f"smtp://127.0.0.1:{port}", "--smtp-timeout", "5"])
    check("unreachable server: exit 1, alert printed, error names the server",
          p.returncode == 1 and p.stdout.startswith("ALERT LOW skipdata")
          and f"127.0.0.1:{port}" in p.stderr and "email not sent" in p.stderr,
          f"{p.returncode}\n{p.stdout}\n{p.stderr}")
    check("unreachable server: gives up within the timeout", time.time() - t < 30)
    p = run(binary, ["skipdata", LOGS, "--smtp", "mail.example.com"])
    check("bad --smtp URL: clear error", p.returncode != 0 and "smtp://" in p.stderr, p.stderr)

    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
