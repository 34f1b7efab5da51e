#!/usr/bin/env python3
"""Checks the library's layering: the top-level modules of src/ (folders and files), the
`crate::` paths each one's code uses (comments left out), and no cycle among them. Prints the
graph; exits 1 on a cycle or an import against the documented order."""
import os, re, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
# The documented order (README, Architecture): a module may use only modules before it.
ORDER = ["error", "cleanup", "input", "parse", "format", "batch", "enrich", "pipeline", "sink",
         "query", "present"]
BINARY = {"main", "cli", "app"}

def top(path):
    rel = os.path.relpath(path, ROOT)
    return rel.split(os.sep)[0].removesuffix(".rs")

edges = {}
for d, _, files in os.walk(ROOT):
    for f in files:
        if not f.endswith(".rs"):
            continue
        p = os.path.join(d, f)
        src = top(p)
        if src in BINARY or src == "lib":
            continue
        code = "\n".join(l.split("//")[0] for l in open(p, encoding="utf-8"))
        for m in re.finditer(r"crate::([a-z_0-9]+)", code):
            dst = m.group(1)
            if dst != src:
                edges.setdefault(src, set()).add(dst)

# Within a folder: `super::x` and `crate::folder::x` between its files must not form a cycle.
inner = {}
for d, _, files in os.walk(ROOT):
    if os.path.abspath(d) == os.path.abspath(ROOT):
        continue
    folder = top(d)
    if folder in BINARY:
        continue
    for f in files:
        if not f.endswith(".rs") or f == "mod.rs":
            continue
        me = f"{folder}::{f[:-3]}"
        code = "\n".join(l.split("//")[0] for l in open(os.path.join(d, f), encoding="utf-8"))
        code = code.split("#[cfg(test)]")[0]
        for m in re.finditer(r"(?:super|crate::" + folder + r")::([a-z_0-9]+)", code):
            other = f"{folder}::{m.group(1)}"
            if other != me and os.path.exists(os.path.join(d, m.group(1) + ".rs")):
                inner.setdefault(me, set()).add(other)

bad = []
for s in sorted(edges):
    print(f"{s:9} -> {', '.join(sorted(edges[s]))}")
    for t in edges[s]:
        if s in ORDER and t in ORDER and ORDER.index(t) > ORDER.index(s):
            bad.append(f"{s} uses {t}, a later layer")
        elif s not in ORDER or t not in ORDER:
            bad.append(f"{s} -> {t}: a module missing from the layer order")

# Cycles (the order check implies none, but say which if the order list is edited).
def cycle():
    state = {}
    def visit(n, stack):
        state[n] = 1
        for t in edges.get(n, ()):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t] if t in stack else [n, t]
            if t not in state:
                c = visit(t, stack + [t])
                if c:
                    return c
        state[n] = 2
    for n in edges:
        if n not in state:
            c = visit(n, [n])
            if c:
                return c
c = cycle()
if c:
    bad.append("cycle: " + " -> ".join(c))
edges = inner
c = cycle()
if c:
    bad.append("cycle inside a folder: " + " -> ".join(c))
for b in bad:
    print("layers.py:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
