#!/usr/bin/env bash
# 8-bit against BF16 against transformers, side by side in one run: decode at batch 1, 4, 8, 16
# and prefill, on the same random qwen3-0.6b (quantized here when the copy is missing). Run from
# the repository root after `mvn -q -DskipTests package`.
# Usage: bench/q8_compare.sh [BF16_MODEL_DIR] [THREADS] [ROUNDS]
set -euo pipefail
model="${1:-models/qwen3-0.6b-bf16}"
threads="${2:-2}"
rounds="${3:-2}"
q8="${model%-bf16}-q8"
[ "$q8" != "$model" ] || q8="$model-q8"
if [ ! -d "$model" ]; then
    ./reflectrm-j init --preset qwen3-0.6b --dtype bf16 --seed 0 --out "$model"
fi
if [ ! -d "$q8" ]; then
    ./reflectrm-j quantize --model "$model" --out "$q8"
fi
lscpu | grep "Model name" || true
flags=(--threads "$threads" --prompt-len 256 --decode-tokens 32 --repeats 3 --batch 1,4,8,16)
for round in $(seq 1 "$rounds"); do
    for m in "$model" "$q8"; do
        ./reflectrm-j bench --model "$m" "${flags[@]}" --json 2>/dev/null \
            | python3 bench/bench_row.py "round $round reflectrm-j $(basename "$m")"
    done
    python3 bench/peer_transformers.py --model "$model" --threads "$threads" --prompt-len 256 --batch 1,4,8,16 \
        2>/dev/null | python3 bench/bench_row.py "round $round transformers (BF16)"
done
