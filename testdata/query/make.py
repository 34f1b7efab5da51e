#!/usr/bin/env python3
"""Regenerates the query test set (run from this folder): flows from ../shared/bench/genflows.py
(all 40 v2-v8 fields, and Transit Gateway), plus hot.log, a hand-shaped default-layout file with
patterns the canned queries and alert rules look for (a scanner, a heavy talker, SSH/RDP from the
internet, a fan-out, a SKIPDATA gap). inventory.json (written by hand) describes its interfaces
(instances, Name tags, security groups) for --eni-inventory."""
import subprocess
import sys

GEN = sys.argv[1] if len(sys.argv) > 1 else "../../../shared/bench/genflows.py"
subprocess.run([sys.executable, GEN, "--format", "all", "--records", "1500", "--seed", "41",
                "--out", "logs/vpc-all.log"], check=True)
subprocess.run([sys.executable, GEN, "--format", "tgw", "--records", "300", "--seed", "42",
                "--out", "logs/tgw.log"], check=True)

T0 = 1700003600
ENI_WEB, ENI_DB = "eni-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f60002"
WEB, DB = "10.0.1.10", "10.0.2.20"
SCANNER, TALKER, ADMIN = "198.51.100.7", "203.0.113.50", "192.0.2.99"
rows = []
def add(eni, src, dst, sp, dp, proto, pk, by, start, action, status="OK"):
    rows.append(f"2 123456789012 {eni} {src} {dst} {sp} {dp} {proto} {pk} {by} {start} {start + 60} {action} {status}")
# a scanner probing many ports on the web server, all rejected
for i, port in enumerate([22, 23, 25, 80, 135, 139, 443, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 9200] * 3):
    add(ENI_WEB, SCANNER, WEB, 40000 + i, port, 6, 1, 44, T0 + i * 20, "REJECT")
# a heavy talker pulling from the web server over HTTPS
for i in range(30):
    add(ENI_WEB, WEB, TALKER, 443, 50000 + i, 6, 9000, 12_000_000 + i * 1000, T0 + i * 60, "ACCEPT")
# SSH and RDP accepted from the internet
add(ENI_WEB, ADMIN, WEB, 51515, 22, 6, 40, 9000, T0 + 120, "ACCEPT")
add(ENI_DB, ADMIN, DB, 51516, 3389, 6, 35, 7000, T0 + 180, "ACCEPT")
# database traffic inside the VPC, and a rejected attempt on a port outside the allow-list
for i in range(20):
    add(ENI_DB, WEB, DB, 33000 + i, 5432, 6, 20, 4000 + i, T0 + i * 90, "ACCEPT")
add(ENI_DB, WEB, DB, 33100, 6379, 6, 3, 180, T0 + 300, "REJECT")
# a host sweeping its neighbours for SMB: 30 addresses within 90 seconds (a fan-out)
APP, ENI_APP = "10.0.3.30", "eni-0a1b2c3d4e5f60003"
for i in range(30):
    add(ENI_APP, APP, f"10.0.3.{100 + i}", 49152 + i, 445, 6, 2, 120, T0 + 600 + i * 3, "ACCEPT")
# UDP and ICMP
add(ENI_WEB, WEB, "10.0.0.2", 53001, 53, 17, 2, 120, T0 + 30, "ACCEPT")
add(ENI_WEB, "10.0.0.5", WEB, 0, 0, 1, 4, 336, T0 + 40, "ACCEPT")
# an interface with nothing to log, and one whose records were skipped
rows.append(f"2 123456789012 {ENI_DB} - - - - - - - {T0 + 1800} {T0 + 1860} - NODATA")
rows.append(f"2 123456789012 {ENI_WEB} - - - - - - - {T0 + 2400} {T0 + 2460} - SKIPDATA")
with open("logs/hot.log", "w") as f:
    f.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
    f.write("\n".join(rows) + "\n")
