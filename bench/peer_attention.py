#!/usr/bin/env python3
"""PyTorch peer of TrainAttentionBench: causal GQA self-attention forward and backward
(torch.nn.functional.scaled_dot_product_attention, F32 CPU) on the same two shapes.
    python3 bench/peer_attention.py [--threads 2]
Prints calls per second (median of 20 timed calls after 5 warm-up calls)."""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
args = ap.parse_args()
torch.set_num_threads(args.threads)
for name, tokens, heads, kv, d in (("small", 256, 4, 2, 64), ("qwen3", 1024, 16, 8, 128)):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, heads, tokens, d, generator=g, requires_grad=True)
    k = torch.randn(1, kv, tokens, d, generator=g, requires_grad=True)
    v = torch.randn(1, kv, tokens, d, generator=g, requires_grad=True)
    up = torch.randn(1, heads, tokens, d, generator=g)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

    def timed(fn, n=20):
        for _ in range(5):
            fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return 1 / statistics.median(ts)

    with torch.no_grad():
        fwd = timed(forward)
    out = forward()
    bwd = timed(lambda: torch.autograd.grad(out, (q, k, v), up, retain_graph=True))
    print(f"{name}: forward {fwd:.1f} calls/s, backward {bwd:.1f} calls/s (torch {torch.__version__}, {args.threads} threads)")
