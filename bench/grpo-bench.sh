#!/usr/bin/env bash
# GRPO training steps side by side: reflectrm-j `train grpo` and TRL 1.13's GRPOTrainer (bench/peer_grpo.py)
# on the same random-weight models, the same data file and the same settings, one process at a time.
# Prints one table per configuration (medians over the steps after the first, which is warm-up) and
# writes every raw number to $WORK.
#
#   bench/grpo-bench.sh [tiny|0.6b|all]
#
# tiny: `init --preset tiny` with the 506-token toy tokenizer, F32, full fine-tuning; 2 prompts x 8
#       rollouts per step, 64 new tokens, 16 steps (its first steps are JIT warm-up).
# 0.6b: `init --preset qwen3-0.6b`, BF16, LoRA r=8 alpha 16 on all seven linear layers; 1 prompt x 8
#       rollouts per step, 32 new tokens, 3 steps. TRL loads the base in $PEER_DTYPE (default bfloat16;
#       adapters float32); reflectrm-j computes in F32 from the BF16 weights.
# Both: temperature 1.0, loss dapo, beta 0, lr 1e-5 (linear decay), $THREADS threads (default 2).
#
# Environment: REFLECTRM_JAR (default cli/target/reflectrm-j.jar; copied into $WORK first, so a rebuild
# cannot change it mid-run), JAVA_HOME, JAVA_OPTS, THREADS (2), ROUNDS (1: each round runs every
# configuration on both sides, alternating), WORK (default: a new /tmp/grpo-bench.XXXXXX; models are
# made there once and reused), STEPS_TINY (16), STEPS_06B (3), PEER_DTYPE (bfloat16|float32),
# SUMMARY_ONLY=1 (run nothing: print the tables again from an earlier run's WORK).
# Needs python3 with torch, transformers, trl, peft and datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}
case "$what" in tiny|0.6b|all) ;; *) echo "usage: $0 [tiny|0.6b|all]" >&2; exit 2 ;; esac
threads=${THREADS:-2}
rounds=${ROUNDS:-1}
steps_tiny=${STEPS_TINY:-16}
steps_06b=${STEPS_06B:-3}
peer_dtype=${PEER_DTYPE:-bfloat16}
work=${WORK:-$(mktemp -d /tmp/grpo-bench.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
jar_src=${REFLECTRM_JAR:-$root/cli/target/reflectrm-j.jar}
if [ ! -f "$jar_src" ]; then
    echo "grpo-bench: $jar_src not found; build it with: mvn -q -DskipTests package (or set REFLECTRM_JAR)" >&2
    exit 1
fi
jar="$work/reflectrm-j.jar"
[ "$(cd "$(dirname "$jar_src")" && pwd)/$(basename "$jar_src")" = "$jar" ] || cp "$jar_src" "$jar"

# The JVM as the ./reflectrm-j launcher starts it.
java_bin=""
for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25*; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] \
        && "$candidate/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then
        java_bin="$candidate/bin/java"
        break
    fi
done
if [ -z "$java_bin" ]; then
    echo "grpo-bench: needs JDK 25 or newer; set JAVA_HOME to one" >&2
    exit 1
fi
jsig="$(dirname "$(dirname "$java_bin")")/lib/libjsig.so"
rj() {
    LD_PRELOAD="$jsig${LD_PRELOAD:+:$LD_PRELOAD}" "$java_bin" --add-modules jdk.incubator.vector \
        --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx2g ${JAVA_OPTS:-} -jar "$jar" "$@"
}
now() { python3 -c 'import time; print(time.time())'; }

# Models (random weights, seed 1; transformers loads the same folders) and the data file.
models="$work/models"
if [ ! -f "$models/tiny/model.safetensors" ]; then
    rj init --preset tiny --tokenizer reflect/src/test/resources/toy-tokenizer --dtype f32 --seed 1 \
        --out "$models/tiny" --force >"$work/init-tiny.log" 2>&1
fi
q="$models/qwen3-0.6b-bf16"
if [ "$what" != tiny ]; then
    if [ ! -f "$q/model.safetensors" ]; then
        rj init --preset qwen3-0.6b --dtype bf16 --seed 1 --out "$q" --force >"$work/init-0.6b.log" 2>&1
    fi
    tok=tokenizer/src/main/resources/org/reflectrm/tokenizer/qwen3
    [ -f "$q/tokenizer_config.json" ] || cp "$tok/tokenizer_config.json" "$q/"
    [ -f "$q/tokenizer.json" ] || gzip -dc "$tok/tokenizer.json.gz" >"$q/tokenizer.json"
fi
data="$work/grpo-data.jsonl"
python3 bench/peer_grpo.py --write-data "$data" --records 8

# One configuration on both sides: reflectrm-j first, then TRL.
run_config() {   # name round model prompts-per-step max-new-tokens steps [lora flags...]
    local name=$1 round=$2 model=$3 pps=$4 mnt=$5 steps=$6
    shift 6
    local dir="$work/round$round/$name"
    rm -rf "$dir"
    mkdir -p "$dir"
    local t0 t1
    t0=$(now)
    if ! rj train grpo --model "$model" --data "$data" --out "$dir/java-out" --group 8 --prompts-per-step "$pps" \
            --max-new-tokens "$mnt" --temperature 1.0 --loss-type dapo --beta 0 --lr 1e-5 --steps "$steps" \
            --threads "$threads" --log-rollouts "$dir/java-rollouts.jsonl" --json "$@" \
            >"$dir/java.json" 2>"$dir/java.log"; then
        echo "grpo-bench: reflectrm-j train grpo failed ($name, round $round); see $dir/java.log:" >&2
        tail -20 "$dir/java.log" >&2
        exit 1
    fi
    t1=$(now)
    echo "{\"wall_s\": $(python3 -c "print($t1 - $t0)")}" >"$dir/java-wall.json"
    python3 -c 'import json, sys; print(json.dumps({"vocab_size": json.load(open(sys.argv[1]))["vocab_size"]}))' \
        "$model/config.json" >"$dir/vocab.json"
    local peer_flags=()
    if [ "$#" -gt 0 ]; then peer_flags=(--lora-rank 8 --lora-alpha 16 --dtype "$peer_dtype"); fi
    t0=$(now)
    if ! python3 bench/peer_grpo.py --model "$model" --data "$data" --threads "$threads" --group 8 \
            --prompts-per-step "$pps" --max-completion-length "$mnt" --steps "$steps" --lr 1e-5 \
            --rollouts "$dir/java-rollouts.jsonl" "${peer_flags[@]}" >"$dir/trl.json" 2>"$dir/trl.log"; then
        echo "grpo-bench: bench/peer_grpo.py failed ($name, round $round); see $dir/trl.log:" >&2
        tail -20 "$dir/trl.log" >&2
        exit 1
    fi
    t1=$(now)
    echo "{\"wall_s\": $(python3 -c "print($t1 - $t0)")}" >"$dir/trl-wall.json"
}

for round in $(seq "$rounds"); do
    if [ "$what" != 0.6b ]; then
        run_config tiny "$round" "$models/tiny" 2 64 "$steps_tiny"
    fi
    if [ "$what" != tiny ]; then
        run_config 0.6b "$round" "$q" 1 32 "$steps_06b" --lora-rank 8 --lora-alpha 16
    fi
done
fi  # SUMMARY_ONLY

python3 - "$work" "$rounds" "$what" "$threads" "$peer_dtype" <<'PY'
import glob, json, math, os, statistics, subprocess, sys
work, rounds, what, threads, peer_dtype = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
med = lambda xs: statistics.median(xs) if xs else float("nan")
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout
            .splitlines() if l.startswith("Model name")), "?")
summary = {"cpu": cpu, "threads": int(threads), "rounds": rounds, "peer_dtype_0.6b": peer_dtype, "configs": {}}
print(f"CPU {cpu}; {threads} threads; {rounds} round(s); first step of every run dropped; medians of the rest")
print("step = gen + train. gen tok/s: generated tokens (EOS included) / gen s; "
      "train tok/s: prompt + completion tokens of all rollouts (unpadded) / train s")
for name in (["tiny"] if what == "tiny" else ["0.6b"] if what == "0.6b" else ["tiny", "0.6b"]):
    ours, peer, walls = [], [], {"java": [], "trl": []}
    prompt_check, shifted, odd = [], [], []
    for d in sorted(glob.glob(f"{work}/round*/{name}")):
        rows = [json.loads(l) for l in open(f"{d}/java-out/metrics.jsonl") if l.strip()]
        rollouts = [json.loads(l) for l in open(f"{d}/java-rollouts.jsonl") if l.strip()]
        for r in rows:
            if any(isinstance(r.get(k), float) and not math.isfinite(r[k]) for k in ("loss", "grad_norm")):
                odd.append(f"{d}: step {r['step']} loss {r['loss']} grad_norm {r['grad_norm']}")
            step_rollouts = [x for x in rollouts if x["step"] == r["step"]]
            r["prompt_len_mean"] = (sum(len(x["prompt_ids"]) for x in step_rollouts) / len(step_rollouts)
                                    if step_rollouts else float("nan"))
            r["step_s"] = r["gen_s"] + r["train_s"]
        ours += rows[1:]
        # Rollouts of one group should be independent draws. Count how often rollout j's token t lies within
        # vocab/500 ids of rollout j-1's token t+1: on a near-uniform random model, sampling by inverse CDF from
        # the same uniform number lands there, so a high fraction means the group's random streams are shifted
        # copies of each other. Chance level is about 0.4% (about 0.6% for the 512-row vocabulary).
        vocab = json.load(open(f"{d}/vocab.json"))["vocab_size"]
        tol = max(1, vocab // 500)
        same = total = 0
        by_group = {}
        for x in rollouts:
            by_group.setdefault((x["step"], x["prompt_index"]), []).append(x["completion_ids"])
        for g in by_group.values():
            for a, b in zip(g[1:], g[:-1]):
                for t in range(min(len(a), len(b) - 1)):
                    total += 1
                    same += abs(a[t] - b[t + 1]) <= tol
        shifted.append(same / total if total else float("nan"))
        t = json.load(open(f"{d}/trl.json"))
        peer += t["per_step"][1:]
        peer_info = t
        if "prompt_ids_check" in t:
            prompt_check.append(t["prompt_ids_check"])
        walls["java"].append(json.load(open(f"{d}/java-wall.json"))["wall_s"])
        walls["trl"].append(json.load(open(f"{d}/trl-wall.json"))["wall_s"])
    keys = ("step_s", "gen_s", "train_s", "gen_tokens_per_s", "train_tokens_per_s", "completion_len_mean",
            "prompt_len_mean")
    a = {k: med([r[k] for r in ours]) for k in keys}
    b = {k: med([r[k] for r in peer]) for k in keys}
    a["run_wall_s"], b["run_wall_s"] = med(walls["java"]), med(walls["trl"])
    ratio = b["step_s"] / a["step_s"]
    desc = {"tiny": "tiny (hidden 64, 2 layers, vocab 512, F32), full fine-tuning, 2 prompts x 8, 64 new tokens",
            "0.6b": f"qwen3-0.6b (BF16 file), LoRA r=8 alpha 16 all-linear, 1 prompt x 8, 32 new tokens; "
                    f"TRL base in {peer_info['dtype']}, adapters {peer_info['trainable_dtype']}"}[name]
    print(f"\n{desc}; timed steps: reflectrm-j {len(ours)}, TRL {len(peer)}")
    print(f"{'':<22}{'reflectrm-j':>13}{'TRL':>13}{'TRL/ours':>10}")
    labels = [("step s (median)", "step_s"), ("gen s", "gen_s"), ("train s", "train_s"),
              ("gen tokens/s", "gen_tokens_per_s"), ("train tokens/s", "train_tokens_per_s"),
              ("completion len", "completion_len_mean"), ("prompt len", "prompt_len_mean"),
              ("run wall s (all)", "run_wall_s")]
    for label, k in labels:
        print(f"{label:<22}{a[k]:>13.3f}{b[k]:>13.3f}{b[k] / a[k]:>10.2f}")
    print(f"whole-step ratio TRL/reflectrm-j: {ratio:.2f}x")
    pc = [f"{c['equal']}/{c['prompts_checked']}" for c in prompt_check]
    print(f"TRL prompt ids equal reflectrm-j's: {', '.join(pc) or 'not checked'}")
    print("reflectrm-j rollout tokens within vocab/500 ids of their group neighbour's next token (shifted-stream "
          "check; chance ~0.5%): "
          + ", ".join(f"{100 * s:.0f}%" for s in shifted))
    for o in odd:
        print("NON-FINITE:", o)
    summary["configs"][name] = {"reflectrm_j": a, "trl": b, "trl_over_reflectrm_j_step": ratio,
                                "prompt_ids_check": prompt_check, "java_shifted_copy_fraction": shifted,
                                "non_finite": odd, "timed_steps": {"reflectrm_j": len(ours), "trl": len(peer)}}
json.dump(summary, open(f"{work}/summary.json", "w"), indent=1)
print(f"\nraw numbers: {work}")
PY
