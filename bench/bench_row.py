#!/usr/bin/env python3
"""One line from a `bench --json` or `bench/peer_transformers.py` result on stdin: prefill and
decode tokens/s per batch size. Usage: ... | bench/bench_row.py LABEL"""
import json
import sys

d = json.load(sys.stdin)
decode = "  ".join(f"b{k} {v:6.1f}" for k, v in d["decode_tokens_per_s"].items())
extra = f"  (read bandwidth {d['read_bandwidth_gb_per_s']:.1f} GB/s)" if "read_bandwidth_gb_per_s" in d else ""
print(f"{sys.argv[1]:<40} prefill {d['prefill_tokens_per_s']:7.1f}  {decode}{extra}")
