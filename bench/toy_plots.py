#!/usr/bin/env python3
"""Plots of a `demo reproduce` run for docs/toy-world.md, as small self-contained SVG files.

Reads DIR/rft/metrics.jsonl and DIR/unified/metrics.jsonl (train grpo's per-step metrics) and
writes, under OUT: grpo-rewards.svg (the Pref and Refl rewards per step, smoothed over a window)
and grpo-kl.svg. Plain SVG, written by hand so that the plots need nothing beyond Python.

usage: python3 bench/toy_plots.py DIR OUT
"""
import json
import sys
from pathlib import Path

W, H, PAD = 560, 300, 48
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def read(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def smooth(values, window=10):
    out = []
    for i in range(len(values)):
        part = [v for v in values[max(0, i - window + 1):i + 1] if v is not None]
        out.append(sum(part) / len(part) if part else None)
    return out


def svg(title, y_label, series, y_range, x_label="GRPO step", x_values=None):
    lo, hi = y_range
    steps = max(len(v) for _, v in series)
    x = lambda i: PAD + (W - 2 * PAD) * i / max(1, steps - 1)
    y = lambda v: H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13">{title}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#444"/>',
             f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#444"/>',
             f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle">{x_label}</text>',
             f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">{y_label}</text>']
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        parts.append(f'<text x="{PAD - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
        parts.append(f'<line x1="{PAD}" y1="{y(v):.1f}" x2="{W - PAD}" y2="{y(v):.1f}" stroke="#eee"/>')
    for k in range(0, steps, max(1, steps // 6)):
        tick = k + 1 if x_values is None else x_values[k]
        parts.append(f'<text x="{x(k):.1f}" y="{H - PAD + 14}" text-anchor="middle">{tick}</text>')
    for n, (name, values) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)
        colour = COLOURS[n % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{points}"/>')
        parts.append(f'<text x="{W - PAD - 150}" y="{PAD + 14 * n}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    run, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rft, unified = read(run / "rft" / "metrics.jsonl"), read(run / "unified" / "metrics.jsonl")
    series = [("RFT: Pref reward", smooth([r.get("reward_mean_pref") for r in rft])),
              ("unified: Pref reward", smooth([r.get("reward_mean_pref") for r in unified])),
              ("unified: Refl reward", smooth([r.get("reward_mean_refl") for r in unified]))]
    (out / "grpo-rewards.svg").write_text(svg("Mean reward at T = 1 (10-step moving average)", "reward", series, (0.4, 1.0)))
    kl = [("RFT", smooth([r.get("kl") for r in rft])), ("unified", smooth([r.get("kl") for r in unified]))]
    top = max(v for _, vs in kl for v in vs if v is not None)
    (out / "grpo-kl.svg").write_text(svg("KL to the base model (10-step moving average)", "k3 KL", kl, (0.0, top * 1.1)))


if __name__ == "__main__":
    main()
