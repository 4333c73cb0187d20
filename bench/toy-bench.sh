#!/usr/bin/env bash
# The toy world's two hot phases, reflectrm-j against PyTorch (bench/peer_toy.py: transformers'
# Qwen3ForCausalLM at the same config and weights), one after the other in one run on this machine, so
# the ratios compare like with like on a shared, noisy host:
#   sft:    `train sft` on the demo's sft.jsonl (--batch 64, --max-len 512, --lr 2e-3, full F32 training)
#   sample: `data sample` of the first PAIRS pairs with a preference record, n=8 rollouts, temperature 1.0,
#           max 96 new tokens, 16 pairs per batch
# and prints tokens/s of each side and their ratio (Java / PyTorch; above 1 means Java is faster).
#
#   bench/toy-bench.sh [DATA_DIR [MODEL_DIR]]
#
# DATA_DIR is a `reflectrm-j demo data` folder and MODEL_DIR a model over its tokenizer; without them both are
# made in a temporary folder (demo data --seed 1, init --preset toy --dtype f32 --seed 0). Longer runs:
#   THREADS (2), SFT_STEPS (20, of which the first 2 are not timed), SFT_BATCH (64), PAIRS (32), BATCH_PAIRS (16),
#   N (8), MAX_NEW_TOKENS (96); KEEP=1 keeps the temporary folder (logs, metrics, samples).
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-2}
sft_steps=${SFT_STEPS:-20}
sft_batch=${SFT_BATCH:-64}
pairs=${PAIRS:-32}
batch_pairs=${BATCH_PAIRS:-16}
n=${N:-8}
max_new=${MAX_NEW_TOKENS:-96}
warmup=2   # SFT steps left out of both sides' medians (JIT and allocator warm-up)
if [ "$sft_steps" -le "$warmup" ]; then
    echo "toy-bench: SFT_STEPS must exceed $warmup (the untimed warm-up steps)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/toy-bench.XXXXXX")
if [ -n "${KEEP:-}" ]; then
    echo "toy-bench: keeping $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

data=${1:-}
model=${2:-}
if [ -z "$data" ]; then
    data=$work/data
    ./reflectrm-j demo data --out "$data" --seed 1 >&2
fi
if [ -z "$model" ]; then
    model=$work/model
    ./reflectrm-j init --preset toy --tokenizer "$data/tokenizer" --dtype f32 --seed 0 --out "$model" >&2
fi
echo "toy-bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# --- sft -------------------------------------------------------------------------------------------------
# Java: the trainer logs every step's non-pad tokens and tokens/s to metrics.jsonl; the median over the steps
# after the warm-up is the number, as the Python side takes the median of its timed steps.
echo "toy-bench: Java train sft, $sft_steps steps of $sft_batch" >&2
./reflectrm-j train sft --model "$model" --data "$data/sft.jsonl" --out "$work/sft-java" --max-len 512 \
    --batch "$sft_batch" --steps "$sft_steps" --lr 2e-3 --threads "$threads" >"$work/sft-java.log" 2>&1 \
    || { cat "$work/sft-java.log" >&2; exit 1; }
python3 - "$work/sft-java/metrics.jsonl" "$warmup" >"$work/sft-java.json" <<'EOF'
import json, statistics, sys
steps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
timed = [s for s in steps if "tokens_per_s" in s and s["step"] > int(sys.argv[2])]
print(json.dumps({"tokens_per_s": statistics.median(s["tokens_per_s"] for s in timed),
                  "tokens_per_step": statistics.mean(s["tokens"] for s in timed), "steps": len(timed)}))
EOF
# Python: the same number of steps in all (2 untimed, then the rest).
echo "toy-bench: PyTorch sft" >&2
python3 bench/peer_toy.py --data "$data" --model "$model" --phase sft --steps $((sft_steps - warmup)) \
    --warmup "$warmup" --batch "$sft_batch" --threads "$threads" 2>"$work/sft-torch.log" >"$work/sft-torch.json" \
    || { cat "$work/sft-torch.log" >&2; exit 1; }

# --- sample ----------------------------------------------------------------------------------------------
# Both sides sample the same pairs: the peer script picks them (its prompts are those pairs' judge prompts).
python3 bench/peer_toy.py --data "$data" --model "$model" --phase pairs --pairs "$pairs" --out "$work/pairs.jsonl"
echo "toy-bench: Java data sample, $pairs pairs x $n" >&2
./reflectrm-j data sample --model "$model" --input "$work/pairs.jsonl" --output "$work/samples.jsonl" --n "$n" \
    --max-new-tokens "$max_new" --batch-pairs "$batch_pairs" --temperature 1.0 --threads "$threads" \
    >"$work/sample-java.log" 2>&1 || { cat "$work/sample-java.log" >&2; exit 1; }
# data sample reports no throughput: generated tokens are the samples' "tokens" (each rollout's tokens up to
# and including its stop token), over the wall time of its summary line ("... in X s"), which covers loading
# the model and every batch, with no warm-up left out.
python3 - "$work/samples.jsonl" "$work/sample-java.log" "$n" >"$work/sample-java.json" <<'EOF'
import json, re, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tokens = sum(s["tokens"] for r in records for s in r["samples"])
seconds = float(re.search(r"sampled \d+ pairs, \d+ analyses each, in ([0-9.]+) s", open(sys.argv[2]).read()).group(1))
print(json.dumps({"tokens_per_s": tokens / seconds, "generated_tokens": tokens, "wall_s": seconds,
                  "tokens_per_rollout": tokens / (len(records) * int(sys.argv[3]))}))
EOF
echo "toy-bench: PyTorch sample" >&2
python3 bench/peer_toy.py --data "$data" --model "$model" --phase sample --pairs "$pairs" --batch "$batch_pairs" \
    --n "$n" --max-new-tokens "$max_new" --temperature 1.0 --threads "$threads" \
    2>"$work/sample-torch.log" >"$work/sample-torch.json" || { cat "$work/sample-torch.log" >&2; exit 1; }
echo "toy-bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# --- table -----------------------------------------------------------------------------------------------
python3 - "$work" "$threads" <<'EOF'
import json, os, sys
work, threads = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(os.path.join(work, name)))
sj, st, gj, gt = load("sft-java.json"), load("sft-torch.json"), load("sample-java.json"), load("sample-torch.json")
print(f"CPU: {st['cpu']}, {threads} threads; torch {st['torch']}, transformers {st['transformers']}")
print(f"{'phase':<8}{'Java tok/s':>12}{'PyTorch tok/s':>15}{'ratio':>8}   work per side")
print(f"{'sft':<8}{sj['tokens_per_s']:>12.0f}{st['tokens_per_s']:>15.0f}{sj['tokens_per_s'] / st['tokens_per_s']:>8.2f}"
      f"   tokens/step {sj['tokens_per_step']:.0f} / {st['tokens_per_step']:.0f}"
      f" (PyTorch padded to {st['padded_tokens_per_step']:.0f})")
print(f"{'sample':<8}{gj['tokens_per_s']:>12.1f}{gt['tokens_per_s']:>15.1f}{gj['tokens_per_s'] / gt['tokens_per_s']:>8.2f}"
      f"   tokens/rollout {gj['tokens_per_rollout']:.1f} / {gt['tokens_per_rollout']:.1f}"
      f" (PyTorch decoded {gt['computed_tokens']} rows x steps for {gt['generated_tokens']})")
print(json.dumps({"sft": {"java": sj, "torch": st}, "sample": {"java": gj, "torch": gt}}))
EOF
