#!/usr/bin/env python3
"""Medians of JMH iterations (the machine is shared and noisy, so means mislead).

Usage:
  java -jar bench/target/benchmarks.jar -rf json -rff results.json [benchmarks...]
  python3 bench/jmh_medians.py results.json
Prints, per benchmark and parameter set, the median iteration score of the primary result and
of every secondary result (gflop = GFLOPS, gbyte = GB/s).
"""
import json
import statistics
import sys


def main() -> None:
    with open(sys.argv[1]) as f:
        runs = json.load(f)
    for run in runs:
        params = ", ".join(f"{k}={v}" for k, v in (run.get("params") or {}).items())
        name = run["benchmark"].rsplit(".", 2)[-2] + "." + run["benchmark"].rsplit(".", 1)[-1]
        metrics = [("", run["primaryMetric"])] + list((run.get("secondaryMetrics") or {}).items())
        for label, m in metrics:
            scores = [s for fork in m["rawData"] for s in fork]
            if not scores:
                continue
            unit = m["scoreUnit"]
            if label == "gflop":
                unit = "GFLOPS"
            elif label == "gbyte":
                unit = "GB/s"
            title = f"{name}{':' + label if label else ''} ({params})"
            print(f"{title:70s} median {statistics.median(scores):10.2f} {unit:8s}"
                  f" (min {min(scores):.2f}, max {max(scores):.2f}, n={len(scores)})")


if __name__ == "__main__":
    main()
