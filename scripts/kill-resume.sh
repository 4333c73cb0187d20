#!/usr/bin/env bash
# Fault injection: kill -9 each long command at seeded random moments, rerun it, and check that
# the result equals an uninterrupted run's.
#
#   scripts/kill-resume.sh [--kills N] [--seed S] [--work DIR] [--only CMD[,CMD...]]
#
# Commands: judge (judge --input), sample (data sample), eval, sft (train sft), grpo (train grpo),
# each on the bundled demo model with a workload of a few seconds. For each command it makes one
# uninterrupted reference run, then N trials (default 20): start the command, kill -9 it after a
# seeded delay in (0.2 s, 95% of the reference's time), rerun the same command line until it ends
# (training reruns add --resume once a checkpoint exists, as a user would), and compare:
#   - JSONL outputs: every line parses, no id (and order) twice, and the records equal the
#     reference's, timing fields aside;
#   - training: model.safetensors byte-identical to the reference, and metrics.jsonl's losses,
#     learning rates and gradient norms equal at every step.
# A killed run's lock file must not block the rerun. Exit status 0 when every trial passes, 1
# otherwise; the failing trial's folders are kept under --work.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kills=20
seed=1
work=""
only="judge,sample,eval,sft,grpo"
while [ $# -gt 0 ]; do
    case "$1" in
        --kills) kills="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "kill-resume: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$work" ] || work="$(mktemp -d)"
mkdir -p "$work"
export REFLECTRM_CACHE="$work/cache"
rj="$here/reflectrm-j"
# One thread: training is bit-reproducible for a fixed thread count, and two runs side by side
# (a killed JVM still exiting, its rerun starting) should not fight over the cores.
threads=(--threads 1)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- shared inputs: toy pairs, the teacher's SFT data, Pref/Refl records for GRPO ----
"$rj" demo data --out "$work/data" --seed 3 --train-pairs 64 --rl-pairs 24 --held-out-pairs 24 2>/dev/null
"$rj" judge --prompt "What is 1+1?" --a 2 --b 3 --mode greedy >/dev/null 2>&1 # unpacks the demo model
model="$(ls -d "$REFLECTRM_CACHE"/demo-* | head -1)"
if [ ! -f "$work/grpo-data.jsonl" ]; then
    "$rj" data sample --model "$model" --input "$work/data/pairs-rl.jsonl" --output "$work/grpo-samples.jsonl" \
        --n 4 --max-new-tokens 64 --seed 1 "${threads[@]}" 2>/dev/null
    "$rj" data build --samples "$work/grpo-samples.jsonl" --out "$work/grpo-data.jsonl" --seed 1 2>/dev/null
fi

# The command line of CMD writing to OUT (a file or a folder).
command_line() {
    local cmd="$1" out="$2"
    case "$cmd" in
        judge) echo judge --model "$model" --input "$work/data/pairs-heldout.jsonl" --output "$out" --mode reflect \
            --batch-pairs 4 --seed 1 "${threads[@]}" ;;
        sample) echo data sample --model "$model" --input "$work/data/pairs-rl.jsonl" --output "$out" --n 8 \
            --max-new-tokens 96 --batch-pairs 4 --seed 1 "${threads[@]}" ;;
        eval) echo eval --model "$model" --benchmark pairs --data "$work/data/pairs-heldout.jsonl" --out "$out" \
            --mode vote --batch-pairs 4 --max-new-tokens 96 --seed 1 "${threads[@]}" ;;
        sft) echo train sft --model "$model" --data "$work/data/sft.jsonl" --out "$out" --batch 8 --steps 24 \
            --lr 1e-4 --save-every 3 --seed 1 "${threads[@]}" ;;
        grpo) echo train grpo --model "$model" --data "$work/grpo-data.jsonl" --out "$out" --steps 8 --group 4 \
            --prompts-per-step 2 --max-new-tokens 64 --save-every 1 --seed 1 "${threads[@]}" ;;
    esac
}

# Runs CMD to completion into OUT, resuming as a user would.
run_to_end() {
    local cmd="$1" out="$2" args
    args=($(command_line "$cmd" "$out"))
    if [ "$cmd" = sft ] || [ "$cmd" = grpo ]; then
        [ -f "$out/trainer_state/state.json" ] && args+=(--resume)
    fi
    "$rj" "${args[@]}" >"$out.stdout" 2>"$out.stderr"
}

# What is compared: JSONL records without their timings, sorted; or the model's bytes and the metrics.
fingerprint() {
    local cmd="$1" out="$2"
    case "$cmd" in
        judge|sample) python3 "$here/scripts/records.py" "$out" ;;
        eval) python3 "$here/scripts/records.py" "$out/judgments.jsonl" ;;
        sft|grpo) sha256sum <"$out/model.safetensors" | cut -d' ' -f1
            python3 "$here/scripts/records.py" --metrics "$out/metrics.jsonl" ;;
    esac
}

# Seeded delays, in seconds, for N trials of a command whose reference run took T seconds.
delays() {
    python3 -c "
import random, sys
r = random.Random('$seed/$1')
print(' '.join('%.2f' % r.uniform(0.2, 0.95 * $2) for _ in range($3)))"
}

failed=0
IFS=',' read -ra commands <<<"$only"
for cmd in "${commands[@]}"; do
    ref="$work/$cmd-reference"
    rm -rf "$ref" "$ref".*
    start=$(date +%s.%N)
    run_to_end "$cmd" "$ref"
    took=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
    fingerprint "$cmd" "$ref" >"$ref.fingerprint"
    log "$cmd: reference run took ${took}s; $kills kill trials"
    passed=0
    trial=0
    for delay in $(delays "$cmd" "$took" "$kills"); do
        trial=$((trial + 1))
        out="$work/$cmd-trial"
        rm -rf "$out" "$out".*
        args=($(command_line "$cmd" "$out"))
        "$rj" "${args[@]}" >"$out.killed.stdout" 2>"$out.killed.stderr" &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        if ! run_to_end "$cmd" "$out"; then
            log "$cmd trial $trial (kill at ${delay}s): the rerun failed:"
            tail -5 "$out.stderr" >&2
            failed=1
            mv "$out" "$work/$cmd-failed-$trial" 2>/dev/null || true
            continue
        fi
        if ! fingerprint "$cmd" "$out" | cmp -s - "$ref.fingerprint"; then
            log "$cmd trial $trial (kill at ${delay}s): the result differs from the uninterrupted run:"
            diff <(fingerprint "$cmd" "$out" 2>&1) "$ref.fingerprint" | head -8 >&2 || true
            failed=1
            mv "$out" "$work/$cmd-failed-$trial" 2>/dev/null || true
            continue
        fi
        passed=$((passed + 1))
    done
    log "$cmd: $passed of $kills kill trials give the uninterrupted run's result"
done
exit "$failed"
