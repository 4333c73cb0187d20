#!/usr/bin/env python3
"""Plots and a summary of a soak run (scripts/soak.sh): RSS and judged pairs per second over time.

Reads the CSV soak.sh writes (seconds, rss_kb, records) and writes OUT/soak-rss.svg and
OUT/soak-throughput.svg, then prints the summary soak.sh quotes: RSS after warm-up against RSS at
the end, and the throughput of each tenth of the run.

usage: python3 bench/soak_plot.py SOAK.csv OUT
"""
import csv
import sys
from pathlib import Path

from toy_plots import svg


def main():
    rows = [(float(t), int(rss), int(n)) for t, rss, n in list(csv.reader(open(sys.argv[1])))[1:] if rss]
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    seconds = [r[0] for r in rows]
    rss_mb = [r[1] / 1024 for r in rows]
    # pairs per second over a sliding 10-second window
    rate = []
    for i, (t, _, n) in enumerate(rows):
        j = max(0, i - 10)
        rate.append((n - rows[j][2]) / (t - rows[j][0]) if t > rows[j][0] else None)
    ticks = [f"{s / 60:.0f}" for s in seconds]
    (out / "soak-rss.svg").write_text(svg("judge --input, 20,000 pairs: resident memory", "RSS (MB)",
                                          [("RSS", rss_mb)], (0, max(rss_mb) * 1.15), "minutes", ticks))
    top = max(v for v in rate if v is not None)
    (out / "soak-throughput.svg").write_text(svg("judge --input, 20,000 pairs: throughput", "pairs/s (10 s window)",
                                                 [("pairs/s", rate)], (0, top * 1.15), "minutes", ticks))
    n = len(rows)
    warm = rows[n // 10]
    print(f"run: {seconds[-1]:.0f} s, {rows[-1][2]} records")
    print(f"RSS: {warm[1] / 1024:.0f} MB after warm-up (10% of the run), {rows[-1][1] / 1024:.0f} MB at the end, "
          f"{max(r[1] for r in rows[n // 10:]) / 1024:.0f} MB at most after warm-up")
    tenths = []
    for k in range(10):
        a, b = rows[k * n // 10], rows[min(n - 1, (k + 1) * n // 10)]
        tenths.append((b[2] - a[2]) / (b[0] - a[0]) if b[0] > a[0] else 0)
    print("pairs/s by tenth of the run: " + " ".join(f"{v:.1f}" for v in tenths))


if __name__ == "__main__":
    main()
