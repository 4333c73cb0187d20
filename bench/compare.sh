#!/usr/bin/env bash
# Side-by-side decode/prefill comparison: reflectrm-j bench, then transformers on the same
# checkpoint with the same thread count, then the ratios. Run from the repository root after
# `mvn -q -DskipTests package`. Usage: bench/compare.sh [MODEL_DIR] [THREADS] [extra bench flags]
set -euo pipefail
model="${1:-models/qwen3-0.6b-bf16}"
threads="${2:-2}"
shift $(( $# > 2 ? 2 : $# )) || true
if [ ! -d "$model" ]; then
    ./reflectrm-j init --preset qwen3-0.6b --dtype bf16 --seed 0 --out "$model"
fi
ours=$(./reflectrm-j bench --model "$model" --threads "$threads" --json "$@")
peer=$(python3 bench/peer_transformers.py --model "$model" --threads "$threads")
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"model {ours['model']}, {ours['threads']} threads; peer: {peer['peer']} ({peer['dtype']})")
print(f"{'measure':<22}{'reflectrm-j':>14}{'transformers':>14}{'ratio':>8}")
def row(name, a, b):
    print(f"{name:<22}{a:>14.2f}{b:>14.2f}{a / b:>8.2f}")
row("prefill tokens/s", ours["prefill_tokens_per_s"], peer["prefill_tokens_per_s"])
for b, v in ours["decode_tokens_per_s"].items():
    if b in peer["decode_tokens_per_s"]:
        row(f"decode b={b} tokens/s", v, peer["decode_tokens_per_s"][b])
print(f"read bandwidth {ours['read_bandwidth_gb_per_s']:.1f} GB/s; decode limit "
      f"{ours['decode_bandwidth_limit_tokens_per_s']:.1f} tokens/s; batch 1 at "
      f"{100 * ours.get('decode_batch1_fraction_of_limit', 0):.0f}% of it")
PY
