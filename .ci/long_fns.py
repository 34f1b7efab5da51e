#!/usr/bin/env python3
"""Lists library functions longer than LIMIT lines (tests left out). A function may be longer
only when a comment in the 3 lines above it says it is a measured hot path. Exits 1 otherwise."""
import os, re, sys

LIMIT = 150
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
bad = []
for d, _, files in os.walk(ROOT):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(d, f)
        lines = open(p, encoding="utf-8").read().split("\n")
        stop = next((i for i, l in enumerate(lines) if l.strip() == "#[cfg(test)]"), len(lines))
        i = 0
        while i < stop:
            m = re.match(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(async )?(unsafe )?fn (\w+)", lines[i])
            if m:
                indent = m.group(1)
                j = i
                while j < len(lines) and not (lines[j].startswith(indent + "}") and len(lines[j].rstrip()) == len(indent) + 1):
                    j += 1
                n = j - i + 1
                above = "\n".join(lines[max(0, i - 4):i])
                if n > LIMIT and "hot path" not in above:
                    bad.append(f"{os.path.relpath(p, ROOT)}:{i + 1}: fn {m.group(7)} is {n} lines")
                i = j
            i += 1
for b in bad:
    print("long_fns.py:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
