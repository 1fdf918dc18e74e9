#!/usr/bin/env python3
"""Compares estimated output-aware sensitivities with measured ones.

  compare_sensitivities.py MEASURED ESTIMATED --min-correlation R

Both files are sensitivities files ('NAME BITS:GROUP VALUE' lines, as
quant-compile --sensitivities-out writes them). Prints the number of
(layer, scheme) pairs, the Pearson correlation of the logarithms of the two
values over the pairs where both are positive, and the Spearman (rank)
correlation; then PASS when every pair of MEASURED is in ESTIMATED and the
log correlation is at least R, else FAIL with the reason.
"""
import argparse
import sys

import numpy as np


def load(path):
    values = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, spec, value = line.split()
        values[(name, spec)] = float(value)
    return values


def ranks(x):
    return np.argsort(np.argsort(x)).astype(float)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("measured")
    p.add_argument("estimated")
    p.add_argument("--min-correlation", type=float, required=True)
    args = p.parse_args()
    measured, estimated = load(args.measured), load(args.estimated)
    missing = [k for k in measured if k not in estimated]
    keys = [k for k in measured
            if k in estimated and measured[k] > 0 and estimated[k] > 0]
    x = np.log([measured[k] for k in keys])
    y = np.log([estimated[k] for k in keys])
    log_r = float(np.corrcoef(x, y)[0, 1])
    rank_r = float(np.corrcoef(ranks(x), ranks(y))[0, 1])
    print(f"{len(measured)} pairs measured, {len(keys)} compared: "
          f"log correlation {log_r:.3f}, rank correlation {rank_r:.3f}")
    if missing:
        print(f"FAIL: {len(missing)} measured pairs not estimated, e.g. {missing[0]}")
        return 1
    if not log_r >= args.min_correlation:
        print(f"FAIL: log correlation {log_r:.3f} below {args.min_correlation}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
