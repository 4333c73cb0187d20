#!/usr/bin/env bash
# The GPU device check, run from the repo root on a machine with an NVIDIA GPU, its driver,
# Python with torch + transformers, and no Java, after prepare.sh made bundle.tar.gz:
#   bash bench/device-check/run.sh [OUT_DIR]
# It runs (1) the CUDA parity tests (kernels, the fused forward, and the one model definition's
# gradients and generation on the GPU), (2) the OpenCL ones when an NVIDIA OpenCL ICD is present,
# (3) reflectrm-j bench --device cuda on random qwen3-0.6b and qwen3-4b BF16 checkpoints made here
# with reflectrm-j init, and (4) transformers on torch CUDA (eager attention) on the same
# checkpoints, decode with every kernel launched one by one (no recorded steps), a kernel-by-kernel
# GPU profile of decode (REFLECTRM_CUDA_PROFILE), bench on OpenCL when an OpenCL GPU is listed,
# and bench-judge and judge (ReflectRM reflect) on the 0.6b one. Results and logs go to OUT_DIR
# (default $OUT, else ./device-check-out); at most 8 files, as the device tool returns. Each step
# has a time limit so the whole check stays under 8 minutes (add about 2 for the training steps,
# bench-train --device cuda against PyTorch + peft; TRAIN=0 skips them). For a shorter check: SKIP_OPENCL_TESTS=1
# skips (2), NOGRAPHS=0 the decode without recorded steps, PROFILE=0 the profiles, PEER_PRESETS
# names the presets that get a peer run, JUDGE_PAIRS=0 skips the 8-pair judge runs.
#
# STEPS picks sections (default all): parity, bench, throughput, train, profile, opencl, judge.
# All of them take more than one device call's 10 minutes; run them as two calls, for example
#   STEPS="parity bench throughput" bash run.sh out1    and    STEPS="train profile judge" bash run.sh out2
# "throughput" is GPU throughput for judging at scale: 512-token prefill on the tensor-core GEMM
# against the F32 SIMT GEMM (-Dreflectrm.cuda.tensorCores=false) and against transformers with
# sdpa and eager attention; decode at batch 1, 8 and 64 with peak device memory; a kernel profile
# of the prefill; and judge --input on 64 pairs with --batch-pairs 16 against 1.
#
# For a plumbing check on a machine without an NVIDIA GPU (with PoCL and torch on the CPU):
#   DEVICE=opencl PEER_DEVICE=cpu PRESETS=tiny JUDGE_PRESET=tiny JUDGE_TIMEOUT=600 \
#       bash bench/device-check/run.sh /tmp/dc-out
# (PoCL is slow: the judging steps need the longer JUDGE_TIMEOUT there.)
set -uo pipefail
device="${DEVICE:-cuda}"
peer_device="${PEER_DEVICE:-cuda}"
presets="${PRESETS:-qwen3-4b qwen3-0.6b}"
cd "$(dirname "$0")/../.."
out="${1:-${OUT:-device-check-out}}"
mkdir -p "$out"
work=$(mktemp -d)
tar xzf bench/device-check/bundle.tar.gz -C "$work"
# java through the JVM's signal-chaining library, which keeps the JVM's signal handlers first when
# an OpenCL driver (PoCL) installs its own (see the reflectrm-j launcher); Python is left alone.
java="$work/java"
printf '#!/bin/sh\nLD_PRELOAD="%s${LD_PRELOAD:+:$LD_PRELOAD}" exec "%s" "$@"\n' \
    "$work/jre/lib/libjsig.so" "$work/jre/bin/java" > "$java"
chmod +x "$java"
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m)
app="$work/reflectrm-j.jar"
status=0

step() { echo "== $*" | tee -a "$out/summary.txt"; }
has() { [ "${STEPS:-all}" = all ] || [[ " ${STEPS} " == *" $1 "* ]]; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$out/summary.txt"
"$java" -version 2>&1 | head -1 | tee -a "$out/summary.txt"
"$java" "${flags[@]}" -jar "$app" devices 2>/dev/null | tee -a "$out/summary.txt"
if [ "$peer_device" = cuda ]; then
    # The peer's view of the memory bandwidth, for the bandwidth-limit target.
    timeout 60 python3 -c "
import torch, time
a = torch.empty(1 << 28, dtype=torch.float32, device='cuda'); b = torch.empty_like(a)
b.copy_(a); torch.cuda.synchronize(); best = 0
for _ in range(5):
    t = time.perf_counter(); b.copy_(a); torch.cuda.synchronize(); best = max(best, 2 * a.numel() * 4 / (time.perf_counter() - t))
print('torch %s, %s: device-to-device copy %.0f GB/s (read + write)' % (torch.__version__, torch.cuda.get_device_name(), best / 1e9))
" 2>&1 | tail -1 | tee -a "$out/summary.txt"
fi

tests() {  # tests NAME CLASS...: runs JUnit classes, failing (not skipping) when the device is absent
    local name=$1; shift
    local select=()
    for c in "$@"; do select+=(--select-class "$c"); done
    REFLECTRM_REQUIRE_CUDA=1 REFLECTRM_REQUIRE_OPENCL=1 timeout 150 "$java" "${flags[@]}" -Xmx8g \
        -jar "$work/junit-platform-console-standalone.jar" execute \
        --class-path "$app:$work/kernels-tests:$work/model-tests" "${select[@]}" \
        --details=tree --disable-banner > "$out/$name.log" 2>&1
    local rc=$?
    tail -15 "$out/$name.log" | grep -E 'tests (successful|failed|skipped|aborted)' | tee -a "$out/summary.txt"
    grep -m 20 -E '✘|Exception:' "$out/$name.log" | cut -c1-300 | tee -a "$out/summary.txt"
    [ $rc -eq 0 ] || { step "$name FAILED (exit $rc), see $name.log"; status=1; }
}

if [ "$device" = cuda ] && has parity; then
    step "CUDA parity"
    tests cuda-tests org.reflectrm.kernels.device.CudaDeviceTest org.reflectrm.model.device.CudaForwardTest \
        org.reflectrm.model.train.CudaTrainingTest org.reflectrm.model.generate.CudaGenerationTest
fi


throughput() {  # throughput PRESET MODEL: the GPU-throughput measurements (issue: judging at scale)
    local preset=$1 model=$2
    step "throughput $preset: 512-token prefill, tensor cores against the F32 SIMT GEMM"
    for tc in true false; do
        timeout 90 "$java" "${flags[@]}" -Xmx4g -Dreflectrm.cuda.tensorCores=$tc -jar "$app" bench --model "$model" \
            --device "$device" --prompt-len 512 --decode-tokens 1 --batch 1 --repeats 5 --json \
            > "$work/prefill-$tc.json" 2>> "$out/bench.log" || { step "prefill (tensor cores $tc) failed"; status=1; }
        grep -oE '"prefill_tokens_per_s": *[0-9.]+' "$work/prefill-$tc.json" | sed "s/^/tensor cores $tc: /" | tee -a "$out/summary.txt"
    done
    for attn in sdpa eager; do
        timeout 120 python3 "$work/peer_transformers.py" --model "$model" --device "$peer_device" --attn $attn \
            --prompt-len 512 --decode-tokens 1 --batch 1 --repeats 5 > "$work/peer-prefill-$attn.json" 2>> "$out/peer.log" \
            || { step "peer prefill ($attn) failed"; status=1; }
        grep -oE '"prefill_tokens_per_s": *[0-9.]+' "$work/peer-prefill-$attn.json" | sed "s/^/transformers $attn: /" | tee -a "$out/summary.txt"
    done
    step "throughput $preset: decode at batch 1, 8 and 64 (tokens/s, peak device memory)"
    timeout 150 "$java" "${flags[@]}" -Xmx8g -jar "$app" bench --model "$model" --device "$device" --prompt-len 16 \
        --decode-prompt-len 64 --decode-tokens 64 --batch 1,8,64 --repeats 2 --json \
        > "$work/batches.json" 2>> "$out/bench.log" || { step "batched decode $preset failed"; status=1; }
    grep -oE '"(decode_tokens_per_s|device_peak_bytes)": *\{[^}]*\}|"(decode_batch1_fraction_of_limit|read_bandwidth_gb_per_s)": *[0-9.]+' \
        "$work/batches.json" | tee -a "$out/summary.txt"
    timeout 120 python3 "$work/peer_transformers.py" --model "$model" --device "$peer_device" --attn sdpa --prompt-len 16 \
        --decode-prompt-len 64 --decode-tokens 64 --batch 1,8,64 --repeats 2 > "$work/peer-batches.json" 2>> "$out/peer.log" \
        || { step "peer batched decode failed"; status=1; }
    grep -oE '"decode_tokens_per_s": *\{[^}]*\}' "$work/peer-batches.json" | sed 's/^/transformers sdpa: /' | tee -a "$out/summary.txt"
    if [ "$device" = cuda ] && [ "${PROFILE:-1}" = 1 ]; then
        step "throughput $preset: kernel profile of a 512-token prefill (REFLECTRM_CUDA_PROFILE)"
        REFLECTRM_CUDA_PROFILE=1 timeout 90 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench --model "$model" \
            --device "$device" --prompt-len 512 --decode-tokens 1 --batch 1 --repeats 1 --json \
            > /dev/null 2> "$work/profile-prefill.txt" || { step "prefill profile failed"; status=1; }
        { echo "== $preset, 512-token prefill"; cat "$work/profile-prefill.txt"; } >> "$out/profile.log"
        grep -A8 ' kernel ' "$work/profile-prefill.txt" | tail -8 | grep -v '^  host ' | head -5 | tee -a "$out/summary.txt"
    fi
    if [ "$preset" = "${JUDGE_PRESET:-qwen3-0.6b}" ]; then
        step "throughput $preset: judge 64 pairs (reflect, 32-token analyses), --batch-pairs 1 against 16"
        python3 - "$work/pairs64.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(64):
        f.write(json.dumps({"id": f"p{i}", "prompt": f"Question {i}: which answer is right?",
                            "response_a": f"Answer {i}.", "response_b": f"Answer {i + 1}."}) + "\n")
PY
        for k in 1 16; do
            rm -f "$work/judged-$k.jsonl"
            timeout "${JUDGE_TIMEOUT:-200}" "$java" "${flags[@]}" -Xmx8g -jar "$app" judge --model "$model" --device "$device" \
                --input "$work/pairs64.jsonl" --output "$work/judged-$k.jsonl" --max-new-tokens 32 --batch-pairs $k \
                2>&1 | tee -a "$out/judge.log" | grep 'judged' | sed "s/^/batch-pairs $k: /" | tee -a "$out/summary.txt"
        done
        # The issue asks for identical records; batching changes which kernels decode (GEMV for
        # up to 8 rows, GEMM above), so count the verdicts that agree rather than assume it.
        python3 - "$work/judged-1.jsonl" "$work/judged-16.jsonl" <<'PY' 2>&1 | tee -a "$out/summary.txt"
import json, sys
def load(p):
    return {r["id"]: (r["verdict"], [x.get("analysis") for x in r.get("rollouts", [])])
            for r in map(json.loads, open(p))}
a, b = load(sys.argv[1]), load(sys.argv[2])
print(f"batch-pairs 1 vs 16: verdicts equal for {sum(a[k][0] == b.get(k, (None,))[0] for k in a)} of {len(a)} pairs, "
      f"every analysis equal for {sum(a[k] == b.get(k) for k in a)}")
PY
    fi
}

for preset in $presets; do
    model="$work/$preset"
    step "bench $preset"
    timeout 90 "$java" "${flags[@]}" -jar "$app" init --preset "$preset" --dtype bf16 --out "$model" \
        > /dev/null 2>> "$out/bench.log" || { step "init $preset failed"; status=1; continue; }
    if has bench; then
        timeout 120 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench --model "$model" --device "$device" \
            --prompt-len 512 --decode-tokens 64 --batch 1,8 --repeats 3 --json \
            > "$work/bench-$preset.json" 2>> "$out/bench.log" || { step "bench $preset failed"; tail -4 "$out/bench.log" | tee -a "$out/summary.txt"; status=1; }
        cat "$work/bench-$preset.json" | tee -a "$out/summary.txt"
    fi
    if has throughput; then
        throughput "$preset" "$model"
    fi
    if [ "$device" = cuda ] && [ "${NOGRAPHS:-1}" = 1 ] && has bench; then
        step "bench $preset decode, every kernel launched one by one (REFLECTRM_DEVICE_GRAPHS=0)"
        REFLECTRM_DEVICE_GRAPHS=0 timeout 90 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench --model "$model" \
            --device cuda --prompt-len 16 --decode-tokens 64 --batch 1,8 --repeats 3 --json \
            > "$work/bench-nographs.json" 2>> "$out/bench.log" || { step "bench $preset without graphs failed"; status=1; }
        grep -o '"decode_tokens_per_s":{[^}]*}' "$work/bench-nographs.json" | tee -a "$out/summary.txt"
    fi
    if [[ " ${PEER_PRESETS:-$presets} " == *" $preset "* ]] && has bench; then
        timeout 120 python3 "$work/peer_transformers.py" --model "$model" --device "$peer_device" --attn eager \
            --prompt-len 512 --decode-tokens 64 --batch 1,8 --repeats 3 \
            > "$work/peer-$preset.json" 2>> "$out/peer.log" || { step "peer $preset failed"; tail -4 "$out/peer.log" | tee -a "$out/summary.txt"; status=1; }
        cat "$work/peer-$preset.json" | tee -a "$out/summary.txt"
    fi
    if [ "$device" = cuda ] && [ "${TRAIN:-1}" = 1 ] && has train; then
        # Training steps on the GPU (forward, backward, clipping-free AdamW update), ours then PyTorch
        # eager + peft on the same checkpoint and batch: tokens/s and peak device memory.
        modes="lora"
        [ "$preset" = qwen3-0.6b ] && modes="lora full"
        for m in $modes; do
            step "bench-train $preset $m on the GPU, 1 x 256 tokens"
            lora_flag=(); [ "$m" = lora ] && lora_flag=(--lora-rank 16)
            timeout 150 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench-train --model "$model" --device cuda \
                "${lora_flag[@]}" --batch 1 --seq-len 256 --steps 5 --warmup 2 --json \
                > "$work/train-$preset-$m.json" 2>> "$out/train.log" || { step "bench-train $preset $m failed"; tail -4 "$out/train.log" | tee -a "$out/summary.txt"; status=1; }
            cat "$work/train-$preset-$m.json" | tee -a "$out/summary.txt"
            timeout 150 python3 "$work/peer_train_gpu.py" --model "$model" --mode "$m" --batch 1 --seq-len 256 \
                > "$work/peer-train-$preset-$m.json" 2>> "$out/peer.log" || { step "peer training $preset $m failed"; tail -4 "$out/peer.log" | tee -a "$out/summary.txt"; status=1; }
            cat "$work/peer-train-$preset-$m.json" | tee -a "$out/summary.txt"
        done
    fi
    if [ "$device" = cuda ] && [ "${PROFILE:-1}" = 1 ] && has profile; then
        for b in 1 8; do
            # Kernel by kernel GPU time (CUDA events) of a short decode-heavy run; the whole table
            # goes to profile.log, its head to the summary.
            step "profile $preset, decode at batch $b (REFLECTRM_CUDA_PROFILE)"
            REFLECTRM_CUDA_PROFILE=1 timeout 90 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench --model "$model" \
                --device cuda --prompt-len 16 --decode-tokens 32 --batch $b --repeats 1 --json \
                > /dev/null 2> "$work/profile.txt" || { step "profile $preset failed"; status=1; }
            { echo "== $preset, batch $b"; cat "$work/profile.txt"; } >> "$out/profile.log"
            grep -E 'decode batch|GPU busy|host cuLaunch|host download' "$work/profile.txt" | tee -a "$out/summary.txt"
            grep -A8 ' kernel ' "$work/profile.txt" | tail -8 | grep -v '^  host ' | head -5 | tee -a "$out/summary.txt"
        done
    fi
    if [ "$preset" = "${OPENCL_BENCH_PRESET:-qwen3-0.6b}" ] && has opencl && grep -q ' / GPU / ' <("$java" "${flags[@]}" -jar "$app" devices 2>/dev/null); then
        step "bench $preset on OpenCL"
        timeout 120 "$java" "${flags[@]}" -Xmx4g -jar "$app" bench --model "$model" --device opencl \
            --prompt-len 512 --decode-tokens 64 --batch 1,8 --repeats 3 --json \
            > "$work/bench-opencl.json" 2>> "$out/bench.log" || { step "bench $preset on OpenCL failed"; tail -4 "$out/bench.log" | tee -a "$out/summary.txt"; status=1; }
        cat "$work/bench-opencl.json" | tee -a "$out/summary.txt"
    fi
    if [ "$preset" = "${JUDGE_PRESET:-qwen3-0.6b}" ] && has judge; then
        step "bench-judge $preset (reflect N=8 against greedy, 128-token analyses)"
        timeout "${JUDGE_TIMEOUT:-150}" "$java" "${flags[@]}" -Xmx4g -jar "$app" bench-judge --model "$model" --device "$device" --json \
            > "$work/bench-judge-$preset.json" 2>> "$out/bench.log" || { step "bench-judge $preset failed"; tail -4 "$out/bench.log" | tee -a "$out/summary.txt"; status=1; }
        cat "$work/bench-judge-$preset.json" | tee -a "$out/summary.txt"
        [ "${JUDGE_PAIRS:-1}" = 1 ] || { rm -rf "$model"; continue; }
        step "judge 8 pairs (reflect, 128-token analyses), one pair at a time against --batch-pairs 8"
        python3 - "$work/pairs.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(8):
        f.write(json.dumps({"id": f"p{i}", "prompt": f"Question {i}: explain the answer.",
                            "response_a": "A correct answer.", "response_b": "A wrong answer."}) + "\n")
PY
        for k in 1 8; do
            rm -f "$work/verdicts-$k.jsonl"
            timeout "${JUDGE_TIMEOUT:-150}" "$java" "${flags[@]}" -Xmx4g -jar "$app" judge --model "$model" --device "$device" \
                --input "$work/pairs.jsonl" --output "$work/verdicts-$k.jsonl" --max-new-tokens 128 --batch-pairs $k \
                2>&1 | tee -a "$out/judge.log" | grep 'judged' | sed "s/^/batch-pairs $k: /" | tee -a "$out/summary.txt"
            [ -s "$work/verdicts-$k.jsonl" ] || { step "judge --batch-pairs $k wrote nothing"; tail -4 "$out/judge.log" | tee -a "$out/summary.txt"; status=1; }
        done
    fi
    rm -rf "$model"
done
if ! has opencl; then
    :
elif [ -n "${SKIP_OPENCL_TESTS:-}" ]; then
    step "OpenCL parity: skipped (SKIP_OPENCL_TESTS)"
elif ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    step "OpenCL parity ($(cat /etc/OpenCL/vendors/*.icd | tr '\n' ' '))"
    tests opencl-tests org.reflectrm.kernels.device.OpenClDeviceTest org.reflectrm.model.device.OpenClForwardTest
else
    step "OpenCL: no ICD under /etc/OpenCL/vendors, skipped"
fi
rm -rf "$work"
step "done, status $status"
exit $status
