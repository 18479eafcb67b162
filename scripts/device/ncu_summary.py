#!/usr/bin/env python3
"""Sums an `ncu --csv --metrics gpu__time_duration.sum` log per kernel, for one profiled decode step.

usage: ncu_summary.py NCU.csv   (lm_bench --profile-step N under ncu --profile-from-start off)
Prints each kernel (template arguments dropped) with its launch count and total microseconds,
largest first, and the sum: the step's kernel time without launch gaps, to set beside the step's
wall time that lm_bench reports.
"""
import csv
import re
import sys
from collections import defaultdict

SCALE = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3, "second": 1e6}


def short(name):
    name = re.sub(r"\(.*", "", name)  # argument list
    depth, out = 0, []
    for ch in name:  # template arguments
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out).split("::")[-1].strip() or name


def main():
    rows = []
    with open(sys.argv[1], newline="") as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        us = float(r["Metric Value"].replace(",", "")) * SCALE.get(r["Metric Unit"], 1.0)
        rows.append((short(r["Kernel Name"]), r.get("Grid Size", ""), us))
    total = defaultdict(float)
    count = defaultdict(int)
    for name, _, us in rows:
        total[name] += us
        count[name] += 1
    for name in sorted(total, key=total.get, reverse=True):
        print(f"{total[name]:10.1f} us  {count[name]:5d} x  {total[name] / count[name]:8.2f} us  {name}")
    print(f"{sum(total.values()):10.1f} us  {len(rows):5d} launches in all")


if __name__ == "__main__":
    main()
