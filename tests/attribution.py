#!/usr/bin/env python3
"""Attribution columns (--eni-inventory, --eni-inventory-time, --aws-ip-ranges) and the SQL
address functions (ip_in_cidr, is_private_ip, ip_prefix), checked against an oracle written
here in Python with `ipaddress`.

  python tests/attribution.py [PATH/TO/vpcflow]      (default: target/release/vpcflow)

Needs pyarrow (`.ci/python-deps.sh` makes a venv that has it). Everything it reads is generated
in a temporary directory:

  * ENI inventory snapshots shaped like `aws ec2 describe-network-interfaces` output: ENIs of
    type interface, nat_gateway, lambda, vpc_endpoint and network_load_balancer, several
    security groups, IPv6 addresses, public IPs (Association.PublicIp on the interface and on a
    secondary private address), delegated IPv4/IPv6 prefixes (nested, and an exact address
    inside one), an address handed from one ENI to another between snapshots, the same private
    address in two VPCs, an ENI created late, one deleted, one detached. Four snapshots whose
    capture times come from a date-only file name, a date-time file name (and several pages
    appended in one file), --eni-inventory-time (a file name with a misleading date), a gzip
    file with a compact date-time name; the same snapshots as a directory (one taking its time
    from its modification time).
  * an ip-ranges.json subset: AMAZON and specific services on the same prefix in either order,
    two specific services on one prefix, nested prefixes (specific inside AMAZON and AMAZON
    inside specific), regions differing between entries of one prefix, IPv6 prefixes.
  * flow logs with a header: v2 default layout, and a custom layout with vpc-id; records
    starting before, at, between and after the snapshots and without a start, addresses hitting
    every lookup case (and none), IPv6, `-` fields.

Then every added column of every row of `convert` (Parquet, NDJSON) and `query --format json`
is compared with the oracle; the SQL functions are compared with `ipaddress` over random and
edge-case addresses and CIDRs; malformed inventory and ranges files must fail with the file and
a position named, leaving no output file.

Ends with the line `N passed, M failed`; exits 1 if anything failed.
"""
import calendar
import gzip
import ipaddress
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

PASSED = 0
FAILED = 0
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def check(what, fn, *args):
    """Runs fn(*args); it returns None (pass) or a failure detail, or raises (fail)."""
    try:
        detail = fn(*args)
    except Exception:
        fail(what, traceback.format_exc())
        return
    if detail:
        fail(what, detail)
    else:
        ok(what)


def utc(text):
    """Unix seconds of 'YYYY-MM-DDTHH:MM:SS' (UTC)."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


def run(binary, args, timeout=120):
    return subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------- fixtures: the ENI inventory

ACCOUNT = "123456789012"
VPC_A = "vpc-0a1b2c3d4e5f6a7b8"
VPC_B = "vpc-0b9c8d7e6f5a4b3c2"
VPC_C = "vpc-0ccccccccccccccc1"   # in no snapshot
SUBNET = {VPC_A: ["subnet-0a11111111111111a", "subnet-0a22222222222222a"],
          VPC_B: ["subnet-0b11111111111111b"]}

T0 = utc("2026-11-29T00:00:00")   # enis-2026-11-29.json (date only in the name)
T1 = utc("2026-11-30T08:00:00")   # eni-2026-11-30T08-00-00Z.json (two pages appended)
T2 = utc("2026-11-30T12:00:00")   # inventory-20250101-export.json + --eni-inventory-time
T3 = utc("2026-11-30T16:30:00")   # eni-20261130T1630Z.json.gz

ENI = {name: "eni-0%016x" % (0x5eed0000 + i) for i, name in enumerate([
    "web", "nat", "lambda", "vpce", "nlb", "pfx", "exact", "wide", "old", "new", "tmp", "a9",
    "b9", "detached", "late", "unknown"])}
INST = {name: "i-0%016x" % (0xc0ffee00 + i) for i, name in enumerate([
    "web", "pfx", "exact", "old", "new", "tmp", "a9", "b9", "late", "wide"])}
SG = {name: "sg-0%016x" % (0x5a000000 + i) for i, name in enumerate([
    "web", "ssh", "mon", "lambda", "vpce", "pfx", "db", "b"])}

def eni(key, itype, vpc, subnet, private, *, description, tags=(), groups=(), instance=None,
        attach_owner=None, secondary=(), public=None, ipv6=(), v4prefixes=(), v6prefixes=(),
        requester=None, status="in-use"):
    """One NetworkInterfaces[] entry as the AWS CLI prints it. `secondary` holds
    (address, public ip or None); `public` the interface's own Association."""
    mac = "02:%02x:5e:aa:bb:cc" % (0x10 + list(ENI).index(key))
    def pia(addr, pub, primary):
        entry = {"Primary": primary, "PrivateDnsName": "ip-%s.ec2.internal" % addr.replace(".", "-"),
                 "PrivateIpAddress": addr}
        if pub:
            entry["Association"] = {"IpOwnerId": "amazon", "PublicDnsName":
                                    "ec2-%s.compute-1.amazonaws.com" % pub.replace(".", "-"),
                                    "PublicIp": pub}
        return entry
    d = {}
    if public:
        d["Association"] = {"IpOwnerId": "amazon", "PublicDnsName":
                            "ec2-%s.compute-1.amazonaws.com" % public.replace(".", "-"),
                            "PublicIp": public}
    if instance or attach_owner:
        att = {"AttachTime": "2026-11-01T10:00:00+00:00",
               "AttachmentId": "eni-attach-0%016x" % (0xa77ac400 + len(key)),
               "DeleteOnTermination": instance is not None, "DeviceIndex": 0 if instance else 1,
               "NetworkCardIndex": 0, "Status": "attached"}
        if instance:
            att["InstanceId"] = instance
            att["InstanceOwnerId"] = ACCOUNT
        else:
            att["InstanceOwnerId"] = attach_owner
        d["Attachment"] = att
    d.update({
        "AvailabilityZone": "us-west-2a",
        "ConnectionTrackingConfiguration": {"TcpEstablishedTimeout": 432000,
                                            "UdpStreamTimeout": 180, "UdpTimeout": 30},
        "Description": description,
        "Groups": [{"GroupId": SG[g], "GroupName": g + "-sg"} for g in groups],
        "InterfaceType": itype,
        "Ipv6Addresses": [{"Ipv6Address": a, "IsPrimaryIpv6": i == 0} for i, a in enumerate(ipv6)],
        "MacAddress": mac,
        "NetworkInterfaceId": ENI[key],
        "OwnerId": ACCOUNT,
        "PrivateDnsName": "ip-%s.ec2.internal" % private.replace(".", "-"),
        "PrivateIpAddress": private,
        "PrivateIpAddresses": [pia(private, public, True)] + [pia(a, p, False) for a, p in secondary],
        "RequesterManaged": requester is not None,
        "SourceDestCheck": itype == "interface",
        "Status": status,
        "SubnetId": subnet,
        "TagSet": [{"Key": k, "Value": v} for k, v in tags],
        "VpcId": vpc,
    })
    if requester:
        d["RequesterId"] = requester
    if v4prefixes:
        d["Ipv4Prefixes"] = [{"Ipv4Prefix": p} for p in v4prefixes]
    if v6prefixes:
        d["Ipv6Prefixes"] = [{"Ipv6Prefix": p} for p in v6prefixes]
    if ipv6:
        d["Ipv6Address"] = ipv6[0]
    return d


def snapshots():
    """The four snapshots' NetworkInterfaces lists, in capture order."""
    sa, sa2 = SUBNET[VPC_A]
    sb = SUBNET[VPC_B][0]
    def web(stage):
        name = "web-1" if stage < 2 else "web-1-renamed"
        groups = [["web", "ssh"], ["web", "ssh", "mon"], ["web", "ssh", "mon"], ["mon"]][stage]
        secondary = [("10.0.1.11", "54.200.10.11")] + ([("10.0.1.77", None)] if stage >= 2 else [])
        return eni("web", "interface", VPC_A, sa, "10.0.1.10",
                   description="web server primary" if stage else "",
                   tags=[("env", "prod"), ("Name", name), ("team", "edge")],
                   groups=groups, instance=INST["web"], secondary=secondary,
                   public="54.200.10.10", ipv6=["2600:1f14:abc:1200::10", "2600:1f14:abc:1200::11"])
    nat = lambda: eni("nat", "nat_gateway", VPC_A, sa, "10.0.0.20",
                      description="Interface for NAT Gateway nat-0a1b2c3d4e5f60718",
                      attach_owner="amazon-aws", public="3.120.5.6", requester="AIDAJ3Z7EXAMPLE")
    def lam(stage):
        return eni("lambda", "lambda", VPC_A, sa2, "10.0.2.30",
                   description="AWS Lambda VPC ENI-orders-handler-" + ("7c1e" if stage < 3 else "9d2f"),
                   groups=["lambda"], attach_owner="amazon-aws",
                   requester="AROAJ2EXAMPLE:orders-handler",
                   tags=[("name", "lowercase-name-is-not-the-Name-tag")])
    vpce = lambda: eni("vpce", "vpc_endpoint", VPC_A, sa2, "10.0.3.40",
                       description="VPC Endpoint Interface vpce-0f1e2d3c4b5a69788",
                       groups=["vpce", "web"], attach_owner="amazon-aws",
                       requester="727180483921", ipv6=["2600:1f14:abc:1300::40"])
    nlb = lambda: eni("nlb", "network_load_balancer", VPC_A, sa, "10.0.4.50",
                      description="ELB net/public-nlb/50dc6c495c0c9188", attach_owner="amazon-elb",
                      requester="amazon-elb", public="52.10.20.30")
    pfx = lambda: eni("pfx", "interface", VPC_A, sa2, "10.0.5.5", description="k8s node",
                      tags=[("Name", "node-a")], groups=["pfx", "ssh", "mon", "web"],
                      instance=INST["pfx"], v4prefixes=["10.0.5.16/28", "10.0.5.48/28"],
                      v6prefixes=["2600:1f14:abc:1500:1::/80"])
    exact = lambda: eni("exact", "interface", VPC_A, sa2, "10.0.5.20", description="exact holder",
                        tags=[("Name", "exact")], groups=["db"], instance=INST["exact"])
    wide = lambda: eni("wide", "interface", VPC_A, sa2, "10.0.6.1", description="wide prefixes",
                       tags=[("Name", "wide")], groups=["db"], instance=INST["wide"],
                       v4prefixes=["10.0.5.0/24"], v6prefixes=["2600:1f14:abc:1500::/64"])
    old = lambda: eni("old", "interface", VPC_A, sa, "10.0.1.99", description="old box",
                      tags=[("Name", "old")], groups=["web"], instance=INST["old"])
    new = lambda: eni("new", "interface", VPC_A, sa, "10.0.1.99", description="new box",
                      tags=[("Name", "new")], groups=["web", "mon"], instance=INST["new"])
    tmp = lambda: eni("tmp", "interface", VPC_A, sa, "10.0.1.88", description="short-lived",
                      groups=["web"], instance=INST["tmp"])
    a9 = lambda: eni("a9", "interface", VPC_A, sa, "10.0.9.9", description="dup in A",
                     tags=[("Name", "dup-a")], groups=["web"], instance=INST["a9"])
    b9 = lambda: eni("b9", "interface", VPC_B, sb, "10.0.9.9", description="dup in B",
                     tags=[("Name", "dup-b")], groups=["b"], instance=INST["b9"],
                     secondary=[("10.0.9.10", None)])
    detached = lambda: eni("detached", "interface", VPC_A, sa, "10.0.8.8",
                           description="spare interface", status="available", groups=["db"])
    late = lambda: eni("late", "interface", VPC_B, sb, "10.0.7.7", description="created late",
                       tags=[("Name", "late")], groups=["b"], instance=INST["late"])
    s0 = [web(0), nat(), lam(0), old(), a9(), b9(), pfx(), exact()]
    s1 = [web(1), nat(), lam(1), vpce(), nlb(), old(), a9(), b9(), pfx(), exact(), wide(), tmp(),
          detached()]
    s2 = [web(2), nat(), lam(2), vpce(), nlb(), new(), a9(), b9(), pfx(), exact(), wide(), detached()]
    s3 = [web(3), nat(), lam(3), vpce(), nlb(), new(), a9(), b9(), pfx(), exact(), wide(),
          detached(), late()]
    return [s0, s1, s2, s3]


def write_inventory(tmp):
    """Writes the snapshot files; returns {label: path} and the snapshots [(time, enis)]."""
    s0, s1, s2, s3 = snapshots()
    paths = {}
    paths["s0"] = os.path.join(tmp, "enis-2026-11-29.json")
    with open(paths["s0"], "w") as f:
        json.dump({"NetworkInterfaces": s0}, f, indent=4)
        f.write("\n")
    # two pages appended, as `aws ec2 describe-network-interfaces --max-items` runs stored one
    # after another (the first with its NextToken)
    paths["s1"] = os.path.join(tmp, "eni-2026-11-30T08-00-00Z.json")
    with open(paths["s1"], "w") as f:
        json.dump({"NetworkInterfaces": s1[:6], "NextToken": "eyJOZXh0VG9rZW4iOiBudWxsfQ=="}, f,
                  indent=4)
        f.write("\n")
        json.dump({"NetworkInterfaces": s1[6:]}, f, indent=4)
        f.write("\n")
    # the name's date is wrong on purpose: --eni-inventory-time must win
    paths["s2"] = os.path.join(tmp, "inventory-20250101-export.json")
    with open(paths["s2"], "w") as f:
        json.dump({"NetworkInterfaces": s2}, f)   # compact, one line
    paths["s3"] = os.path.join(tmp, "eni-20261130T1630Z.json.gz")
    with gzip.open(paths["s3"], "wt") as f:
        json.dump({"NetworkInterfaces": s3}, f, indent=2)
    # the same snapshots as a directory; "noon.json" has no date in its name: its mtime counts
    d = os.path.join(tmp, "inventory-dir")
    os.mkdir(d)
    for k in ("s0", "s1", "s3"):
        shutil.copy(paths[k], d)
    shutil.copy(paths["s2"], os.path.join(d, "noon.json"))
    os.utime(os.path.join(d, "noon.json"), (T2, T2))
    with open(os.path.join(d, "README.txt"), "w") as f:
        f.write("not a snapshot: only *.json and *.json.gz files are\n")
    paths["dir"] = d
    return paths, [(T0, s0), (T1, s1), (T2, s2), (T3, s3)]


# ---------------------------------------------------------------- fixtures: ip-ranges.json

def ranges_doc():
    def p4(prefix, region, service):
        return {"ip_prefix": prefix, "region": region, "service": service,
                "network_border_group": region}
    def p6(prefix, region, service):
        return {"ipv6_prefix": prefix, "region": region, "service": service,
                "network_border_group": region}
    return {
        "syncToken": "1796000000",
        "createDate": "2026-11-28-20-13-07",
        "prefixes": [
            p4("3.5.140.0/22", "GLOBAL", "AMAZON"),
            p4("3.5.140.0/22", "ap-northeast-2", "S3"),          # region of the winning entry
            p4("13.32.0.0/15", "GLOBAL", "AMAZON"),
            p4("13.32.0.0/15", "GLOBAL", "CLOUDFRONT"),
            p4("13.34.0.0/16", "us-east-1", "AMAZON"),
            p4("13.34.0.0/16", "us-east-1", "ROUTE53_HEALTHCHECKS"),  # first specific wins
            p4("13.34.0.0/16", "us-east-1", "CLOUDFRONT"),
            p4("18.34.0.0/19", "us-east-1", "S3"),                # specific before AMAZON
            p4("18.34.0.0/19", "us-east-1", "AMAZON"),
            p4("35.180.0.0/16", "eu-west-3", "AMAZON"),           # AMAZON only
            p4("44.192.0.0/11", "us-east-1", "EC2"),
            p4("44.192.10.0/24", "us-east-1", "AMAZON"),          # longer AMAZON inside EC2
            p4("52.94.0.0/22", "us-east-1", "AMAZON"),
            p4("52.94.0.0/22", "us-east-1", "DYNAMODB"),
            p4("52.95.0.0/16", "us-east-1", "AMAZON"),
            p4("52.95.100.0/24", "us-east-1", "S3"),              # specific inside AMAZON
            p4("52.10.0.0/15", "us-west-2", "AMAZON"),
            p4("52.10.0.0/15", "us-west-2", "EC2"),
            p4("54.200.0.0/16", "us-west-2", "AMAZON"),
            p4("54.200.0.0/16", "us-west-2", "EC2"),
            p4("54.200.10.0/24", "us-west-2", "AMAZON"),          # AMAZON only, longer
            p4("3.120.0.0/14", "eu-central-1", "EC2"),
            p4("3.120.0.0/14", "eu-central-1", "AMAZON"),
        ],
        "ipv6_prefixes": [
            p6("2600:1f14::/35", "us-west-2", "AMAZON"),
            p6("2600:1f14::/35", "us-west-2", "EC2"),
            p6("2600:1f14:abc:1300::/56", "us-west-2", "S3"),     # nested, specific
            p6("2a05:d000::/25", "eu-west-1", "AMAZON"),
            p6("2a05:d018::/36", "eu-west-1", "EC2"),
            p6("2a05:d018:1000::/40", "eu-west-1", "AMAZON"),
            p6("2a05:d018:1000::/40", "eu-west-1", "S3"),
            p6("2a05:d018:1000::/40", "eu-west-1", "DYNAMODB"),
        ],
    }


# ---------------------------------------------------------------- fixtures: flow logs

DEFAULT_HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol "
                  "packets bytes start end action log-status")
CUSTOM_HEADER = ("version account-id vpc-id interface-id srcaddr dstaddr srcport dstport "
                 "protocol packets bytes start end action log-status flow-direction")

STARTS = [T0 - 3600, T0 + 3600, T1, T1 + 7200, T2 + 1800, T3 - 1, T3 + 3600, None]

# (record's interface, srcaddr, dstaddr)
COMBOS = [
    ("web", "10.0.1.10", "52.94.0.15"),
    ("web", "54.200.10.11", "8.8.8.8"),
    ("nat", "10.0.1.10", "3.5.141.7"),
    ("nat", "3.120.5.6", "13.34.5.5"),
    ("lambda", "10.0.2.30", "18.34.1.1"),
    ("vpce", "2600:1f14:abc:1300::40", "2600:1f14:abc:1200::10"),
    ("nlb", "52.10.20.30", "198.51.100.7"),
    ("pfx", "10.0.5.17", "10.0.5.20"),
    ("pfx", "10.0.5.200", "2600:1f14:abc:1500:1::99"),
    ("pfx", "2600:1f14:abc:1500:2::1", "10.0.5.50"),
    ("old", "10.0.1.99", "10.0.1.77"),
    ("new", "10.0.1.88", "10.0.1.99"),
    ("web", "10.0.9.9", "10.0.1.10"),
    ("b9", "10.0.9.9", "10.0.9.10"),
    ("unknown", "10.0.9.9", "44.192.10.5"),
    ("web", "44.200.1.1", "2a05:d018:1000::5"),
    ("web", "2a05:d000::1", "2001:db8::1"),
    ("nat", "13.32.1.1", "52.95.100.9"),
    ("detached", "35.180.3.3", "10.0.1.11"),
    ("late", "10.0.7.7", "54.200.10.10"),
    ("web", "54.200.10.10", "2600:1f14:abc:1200::11"),
    ("web", "2a05:d018:2000::1", "52.95.7.7"),
    ("web", None, None),                     # NODATA-like: `-` addresses
]


def write_logs(tmp):
    """Writes the default-layout and custom-layout logs; returns their paths and the records
    each holds as dicts keyed by account_id (a unique row key)."""
    recs = {"default": [], "custom": []}
    n = 0
    vpcs = [VPC_A, VPC_B, VPC_C]
    for layout in ("default", "custom"):
        for si, start in enumerate(STARTS):
            for ci, (iface, src, dst) in enumerate(COMBOS):
                n += 1
                r = {"account_id": "%012d" % (200000000000 + n), "interface_id": ENI[iface],
                     "srcaddr": src, "dstaddr": dst, "start": start,
                     "vpc_id": vpcs[(si + ci) % 3] if layout == "custom" else None}
                recs[layout].append(r)
    paths = {}
    for layout in ("default", "custom"):
        p = os.path.join(tmp, f"flows-{layout}.log")
        with open(p, "w") as f:
            f.write((DEFAULT_HEADER if layout == "default" else CUSTOM_HEADER) + "\n")
            for i, r in enumerate(recs[layout]):
                st = "-" if r["start"] is None else str(r["start"])
                en = "-" if r["start"] is None else str(r["start"] + 60)
                if r["srcaddr"] is None:
                    mid = "- - - - - - -"
                    status = "NODATA"
                    action = "-"
                else:
                    proto = 6 if i % 3 else 17
                    mid = f"{r['srcaddr']} {r['dstaddr']} {40000 + i} 443 {proto} {i % 7 + 1} {100 * i + 40}"
                    status = "OK"
                    action = "ACCEPT" if i % 5 else "REJECT"
                if layout == "default":
                    f.write(f"2 {r['account_id']} {r['interface_id']} {mid} {st} {en} {action} {status}\n")
                else:
                    direction = "ingress" if i % 2 else "egress"
                    f.write(f"5 {r['account_id']} {r['vpc_id']} {r['interface_id']} {mid} {st} {en} "
                            f"{action} {status} {direction}\n")
        paths[layout] = p
    return paths, recs


# ---------------------------------------------------------------- the oracle

class Inventory:
    """Snapshots [(time, enis)] in capture order, answering the two lookups."""

    def __init__(self, snaps):
        self.snaps = sorted(snaps, key=lambda s: s[0])
        self.addr = []   # per snapshot: [(eni, set of addresses, [networks])]
        for _, enis in self.snaps:
            rows = []
            for e in enis:
                a = set()
                def add(v):
                    if v:
                        a.add(ipaddress.ip_address(v))
                add(e.get("PrivateIpAddress"))
                for p in e.get("PrivateIpAddresses", []):
                    add(p.get("PrivateIpAddress"))
                    add(p.get("Association", {}).get("PublicIp"))
                add(e.get("Association", {}).get("PublicIp"))
                for v6 in e.get("Ipv6Addresses", []):
                    add(v6.get("Ipv6Address"))
                nets = [ipaddress.ip_network(p["Ipv4Prefix"]) for p in e.get("Ipv4Prefixes", [])]
                nets += [ipaddress.ip_network(p["Ipv6Prefix"]) for p in e.get("Ipv6Prefixes", [])]
                rows.append((e, a, nets))
            self.addr.append(rows)

    def interface(self, eni_id, start):
        listing = [e for (_, enis) in self.snaps for e in enis if e["NetworkInterfaceId"] == eni_id]
        times = [t for (t, enis) in self.snaps for e in enis if e["NetworkInterfaceId"] == eni_id]
        if not listing:
            return None
        if start is None:
            return listing[-1]
        before = [e for e, t in zip(listing, times) if t <= start]
        return before[-1] if before else listing[0]

    def holders(self, si, ip):
        exact = [e for (e, a, _) in self.addr[si] if ip in a]
        if exact:
            return exact
        best, found = -1, []
        for (e, _, nets) in self.addr[si]:
            for n in nets:
                if n.version == ip.version and ip in n:
                    if n.prefixlen > best:
                        best, found = n.prefixlen, [e]
                    elif n.prefixlen == best and e not in found:
                        found.append(e)
        return found

    def holder(self, addr, start, vpc):
        if addr is None:
            return None
        ip = ipaddress.ip_address(addr)
        n = len(self.snaps)
        if start is None:
            cands = self.holders(n - 1, ip)
        else:
            idx = max((i for i, (t, _) in enumerate(self.snaps) if t <= start), default=-1)
            if idx < 0:
                cands = self.holders(0, ip)
            else:
                cands = self.holders(idx, ip)
                if not cands and idx + 1 < n:
                    cands = self.holders(idx + 1, ip)
        if len(cands) == 1:
            return cands[0]
        in_vpc = [e for e in cands if vpc is not None and e["VpcId"] == vpc]
        return in_vpc[0] if len(in_vpc) == 1 else None


class Ranges:
    def __init__(self, doc):
        self.entries = [(ipaddress.ip_network(p["ip_prefix"]), p["region"], p["service"])
                        for p in doc["prefixes"]]
        self.entries += [(ipaddress.ip_network(p["ipv6_prefix"]), p["region"], p["service"])
                         for p in doc["ipv6_prefixes"]]

    def lookup(self, addr):
        if addr is None:
            return None, None
        ip = ipaddress.ip_address(addr)
        hits = [e for e in self.entries if e[0].version == ip.version and ip in e[0]]
        if not hits:
            return None, None
        longest = max(h[0].prefixlen for h in hits)
        hits = [h for h in hits if h[0].prefixlen == longest]
        specific = [h for h in hits if h[2] != "AMAZON"]
        chosen = (specific or hits)[0]
        return chosen[2], chosen[1]


NEW_COLUMNS = ["eni_type", "eni_description", "eni_name", "eni_instance_id",
               "eni_security_groups", "eni_subnet_id", "eni_vpc_id", "src_eni_id", "dst_eni_id",
               "src_instance_id", "dst_instance_id", "src_aws_service", "src_aws_region",
               "dst_aws_service", "dst_aws_region"]


def expected_row(inv, rng, r):
    e = inv.interface(r["interface_id"], r["start"])
    out = {}
    if e is None:
        for c in NEW_COLUMNS[:7]:
            out[c] = None
    else:
        name = [t["Value"] for t in e.get("TagSet", []) if t["Key"] == "Name"]
        out["eni_type"] = e.get("InterfaceType")
        out["eni_description"] = e.get("Description")
        out["eni_name"] = name[0] if name else None
        out["eni_instance_id"] = e.get("Attachment", {}).get("InstanceId")
        out["eni_security_groups"] = [g["GroupId"] for g in e.get("Groups", [])]
        out["eni_subnet_id"] = e.get("SubnetId")
        out["eni_vpc_id"] = e.get("VpcId")
    vpc = r["vpc_id"] if r["vpc_id"] is not None else (e["VpcId"] if e else None)
    for side in ("src", "dst"):
        h = inv.holder(r[side + "addr"], r["start"], vpc)
        out[side + "_eni_id"] = h["NetworkInterfaceId"] if h else None
        out[side + "_instance_id"] = h.get("Attachment", {}).get("InstanceId") if h else None
        svc, region = rng.lookup(r[side + "addr"])
        out[side + "_aws_service"] = svc
        out[side + "_aws_region"] = region
    return out


def same(col, exp, got):
    # An empty Description ("" in AWS's output) may come out as "" or as null.
    if col == "eni_description" and exp == "" and got in ("", None):
        return True
    return exp == got


def compare_rows(label, recs, expected, rows):
    """One check per new column: every row's value against the oracle."""
    by_key = {}
    for row in rows:
        by_key[row.get("account_id")] = row
    missing = [r["account_id"] for r in recs if r["account_id"] not in by_key]
    if missing or len(rows) != len(recs):
        fail(f"{label}: rows", f"{len(rows)} rows for {len(recs)} records; missing keys {missing[:5]}")
        return
    ok(f"{label}: {len(rows)} rows")
    absent = [c for c in NEW_COLUMNS if c not in rows[0]]
    if absent:
        fail(f"{label}: columns present", f"missing columns {absent}; have {sorted(rows[0])}")
    for col in NEW_COLUMNS:
        if col in absent:
            continue
        bad = []
        for r in recs:
            exp = expected[r["account_id"]][col]
            got = by_key[r["account_id"]][col]
            if not same(col, exp, got):
                bad.append((r, exp, got))
        if bad:
            lines = [f"{len(bad)} of {len(recs)} rows differ; first ones:"]
            for r, exp, got in bad[:6]:
                start = r["start"]
                when = "-" if start is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
                lines.append(f"interface={r['interface_id']} src={r['srcaddr']} dst={r['dstaddr']} "
                             f"start={when} vpc_id={r['vpc_id']}: expected {exp!r}, got {got!r}")
            fail(f"{label}: {col}", "\n".join(lines))
        else:
            ok(f"{label}: {col}")


def read_parquet(path):
    import pyarrow.parquet as pq
    return pq.read_table(path).to_pylist()


def read_ndjson(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- attribution runs

def attribution_runs(binary, tmp):
    inv_paths, snaps = write_inventory(tmp)
    ranges = os.path.join(tmp, "ip-ranges.json")
    with open(ranges, "w") as f:
        json.dump(ranges_doc(), f, indent=2)
    logs, recs = write_logs(tmp)
    inv = Inventory(snaps)
    rng = Ranges(ranges_doc())
    expected = {}
    for layout in recs:
        for r in recs[layout]:
            expected[r["account_id"]] = expected_row(inv, rng, r)

    # each file with its time given: a date, a date-time without seconds and with, Unix seconds
    files_times = ["--eni-inventory", inv_paths["s0"], "--eni-inventory-time", "2026-11-29",
                   "--eni-inventory", inv_paths["s1"], "--eni-inventory-time", "2026-11-30T08:00:00",
                   "--eni-inventory", inv_paths["s2"], "--eni-inventory-time", "2026-11-30T12:00",
                   "--eni-inventory", inv_paths["s3"], "--eni-inventory-time", str(T3),
                   "--aws-ip-ranges", ranges]
    # the directory: times from the names, "noon.json" from its modification time
    dir_args = ["--eni-inventory", inv_paths["dir"], "--aws-ip-ranges", ranges]
    unix_time_args = ["--eni-inventory", inv_paths["s2"], "--eni-inventory-time", str(T2),
                      "--eni-inventory", inv_paths["s0"], "--eni-inventory-time", str(T0),
                      "--eni-inventory", inv_paths["s3"], "--eni-inventory-time", str(T3),
                      "--eni-inventory", inv_paths["s1"], "--eni-inventory-time", str(T1),
                      "--aws-ip-ranges", ranges]

    def names_only_check():
        # s0, s1, s3 named without a time, out of order: their capture times come from their
        # names (date only, date-time with dashes, compact date-time), so the result must match
        # an oracle built from those three snapshots.
        out = os.path.join(tmp, "names.parquet")
        args = ["convert", logs["default"], "-o", out, "-q",
                "--eni-inventory", inv_paths["s3"], "--eni-inventory", inv_paths["s0"],
                "--eni-inventory", inv_paths["s1"], "--aws-ip-ranges", ranges]
        p = run(binary, args)
        if p.returncode != 0:
            fail("convert, times from file names (s0 date, s1 date-time, s3 gzip compact)",
                 f"exit {p.returncode}\n{p.stderr}")
            return
        inv3 = Inventory([snaps[0], snaps[1], snaps[3]])
        exp3 = {r["account_id"]: expected_row(inv3, rng, r) for r in recs["default"]}
        compare_rows("convert, times from file names, Parquet", recs["default"], exp3, read_parquet(out))

    for layout in ("default", "custom"):
        # Parquet with each time given (date, date-time, Unix seconds)
        out = os.path.join(tmp, f"{layout}.parquet")
        p = run(binary, ["convert", logs[layout], "-o", out, "-q"] + files_times)
        if p.returncode != 0:
            fail(f"convert {layout} layout to Parquet", f"exit {p.returncode}\n{p.stderr}")
        else:
            compare_rows(f"convert {layout} -> Parquet", recs[layout], expected, read_parquet(out))
        # the directory (times from names and one mtime)
        out = os.path.join(tmp, f"{layout}-dir.parquet")
        p = run(binary, ["convert", logs[layout], "-o", out, "-q"] + dir_args)
        if p.returncode != 0:
            fail(f"convert {layout} layout, inventory directory", f"exit {p.returncode}\n{p.stderr}")
        else:
            compare_rows(f"convert {layout} -> Parquet, inventory directory", recs[layout], expected,
                         read_parquet(out))
        # NDJSON (the list column as a JSON array)
        out = os.path.join(tmp, f"{layout}.ndjson")
        p = run(binary, ["convert", logs[layout], "-o", out, "--to", "ndjson", "-q"] + files_times)
        if p.returncode != 0:
            fail(f"convert {layout} layout to NDJSON (eni_security_groups is a list column)",
                 f"exit {p.returncode}\n{p.stderr}")
        else:
            compare_rows(f"convert {layout} -> NDJSON", recs[layout], expected, read_ndjson(out))
        # query over the raw log, inventory files in another order with Unix-second times
        p = run(binary, ["query", logs[layout], "--format", "json", "-q", "--sql",
                         "SELECT * FROM flows ORDER BY account_id"] + unix_time_args)
        if p.returncode != 0:
            fail(f"query {layout} layout --format json", f"exit {p.returncode}\n{p.stderr}")
        else:
            compare_rows(f"query {layout} (raw) --format json", recs[layout], expected,
                         json.loads(p.stdout))
        # query over the Parquet that convert wrote without attribution: added at query time
        plain = os.path.join(tmp, f"{layout}-plain.parquet")
        p = run(binary, ["convert", logs[layout], "-o", plain, "-q"])
        if p.returncode == 0:
            p = run(binary, ["query", plain, "--format", "json", "-q", "--sql",
                             "SELECT * FROM flows ORDER BY account_id"] + dir_args)
        if p.returncode != 0:
            fail(f"query {layout} layout over Parquet --format json", f"exit {p.returncode}\n{p.stderr}")
        else:
            compare_rows(f"query {layout} (Parquet input) --format json", recs[layout], expected,
                         json.loads(p.stdout))

    names_only_check()

    # the columns in SQL: a filter and a group by against the oracle
    allrecs = recs["default"]
    want = sorted((svc, sum(1 for r in allrecs if expected[r["account_id"]]["dst_aws_service"] == svc))
                  for svc in {expected[r["account_id"]]["dst_aws_service"] for r in allrecs} if svc)
    def sql_group():
        p = run(binary, ["query", logs["default"], "--format", "json", "-q", "--sql",
                         "SELECT dst_aws_service AS s, count(*) AS n FROM flows "
                         "WHERE dst_aws_service IS NOT NULL GROUP BY dst_aws_service ORDER BY s"]
                + files_times)
        if p.returncode != 0:
            return f"exit {p.returncode}\n{p.stderr}"
        got = [(r["s"], r["n"]) for r in json.loads(p.stdout)]
        return None if got == want else f"expected {want}\ngot      {got}"
    check("query: GROUP BY dst_aws_service counts", sql_group)
    def sql_sg():
        exp = sorted(r["account_id"] for r in allrecs
                     if SG["mon"] in (expected[r["account_id"]]["eni_security_groups"] or []))
        p = run(binary, ["query", logs["default"], "--format", "json", "-q", "--sql",
                         f"SELECT account_id FROM flows WHERE array_has(eni_security_groups, '{SG['mon']}') "
                         "ORDER BY account_id"] + files_times)
        if p.returncode != 0:
            return f"exit {p.returncode}\n{p.stderr}"
        got = [r["account_id"] for r in json.loads(p.stdout)]
        return None if got == exp else f"expected {len(exp)} rows {exp[:5]}…\ngot {len(got)} {got[:5]}…"
    check("query: array_has(eni_security_groups, sg) filter", sql_sg)

    # alert: a rule over the added columns fires with exactly the oracle's rows (exit status 4)
    def alert():
        rule = os.path.join(tmp, "reused_address.sql")
        with open(rule, "w") as f:
            f.write("-- Flows to the address 10.0.1.99 while eni-new held it\n-- severity: low\n"
                    f"SELECT account_id, dst_instance_id FROM flows WHERE dst_eni_id = '{ENI['new']}'\n")
        exp = sorted((r["account_id"], expected[r["account_id"]]["dst_instance_id"]) for r in allrecs
                     if expected[r["account_id"]]["dst_eni_id"] == ENI["new"])
        p = run(binary, ["alert", logs["default"], "--rule", rule, "--format", "json", "-q"] + dir_args)
        if p.returncode != 4:
            return f"exit {p.returncode}, expected 4 (fired)\n{p.stderr}"
        got = sorted((r["account_id"], r["dst_instance_id"]) for r in json.loads(p.stdout)[0]["result"])
        if not exp:
            return "the oracle has no such rows: fixture problem"
        return None if got == exp else f"expected {exp}\ngot      {got}"
    check("alert: a rule on dst_eni_id fires with the oracle's rows", alert)
    def report():
        out = os.path.join(tmp, "report.html")
        p = run(binary, ["report", logs["custom"], "-o", out, "-q"] + files_times)
        if p.returncode != 0:
            return f"exit {p.returncode}\n{p.stderr}"
        return None if os.path.getsize(out) > 1000 else "report is (nearly) empty"
    check("report with --eni-inventory and --aws-ip-ranges", report)

    # both layouts as one dataset: the default layout's rows have no vpc_id field, so they must
    # still take their VPC from their interface
    both = recs["default"] + recs["custom"]
    out = os.path.join(tmp, "both.parquet")
    p = run(binary, ["convert", logs["default"], logs["custom"], "-o", out, "-q"] + files_times)
    if p.returncode != 0:
        fail("convert both layouts into one file", f"exit {p.returncode}\n{p.stderr}")
    else:
        compare_rows("convert default+custom -> one Parquet", both, expected, read_parquet(out))
    p = run(binary, ["query", logs["default"], logs["custom"], "--format", "json", "-q", "--sql",
                     "SELECT * FROM flows ORDER BY account_id"] + files_times)
    if p.returncode != 0:
        fail("query both layouts as one table", f"exit {p.returncode}\n{p.stderr}")
    else:
        compare_rows("query default+custom (raw, one table)", both, expected, json.loads(p.stdout))
    return ranges, inv_paths, logs


# ---------------------------------------------------------------- capture-time formats

def capture_times(binary, tmp):
    """One ENI renamed between a base snapshot and a second one whose capture time is read from
    its name (each documented spelling), its modification time or --eni-inventory-time: a flow
    starting one second before that time still sees the base name, one starting at it the new."""
    d = os.path.join(tmp, "capture-times")
    os.mkdir(d)
    def doc(name):
        return {"NetworkInterfaces": [eni("web", "interface", VPC_A, SUBNET[VPC_A][0], "10.0.1.10",
                                          description="d", tags=[("Name", name)], groups=["web"],
                                          instance=INST["web"])]}
    base = os.path.join(d, "base-2026-11-01.json")
    with open(base, "w") as f:
        json.dump(doc("base"), f)
    far = utc("2020-01-01T00:00:00")
    def log_for(t):
        p = os.path.join(d, f"flows-{t}.log")
        with open(p, "w") as f:
            f.write(DEFAULT_HEADER + "\n")
            for s in (t - 1, t):
                f.write(f"2 {ACCOUNT} {ENI['web']} 10.0.1.10 8.8.8.8 1 2 6 1 40 {s} {s + 5} ACCEPT OK\n")
        return p
    def one(fname, t, extra_for_file, gz=False, mtime=None):
        path = os.path.join(d, fname)
        opener = gzip.open if gz else open
        with opener(path, "wt") as f:
            json.dump(doc("renamed"), f)
        os.utime(path, (mtime or far, mtime or far))
        args = ["query", log_for(t), "--format", "json", "-q", "--sql",
                "SELECT start, eni_name FROM flows ORDER BY start", "--eni-inventory", base]
        if extra_for_file:
            args += ["--eni-inventory-time", "2026-11-01"]
        args += ["--eni-inventory", path] + extra_for_file
        p = run(binary, args)
        os.remove(path)
        if p.returncode != 0:
            return f"exit {p.returncode}\n{p.stderr}"
        got = [r["eni_name"] for r in json.loads(p.stdout)]
        want = ["base", "renamed"]
        return None if got == want else (
            f"flows at {t - 1} and {t} ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))}): "
            f"expected eni_name {want}, got {got}")
    day = utc("2026-11-30T00:00:00")
    hm = utc("2026-11-30T10:15:00")
    hms = utc("2026-11-30T10:15:42")
    for fname, t in (("enis-2026-11-30.json", day), ("enis-20261130.json", day),
                     ("enis-2026-11-30T10:15.json", hm), ("enis-2026-11-30T10:15:42Z.json", hms),
                     ("enis-2026-11-30T10-15.json", hm), ("enis-2026-11-30T10-15-42Z.json", hms),
                     ("enis-20261130T1015.json", hm), ("enis-20261130T101542Z.json", hms),
                     ("us-west-2_2026-11-30T10-15-42_then-2027-01-01.json", hms)):
        check(f"capture time from the file name {fname}", one, fname, t, [])
    check("capture time from the file name, gzip: enis-20261130T101542Z.json.gz",
          one, "enis-20261130T101542Z.json.gz", hms, [], True)
    check("capture time from the modification time (no date in the name)",
          one, "no-date-in-this-name.json", hms, [], False, hms)
    for given, t in (("2026-11-30", day), ("2026-11-30T10:15", hm), ("2026-11-30T10:15:42", hms),
                     (str(hms), hms)):
        check(f"--eni-inventory-time {given} (wins over the name's 2025-06-01)",
              one, "enis-2025-06-01T00-00-00Z.json", t, ["--eni-inventory-time", given])


# ---------------------------------------------------------------- SQL functions

PRIVATE = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10")]


def parse(addr):
    if addr is None:
        return None
    try:
        return ipaddress.ip_address(addr)
    except ValueError:
        return None


def py_is_private(addr):
    ip = parse(addr)
    if ip is None:
        return None
    return any(ip.version == n.version and ip in n for n in PRIVATE)


def py_in_cidr(addr, cidr):
    ip = parse(addr)
    if ip is None:
        return None
    net = ipaddress.ip_network(cidr)
    return ip.version == net.version and ip in net


def fmt_net(net):
    """str(ip_network) as Python 3.13+ prints it: an IPv4-mapped IPv6 address keeps its IPv4
    part dotted (RFC 5952 section 5), which Python 3.11/3.12 print as hex groups."""
    a = net.network_address
    if a.version == 6 and a.ipv4_mapped is not None:
        return f"::ffff:{a.ipv4_mapped}/{net.prefixlen}"
    return str(net)


def py_prefix(addr, bits):
    ip = parse(addr)
    if ip is None or bits is None:
        return None
    width = 32 if ip.version == 4 else 128
    if bits > width or bits < 0:
        return None
    return fmt_net(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def py_prefix2(addr, v4bits, v6bits):
    ip = parse(addr)
    if ip is None:
        return None
    return py_prefix(addr, v4bits if ip.version == 4 else v6bits)


def test_addresses(rnd):
    edge = [
        "0.0.0.0", "255.255.255.255", "1.1.1.1", "8.8.8.8",
        "9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0",
        "172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0",
        "192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0",
        "100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0",
        "126.255.255.255", "127.0.0.1", "127.255.255.255", "128.0.0.0",
        "169.253.255.255", "169.254.0.0", "169.254.169.254", "169.255.0.0",
        "192.0.2.1", "198.18.0.1", "224.0.0.1", "240.0.0.1",
        "::", "::1", "::2", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "::ffff:192.168.1.1",
        "64:ff9b::a00:1", "2001:db8::1", "2600:1f14:abc:1200::10",
        "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::", "fd12:3456:789a::1",
        "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "fe80::", "fe80::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::", "ff02::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:0:0:1::1", "1:0:0:0:1::",
    ]
    out = list(edge)
    for _ in range(150):
        out.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
    for net in PRIVATE:
        # inside and just outside each private range
        for _ in range(4):
            off = rnd.getrandbits(net.max_prefixlen - net.prefixlen)
            out.append(str(net.network_address + off))
        if int(net.broadcast_address) < (1 << net.max_prefixlen) - 1:
            out.append(str(net.broadcast_address + 1))
        if int(net.network_address) > 0:
            out.append(str(net.network_address - 1))
    for _ in range(120):
        kind = rnd.randrange(4)
        if kind == 0:
            v = rnd.getrandbits(128)
        elif kind == 1:   # few groups, so zero runs get compressed
            v = rnd.getrandbits(16) << 112 | rnd.getrandbits(16)
        elif kind == 2:
            v = 0x2600_1f14 << 96 | rnd.getrandbits(64)
        else:
            v = 0xffff << 32 | rnd.getrandbits(32)   # IPv4-mapped
        out.append(str(ipaddress.IPv6Address(v)))
    seen = set()
    return [a for a in out if not (a in seen or seen.add(a))]


def test_cidrs(rnd, addrs):
    fixed = ["0.0.0.0/0", "::/0", "10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24",
             "192.168.1.5/32", "100.64.0.0/10", "8.8.8.0/24", "128.0.0.0/1", "2001:db8::/32",
             "fe80::/10", "fc00::/7", "::ffff:0:0/96", "2600:1f14::/35", "::1/128", "ff00::/8"]
    out = list(fixed)
    for _ in range(24):
        a = ipaddress.ip_address(rnd.choice(addrs))
        bits = rnd.randrange(0, a.max_prefixlen + 1)
        out.append(str(ipaddress.ip_network(f"{a}/{bits}", strict=False)))
    seen = set()
    return [c for c in out if not (c in seen or seen.add(c))]


TEXT_VALUES = ["not-an-ip", "10.0.0.256", "1.2.3", "10.0.0.1/8", "010.0.0.1", "::g",
               "2001:DB8::1", "FE80::1", "1:2:3:4:5:6:7:8:9", "10.1.2.3", "192.168.0.1", ":::", None]


def sql_functions(binary, tmp):
    rnd = random.Random(17)
    addrs = test_addresses(rnd)
    cidrs = test_cidrs(rnd, addrs)
    # srcaddr = the test address; `addr-text` (a field vpcflow doesn't know: a text column) holds
    # unparsable values too; srcport / dstport are prefix lengths for ip_prefix
    path = os.path.join(tmp, "functions.log")
    rows = []
    with open(path, "w") as f:
        f.write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
                "bytes start end action log-status addr-text\n")
        for i, a in enumerate(addrs):
            b4 = rnd.choice([0, 1, 7, 8, 16, 23, 24, 31, 32, 33, 40, rnd.randrange(0, 34)])
            b6 = rnd.choice([0, 1, 10, 48, 56, 64, 80, 96, 120, 127, 128, rnd.randrange(0, 129)])
            text = TEXT_VALUES[i % len(TEXT_VALUES)] if i % 3 == 0 else a
            rows.append({"key": "%012d" % (300000000000 + i), "addr": a, "b4": b4, "b6": b6,
                         "text": text})
            f.write(f"2 {rows[-1]['key']} eni-0f00000000000000f {a} 10.0.0.1 {b4} {b6} 6 1 40 "
                    f"1796000000 1796000060 ACCEPT OK {'-' if text is None else text}\n")

    def query(sql):
        p = run(binary, ["query", path, "--format", "json", "-q", "--sql", sql])
        if p.returncode != 0:
            raise AssertionError(f"exit {p.returncode}\n{p.stderr}")
        return json.loads(p.stdout)

    def compare(label, got_rows, fn, args_of):
        by = {r["key"]: r for r in rows}
        bad = []
        for g in got_rows:
            r = by[g["key"]]
            exp = fn(*args_of(r, g))
            if exp != g["v"]:
                bad.append(f"{args_of(r, g)}: expected {exp!r}, got {g['v']!r}")
        if len(got_rows) == 0:
            bad.insert(0, "no rows")
        if bad:
            fail(label, f"{len(bad)} of {len(got_rows)} differ:\n" + "\n".join(bad[:12]))
        else:
            ok(f"{label} ({len(got_rows)} values)")

    def one(label, sql, fn, args_of, expect_rows=None):
        try:
            got = query(sql)
        except AssertionError as e:
            fail(label, str(e))
            return
        if expect_rows is not None and len(got) != expect_rows:
            fail(label, f"{len(got)} rows, expected {expect_rows}")
            return
        compare(label, got, fn, args_of)

    n = len(rows)
    one("is_private_ip(srcaddr)", "SELECT account_id AS key, is_private_ip(srcaddr) AS v FROM flows",
        py_is_private, lambda r, g: (r["addr"],), n)
    one("is_private_ip(text column: unparsable, upper-case, null)",
        "SELECT account_id AS key, is_private_ip(addr_text) AS v FROM flows",
        py_is_private, lambda r, g: (r["text"],), n)
    one("ip_prefix(srcaddr, bits column)",
        "SELECT account_id AS key, ip_prefix(srcaddr, srcport) AS v FROM flows",
        py_prefix, lambda r, g: (r["addr"], r["b4"]), n)
    one("ip_prefix(srcaddr, v6 bits column) (lengths past 32 on IPv4 -> null)",
        "SELECT account_id AS key, ip_prefix(srcaddr, dstport) AS v FROM flows",
        py_prefix, lambda r, g: (r["addr"], r["b6"]), n)
    for bits in (0, 8, 24, 32, 48, 64, 128):
        one(f"ip_prefix(srcaddr, {bits})",
            f"SELECT account_id AS key, ip_prefix(srcaddr, {bits}) AS v FROM flows",
            py_prefix, lambda r, g, b=bits: (r["addr"], b), n)
    one("ip_prefix(srcaddr, v4bits column, v6bits column)",
        "SELECT account_id AS key, ip_prefix(srcaddr, srcport, dstport) AS v FROM flows",
        py_prefix2, lambda r, g: (r["addr"], r["b4"], r["b6"]), n)
    # lengths past both widths: "null if bits exceed the family width" holds for these too
    one("ip_prefix(srcaddr, 129) -> null for every row",
        "SELECT account_id AS key, ip_prefix(srcaddr, 129) AS v FROM flows",
        py_prefix, lambda r, g: (r["addr"], 129), n)
    one("ip_prefix(srcaddr, 24, 200) -> null for the IPv6 rows",
        "SELECT account_id AS key, ip_prefix(srcaddr, 24, 200) AS v FROM flows",
        py_prefix2, lambda r, g: (r["addr"], 24, 200), n)
    one("ip_prefix(srcaddr, 24, 56)",
        "SELECT account_id AS key, ip_prefix(srcaddr, 24, 56) AS v FROM flows",
        py_prefix2, lambda r, g: (r["addr"], 24, 56), n)
    one("ip_prefix(text column, 16, 48)",
        "SELECT account_id AS key, ip_prefix(addr_text, 16, 48) AS v FROM flows",
        py_prefix2, lambda r, g: (r["text"], 16, 48), n)
    one("ip_prefix(NULL address, 8)",
        "SELECT account_id AS key, ip_prefix(CASE WHEN srcport > 20 THEN NULL ELSE srcaddr END, 8) AS v FROM flows",
        py_prefix, lambda r, g: (None if r["b4"] > 20 else r["addr"], 8), n)
    one("ip_prefix(srcaddr, NULL bits)",
        "SELECT account_id AS key, ip_prefix(srcaddr, CASE WHEN srcport > 20 THEN NULL ELSE srcport END) AS v FROM flows",
        py_prefix, lambda r, g: (r["addr"], None if r["b4"] > 20 else r["b4"]), n)

    values = ", ".join(f"('{c}')" for c in cidrs)
    one(f"ip_in_cidr(srcaddr, cidr) over {len(cidrs)} CIDRs (a column from a VALUES list)",
        f"SELECT account_id AS key, c.cidr AS cidr, ip_in_cidr(srcaddr, c.cidr) AS v "
        f"FROM flows CROSS JOIN (VALUES {values}) AS c(cidr)",
        py_in_cidr, lambda r, g: (r["addr"], g["cidr"]), n * len(cidrs))
    for c in ("10.0.0.0/8", "::ffff:0:0/96", "fc00::/7", "0.0.0.0/0"):
        one(f"ip_in_cidr(srcaddr, '{c}') (literal)",
            f"SELECT account_id AS key, ip_in_cidr(srcaddr, '{c}') AS v FROM flows",
            py_in_cidr, lambda r, g, c=c: (r["addr"], c), n)
    one("ip_in_cidr(text column, '10.0.0.0/8') (unparsable -> null)",
        "SELECT account_id AS key, ip_in_cidr(addr_text, '10.0.0.0/8') AS v FROM flows",
        py_in_cidr, lambda r, g: (r["text"], "10.0.0.0/8"), n)

    for bad in ("10.0.0.1/8", "10.0.0.0/33", "garbage", "2001:db8::1/32", "::/129", "10.0.0.0/-1"):
        def invalid(bad=bad):
            p = run(binary, ["query", path, "--format", "json", "-q", "--sql",
                             f"SELECT ip_in_cidr(srcaddr, '{bad}') AS v FROM flows"])
            if p.returncode == 0:
                return f"exit 0, expected an error; output starts {p.stdout[:200]!r}"
            if bad not in p.stderr:
                return f"exit {p.returncode} but the error doesn't name {bad!r}:\n{p.stderr}"
            return None
        check(f"ip_in_cidr(srcaddr, '{bad}') is a query error naming the CIDR", invalid)


# ---------------------------------------------------------------- bad files

def bad_files(binary, tmp, ranges, inv_paths, logs):
    d = os.path.join(tmp, "bad")
    os.mkdir(d)
    good_eni = snapshots()[1]

    def wr(name, text, gz=False):
        p = os.path.join(d, name)
        if gz:
            with gzip.open(p, "wt") as f:
                f.write(text)
        else:
            with open(p, "w") as f:
                f.write(text)
        return p

    def with_change(i, fn):
        enis = json.loads(json.dumps(good_eni))
        fn(enis[i])
        return json.dumps({"NetworkInterfaces": enis}, indent=2)

    pos_lc = r"line \d+|column \d+|:\d+:\d+"

    def at_line(n):
        """The error names line n (or no line at all: then a path must do)."""
        def f(err):
            m = re.search(r"line (\d+)", err)
            if m and int(m.group(1)) != n:
                return f"names line {m.group(1)}, the fault is on line {n}"
            return None
        return f

    def in_span(lo, hi):
        """A `line 1 column C` position lies within characters lo..hi (0-based) of the file."""
        def f(err):
            m = re.search(r"line (\d+) column (\d+)", err)
            if m and not (m.group(1) == "1" and lo < int(m.group(2)) <= hi + 1):
                return (f"position line {m.group(1)} column {m.group(2)} is outside the faulty "
                        f"entry (line 1, columns {lo + 1}-{hi})")
            return None
        return f
    cases = []   # (label, kind, file text or path, [regexes stderr must match])
    cases.append(("inventory: not JSON", "inv", wr("enis-2026-11-30.json", "this is not JSON\n"),
                  [pos_lc]))
    cases.append(("inventory: truncated JSON", "inv",
                  wr("truncated-2026-11-30.json", json.dumps({"NetworkInterfaces": good_eni}, indent=2)[:900]),
                  [pos_lc]))
    pages = (json.dumps({"NetworkInterfaces": good_eni[:2]}, indent=2)
             + "\n{\"NetworkInterfaces\": [ {\"NetworkInterfaceId\": \"eni-1\", }\n")
    cases.append(("inventory: second appended page broken", "inv", wr("pages-2026-11-30.json", pages),
                  [pos_lc, at_line(pages.count("\n"))]))
    cases.append(("inventory: wrong shape (no NetworkInterfaces)", "inv",
                  wr("reservations-2026-11-30.json", json.dumps({"Reservations": []})),
                  [pos_lc + r"|NetworkInterfaces"]))
    cases.append(("inventory: NetworkInterfaces not an array", "inv",
                  wr("object-2026-11-30.json", json.dumps({"NetworkInterfaces": {"a": 1}})),
                  [pos_lc + r"|NetworkInterfaces"]))
    cases.append(("inventory: bad PrivateIpAddress", "inv",
                  wr("badip-2026-11-30.json",
                     with_change(1, lambda e: e.__setitem__("PrivateIpAddress", "10.0.0.300"))),
                  [r"NetworkInterfaces\[1\]", re.escape(good_eni[1]["NetworkInterfaceId"]),
                   r"PrivateIpAddress"]))
    cases.append(("inventory: bad secondary public IP", "inv",
                  wr("badpub-2026-11-30.json",
                     with_change(0, lambda e: e["PrivateIpAddresses"][1]["Association"].__setitem__(
                         "PublicIp", "54.200.10"))),
                  [r"NetworkInterfaces\[0\]", r"PrivateIpAddresses\[1\]", r"PublicIp"]))
    cases.append(("inventory: bad IPv6 address", "inv",
                  wr("badv6-2026-11-30.json",
                     with_change(3, lambda e: e["Ipv6Addresses"][0].__setitem__(
                         "Ipv6Address", "2600:1f14:abc:1300::zz"))),
                  [r"NetworkInterfaces\[3\]", r"Ipv6Addresses\[0\]"]))
    cases.append(("inventory: bad delegated prefix (/40 on IPv4)", "inv",
                  wr("badpfx-2026-11-30.json",
                     with_change(8, lambda e: e["Ipv4Prefixes"][1].__setitem__("Ipv4Prefix", "10.0.5.48/40"))),
                  [r"NetworkInterfaces\[8\]", r"Ipv4Prefixes\[1\]"]))
    cases.append(("inventory: bad gzip snapshot (bad JSON inside)", "inv",
                  wr("gz-2026-11-30.json.gz", '{"NetworkInterfaces": [ nope ]}', gz=True),
                  [pos_lc]))
    rd = ranges_doc()
    rd["prefixes"][3]["ip_prefix"] = "13.32.0.0/33"
    cases.append(("ip-ranges: bad ip_prefix", "rng", wr("ip-ranges-bad4.json", json.dumps(rd, indent=2)),
                  [r"prefixes\[3\]", r"ip_prefix"]))
    rd = ranges_doc()
    rd["ipv6_prefixes"][1]["ipv6_prefix"] = "2600:1g14::/35"
    cases.append(("ip-ranges: bad ipv6_prefix", "rng", wr("ip-ranges-bad6.json", json.dumps(rd)),
                  [r"ipv6_prefixes\[1\]", r"ipv6_prefix"]))
    rd = ranges_doc()
    del rd["prefixes"][5]["ip_prefix"]
    text = json.dumps(rd)
    entry = json.dumps(rd["prefixes"][5])
    lo = text.index(entry)
    cases.append(("ip-ranges: entry without ip_prefix", "rng", wr("ip-ranges-missing.json", text),
                  [r"prefixes\[5\]|" + pos_lc, in_span(lo, lo + len(entry))]))
    cases.append(("ip-ranges: not JSON", "rng", wr("ip-ranges-text.json", "<html>403 Forbidden</html>\n"),
                  [pos_lc]))
    cases.append(("ip-ranges: prefixes not an array", "rng",
                  wr("ip-ranges-shape.json", json.dumps({"prefixes": "x", "ipv6_prefixes": []})),
                  [pos_lc + r"|prefixes"]))
    bad_dir = os.path.join(d, "dir-with-bad")
    os.mkdir(bad_dir)
    shutil.copy(inv_paths["s0"], bad_dir)
    with open(os.path.join(bad_dir, "zz-2026-11-30.json"), "w") as f:
        f.write(with_change(2, lambda e: e.__setitem__("PrivateIpAddress", "10.0.2.x")))
    cases.append(("inventory directory with one bad file", "invdir", bad_dir,
                  [r"zz-2026-11-30\.json", r"NetworkInterfaces\[2\]"]))

    for label, kind, path, patterns in cases:
        def case(kind=kind, path=path, patterns=patterns, label=label):
            out_dir = os.path.join(d, "out-" + re.sub(r"\W+", "-", label))
            os.mkdir(out_dir)
            out = os.path.join(out_dir, "out.parquet")
            if kind == "rng":
                extra = ["--aws-ip-ranges", path]
            else:
                extra = ["--eni-inventory", path]
            problems = []
            for sub, args in (("convert", ["convert", logs["default"], "-o", out, "-q"]),
                              ("query", ["query", logs["default"], "-q", "--sql", "SELECT count(*) FROM flows"])):
                p = run(binary, args + extra)
                if p.returncode == 0:
                    problems.append(f"{sub}: exit 0, expected an error")
                    continue
                name = os.path.basename(path) if kind != "invdir" else "zz-2026-11-30.json"
                if name not in p.stderr:
                    problems.append(f"{sub}: stderr doesn't name {name!r}")
                for pat in patterns:
                    if callable(pat):
                        why = pat(p.stderr)
                        if why:
                            problems.append(f"{sub}: {why}")
                    elif not re.search(pat, p.stderr):
                        problems.append(f"{sub}: stderr doesn't match /{pat}/")
                if "panicked" in p.stderr:
                    problems.append(f"{sub}: panic")
                if problems:
                    problems.append(f"{sub} stderr: {p.stderr.strip()}")
            left = os.listdir(out_dir)
            if left:
                problems.append(f"convert left files behind: {left}")
            return "\n".join(problems) or None
        check(f"bad file: {label}", case)

    # option misuse
    def misuse(args, want):
        out = os.path.join(d, "misuse.parquet")
        p = run(binary, ["convert", logs["default"], "-o", out, "-q"] + args)
        problems = []
        if p.returncode == 0:
            problems.append("exit 0, expected an error")
        elif not re.search(want, p.stderr):
            problems.append(f"stderr doesn't match /{want}/:\n{p.stderr}")
        if os.path.exists(out):
            problems.append("output file left")
            os.remove(out)
        return "\n".join(problems) or None
    check("--eni-inventory-time that isn't a time",
          misuse, ["--eni-inventory", inv_paths["s2"], "--eni-inventory-time", "yesterday"], "yesterday")
    check("two --eni-inventory-time for one --eni-inventory",
          misuse, ["--eni-inventory", inv_paths["s2"], "--eni-inventory-time", "2026-11-30",
                   "--eni-inventory-time", "2026-12-01"], r"eni-inventory")
    check("--eni-inventory-time for a directory",
          misuse, ["--eni-inventory", inv_paths["dir"], "--eni-inventory-time", "2026-11-30"],
          r"inventory-dir|director")
    check("--eni-inventory naming a missing file",
          misuse, ["--eni-inventory", os.path.join(d, "nope-2026-11-30.json")], r"nope-2026-11-30\.json")
    check("--aws-ip-ranges naming a missing file",
          misuse, ["--aws-ip-ranges", os.path.join(d, "nope-ranges.json")], r"nope-ranges\.json")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/vpcflow"
    if not os.path.exists(binary) and os.path.exists(os.path.join(REPO, binary)):
        binary = os.path.join(REPO, binary)
    binary = os.path.abspath(binary)
    try:
        import pyarrow
        print(f"# pyarrow {pyarrow.__version__}, binary {binary}")
    except ImportError as e:
        print(f"FAIL imports: {e} (run .ci/python-deps.sh and use its python)")
        print("0 passed, 1 failed")
        sys.exit(1)
    if not os.path.exists(binary):
        print(f"FAIL no vpcflow binary at {binary}")
        print("0 passed, 1 failed")
        sys.exit(1)
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="vpcflow-attribution-")
    try:
        ranges, inv_paths, logs = attribution_runs(binary, tmp)
        capture_times(binary, tmp)
        sql_functions(binary, tmp)
        bad_files(binary, tmp, ranges, inv_paths, logs)
    except Exception:
        fail("unexpected error", traceback.format_exc())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# {time.time() - t0:.1f} s")
    print(f"{PASSED} passed, {FAILED} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
