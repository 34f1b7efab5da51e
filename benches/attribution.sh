#!/usr/bin/env bash
# What attribution costs: `vpcflow convert` to Parquet plain, with --eni-inventory, with
# --aws-ip-ranges, and with both, alternated run by run in one invocation; medians of wall and
# CPU (user+system) seconds and the ratio to the plain convert (issue 17's target: both
# enrichments ≤ 1.3× a plain convert). Then --dedup the same way.
#
#   bash benches/attribution.sh
#
# Environment:
#   BENCH_DATA  folder of the generated inputs (default /tmp/vpcflow-bench); default-5m.log is
#               generated there if missing (RECORDS=1000000 makes a 1M-record file instead)
#   VPCFLOW     binary to time (default target/release/vpcflow of this repo)
#   FORMAT      genflows.py layout: default (14 fields) or all (the 40-field layout)
#   RUNS        timed runs of each variant (default 3)
#   THREADS     --threads (default 2)
#
# The inventory holds an interface for every interface id of the input (types, names, two
# security groups each) and an address for each of the input's private addresses (as the
# primary address of those interfaces), plus public associations; the ip-ranges file has as many
# prefixes as AWS's (about 9,000 IPv4 and 2,500 IPv6), covering the input's public addresses.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(dirname "$REPO")/shared/bench"
BIN="${VPCFLOW:-$REPO/target/release/vpcflow}"
DATA="${BENCH_DATA:-/tmp/vpcflow-bench}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-2}"
RECORDS="${RECORDS:-5000000}"
FORMAT="${FORMAT:-default}"

die() { echo "attribution.sh: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "no binary at $BIN (cargo build --release --features cluster, or set VPCFLOW)"
[ -x /usr/bin/time ] || die "needs /usr/bin/time (apt-get install time)"

mkdir -p "$DATA"
case "$FORMAT/$RECORDS" in
    default/5000000) name=default-5m.log ;;
    all/1000000) name=all-1m.log ;;
    *) name="$FORMAT-$RECORDS.log" ;;
esac
IN="$DATA/$name"
if [ ! -f "$IN" ] || [ "$(wc -l <"$IN")" -ne $((RECORDS + 1)) ]; then
    echo "attribution.sh: generating $IN" >&2
    seed=1; [ "$FORMAT" = all ] && seed=2
    python3 "$SHARED/genflows.py" --format "$FORMAT" --records "$RECORDS" --seed "$seed" --out "$IN.tmp.$$"
    mv "$IN.tmp.$$" "$IN"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vpcflow-attribution.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

python3 - "$IN" "$WORK" <<'PY'
import ipaddress, json, random, sys
src, work = sys.argv[1], sys.argv[2]
enis, private, public = set(), set(), set()
with open(src) as f:
    header = f.readline().split()
    ix = {n: i for i, n in enumerate(header)}
    for k, line in enumerate(f):
        if k >= 400000:
            break
        p = line.split()
        enis.add(p[ix["interface-id"]])
        for a in (p[ix["srcaddr"]], p[ix["dstaddr"]]):
            if a == "-":
                continue
            ip = ipaddress.ip_address(a)
            (private if ip.is_private else public).add(a)
rng = random.Random(7)
enis, private, public = sorted(enis), sorted(private), sorted(public)
types = ["interface", "interface", "interface", "nat_gateway", "lambda", "vpc_endpoint", "network_load_balancer"]
nics = []
for i, e in enumerate(enis):
    nics.append({
        "NetworkInterfaceId": e, "InterfaceType": types[i % len(types)],
        "Description": f"interface {i}", "VpcId": f"vpc-{i % 8:08x}", "SubnetId": f"subnet-{i % 64:08x}",
        "Attachment": {"InstanceId": f"i-{i:017x}"} if i % 7 < 3 else {},
        "Groups": [{"GroupId": f"sg-{i % 50:08x}", "GroupName": "a"}, {"GroupId": f"sg-{i % 13 + 100:08x}", "GroupName": "b"}],
        "TagSet": [{"Key": "Name", "Value": f"host-{i}"}],
        "PrivateIpAddresses": [],
    })
for k, a in enumerate(private):
    nics[k % len(nics)]["PrivateIpAddresses"].append({"PrivateIpAddress": a, "Primary": False})
for k, a in enumerate(public[: len(public) // 10]):
    n = nics[k % len(nics)]
    if n["PrivateIpAddresses"]:
        n["PrivateIpAddresses"][0]["Association"] = {"PublicIp": a}
json.dump({"NetworkInterfaces": nics}, open(f"{work}/enis.json", "w"))
services = ["AMAZON", "EC2", "S3", "DYNAMODB", "CLOUDFRONT", "ROUTE53_HEALTHCHECKS", "API_GATEWAY"]
regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "GLOBAL"]
v4, v6, seen = [], [], set()
for a in public[:6000]:
    ip = ipaddress.ip_address(a)
    if ip.version != 4:
        continue
    net = ipaddress.ip_network(f"{a}/{rng.choice([16, 20, 22, 24])}", strict=False)
    if net in seen:
        continue
    seen.add(net)
    v4.append({"ip_prefix": str(net), "region": rng.choice(regions), "service": "AMAZON", "network_border_group": "x"})
    if rng.random() < 0.5:
        v4.append({"ip_prefix": str(net), "region": v4[-1]["region"], "service": rng.choice(services[1:]), "network_border_group": "x"})
while len(v4) < 9000:
    net = ipaddress.ip_network(f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
    v4.append({"ip_prefix": str(net), "region": rng.choice(regions), "service": rng.choice(services), "network_border_group": "x"})
while len(v6) < 2500:
    net = ipaddress.ip_network(f"2600:{rng.randrange(65536):x}:{rng.randrange(65536):x}::/48")
    v6.append({"ipv6_prefix": str(net), "region": rng.choice(regions), "service": rng.choice(services), "network_border_group": "x"})
json.dump({"syncToken": "1", "createDate": "2026-12-01-00-00-00", "prefixes": v4, "ipv6_prefixes": v6},
          open(f"{work}/ip-ranges.json", "w"))
print(f"# inventory: {len(nics)} interfaces, {len(private)} private and {len(public) // 10} public addresses; "
      f"ip-ranges: {len(v4)} IPv4 and {len(v6)} IPv6 prefixes", file=sys.stderr)
PY

VARIANTS=(plain eni ranges both dedup)
args_of() {
    case "$1" in
        plain) ARGS=() ;;
        eni) ARGS=(--eni-inventory "$WORK/enis.json") ;;
        ranges) ARGS=(--aws-ip-ranges "$WORK/ip-ranges.json") ;;
        both) ARGS=(--eni-inventory "$WORK/enis.json" --aws-ip-ranges "$WORK/ip-ranges.json") ;;
        dedup) ARGS=(--dedup) ;;
    esac
}

echo "# $BIN on $IN ($(stat -c %s "$IN") bytes), $RUNS runs each, alternated, --threads $THREADS, $(nproc) cores"
: >"$WORK/results"
cat "$IN" >/dev/null
for run in $(seq 0 "$RUNS"); do
    for v in "${VARIANTS[@]}"; do
        args_of "$v"
        out="$WORK/$v.parquet"
        t0=$(date +%s%N)
        /usr/bin/time -f '%U %S %M' -o "$WORK/time" "$BIN" convert "$IN" -o "$out" -q --threads "$THREADS" "${ARGS[@]}"
        t1=$(date +%s%N)
        rm -f "$out"
        # run 0 warms up
        [ "$run" = 0 ] && continue
        read -r user sys rss <"$WORK/time"
        echo "$v $(( (t1 - t0) / 1000000 )) $user $sys $rss" >>"$WORK/results"
    done
done

python3 - "$WORK/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    v, ms, u, s, rss = line.split()
    rows.setdefault(v, []).append((int(ms) / 1000, float(u) + float(s), int(rss) / 1024))
med = {v: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs))
       for v, rs in rows.items()}
base = med["plain"]
print(f"{'variant':8} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'wall ×':>7} {'CPU ×':>7}")
for v, (w, c, m) in med.items():
    print(f"{v:8} {w:8.2f} {c:8.2f} {m:9.0f} {w / base[0]:7.2f} {c / base[1]:7.2f}")
PY
