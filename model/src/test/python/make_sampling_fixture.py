#!/usr/bin/env python3
"""Records what transformers' sampling warpers keep, as the reference for the Java sampler.

    python3 model/src/test/python/make_sampling_fixture.py \
        --out model/src/test/resources/sampling/warpers.json

For several random logit rows (some with tied values) and several (temperature, top_k, top_p,
min_p) settings it applies TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper and
MinPLogitsWarper in the order generate() uses, and stores the surviving token ids with their
sampling probabilities (softmax of the processed scores). Made with transformers 5.18, torch 2.13.
"""
import argparse
import json

import torch
import transformers
from transformers.generation.logits_process import (
    LogitsProcessorList,
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

SETTINGS = [
    # temperature, top_k, top_p, min_p
    (1.0, 0, 1.0, 0.0),
    (0.7, 20, 1.0, 0.0),
    (0.6, 20, 0.95, 0.0),
    (1.0, 0, 0.9, 0.0),
    (0.7, 0, 0.8, 0.0),
    (1.3, 50, 0.5, 0.0),
    (1.0, 0, 1.0, 0.1),
    (0.8, 40, 0.95, 0.05),
    (0.5, 3, 1.0, 0.0),
    (2.0, 0, 0.99, 0.2),
]


def warpers(t, k, p, m):
    procs = []
    if t != 1.0:
        procs.append(TemperatureLogitsWarper(t))
    if k != 0:
        procs.append(TopKLogitsWarper(top_k=k))
    if p < 1.0:
        procs.append(TopPLogitsWarper(top_p=p))
    if m > 0:
        procs.append(MinPLogitsWarper(min_p=m))
    return LogitsProcessorList(procs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(1234)
    rows = []
    for r in range(6):
        scale = [1.0, 3.0, 0.3, 2.0, 5.0, 1.0][r]
        logits = (torch.randn(300, generator=gen) * scale).float()
        if r % 2 == 1:
            # Ties around the top-k boundary.
            top = torch.topk(logits, 25).values
            logits[logits == top[19]] = top[18]
            logits[torch.topk(logits, 60).indices[40:45]] = top[2]
        rows.append(logits)
    cases = []
    for ri, logits in enumerate(rows):
        for (t, k, p, m) in SETTINGS:
            processed = warpers(t, k, p, m)(None, logits.clone().unsqueeze(0))[0]
            probs = torch.softmax(processed.double(), dim=-1)
            kept = torch.nonzero(torch.isfinite(processed)).flatten().tolist()
            dropped = [i for i in range(len(logits)) if i not in set(kept)]
            # torch.sort is not stable: where a cut falls inside a group of equal scores, which
            # of them survive is arbitrary, and only the count and the values are comparable.
            tie_at_cut = bool(dropped) and float(logits[kept].min()) == float(logits[dropped].max())
            cases.append({
                "row": ri, "temperature": t, "top_k": k, "top_p": p, "min_p": m,
                "kept": kept, "probs": [float(probs[i]) for i in kept], "tie_at_cut": tie_at_cut,
            })
    out = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "logits": [[float(x) for x in row] for row in rows],
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
