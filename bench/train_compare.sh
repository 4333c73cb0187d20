#!/usr/bin/env bash
# Training throughput side by side: reflectrm-j bench-train and PyTorch (bench/peer_train.py) on the
# same machine, alternating, same thread count. Prints one JSON object per measurement.
#   bench/train_compare.sh [small|lora|all] [THREADS] [ROUNDS]
# small: the train-small preset (hidden 256, 4 layers, vocab 1024, F32), batch 8 x 256, full training.
# lora:  a random qwen3-0.6b BF16 checkpoint (models/qwen3-0.6b-bf16), LoRA r=16 on all linear layers, 1 x 256.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
threads=${2:-2}
rounds=${3:-2}
[ -d models/train-small ] || ./reflectrm-j init --preset train-small --dtype f32 --seed 0 --out models/train-small >/dev/null
if [ "$what" != small ] && [ ! -d models/qwen3-0.6b-bf16 ]; then
    ./reflectrm-j init --preset qwen3-0.6b --out models/qwen3-0.6b-bf16 >/dev/null
fi
for round in $(seq "$rounds"); do
    if [ "$what" != lora ]; then
        ./reflectrm-j bench-train --model models/train-small --threads "$threads" --batch 8 --seq-len 256 --steps 5 --json 2>/dev/null
        python3 bench/peer_train.py --only small --threads "$threads" --steps 5 2>/dev/null
    fi
    if [ "$what" != small ]; then
        ./reflectrm-j bench-train --model models/qwen3-0.6b-bf16 --threads "$threads" --batch 1 --seq-len 256 --steps 3 --warmup 1 --lora-rank 16 --json 2>/dev/null
        python3 bench/peer_train.py --only lora --model models/qwen3-0.6b-bf16 --threads "$threads" --steps 3 2>/dev/null
    fi
done
