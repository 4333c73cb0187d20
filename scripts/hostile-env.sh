#!/usr/bin/env bash
# Faults of the environment, each checked for a clear message, a meaningful exit status and an
# output that stays valid:
#   - a full disk under judge --input, data sample, eval and train sft (a 16 KB tmpfs);
#   - a read-only output folder;
#   - a model folder deleted while a judge run uses it;
#   - a truncated safetensors file.
# Needs root (it mounts tmpfs file systems). Exit status 0 when every check passes.
#
#   scripts/hostile-env.sh [--work DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work=""
[ "${1:-}" = "--work" ] && work="$2"
[ -n "$work" ] || work="$(mktemp -d)"
mkdir -p "$work"
if [ "$(id -u)" -ne 0 ]; then
    echo "hostile-env: needs root to mount the small file systems it fills" >&2
    exit 2
fi
export REFLECTRM_CACHE="$work/cache"
rj="$here/reflectrm-j"
failed=0
pass() { printf 'pass  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failed=1; }

"$rj" demo data --out "$work/data" --seed 3 --train-pairs 64 --rl-pairs 24 --held-out-pairs 24 2>/dev/null
"$rj" judge --prompt "What is 1+1?" --a 2 --b 3 --mode greedy >/dev/null 2>&1 # unpacks the demo model
model="$(ls -d "$REFLECTRM_CACHE"/demo-* | head -1)"
pairs="$work/data/pairs-heldout.jsonl"

mounted=()
cleanup() { for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
small_fs() { # DIR SIZE [ro]
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1"
    mounted+=("$1")
}

# Runs a command that must fail; checks its status, its message and that OUTPUT holds whole records.
expect_full_disk() { # NAME OUTPUT_JSONL COMMAND...
    local name="$1" output="$2"
    shift 2
    local status=0
    "$rj" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
    if [ "$status" -ne 1 ]; then
        fail "$name on a full disk: exit status $status, expected 1"; return
    fi
    if ! grep -q "cannot write to $output: No space left on device" "$work/$name.err"; then
        fail "$name on a full disk: the message does not name $output: $(tail -1 "$work/$name.err")"; return
    fi
    if ! python3 "$here/scripts/records.py" "$output" >/dev/null; then
        fail "$name on a full disk: $output is not whole records"; return
    fi
    pass "$name on a full disk: exit 1, '$(tail -1 "$work/$name.err" | cut -c1-90)...', $(wc -l <"$output") whole records kept"
}

small_fs "$work/full1" 12k
expect_full_disk "judge --input" "$work/full1/out.jsonl" judge --model "$model" --input "$pairs" \
    --output "$work/full1/out.jsonl" --mode reflect --threads 1
small_fs "$work/full2" 12k
expect_full_disk "data sample" "$work/full2/samples.jsonl" data sample --model "$model" --input "$pairs" \
    --output "$work/full2/samples.jsonl" --n 8 --threads 1
small_fs "$work/full3" 24k
expect_full_disk "eval" "$work/full3/ev/judgments.jsonl" eval --model "$model" --benchmark pairs --data "$pairs" \
    --out "$work/full3/ev" --mode reflect --threads 1
# Training fills the disk with its first checkpoint: the folder must keep no torn checkpoint.
small_fs "$work/full4" 64k
status=0
"$rj" train sft --model "$model" --data "$work/data/sft.jsonl" --out "$work/full4/sft" --steps 4 --batch 2 \
    --save-every 2 --threads 1 >"$work/sft.out" 2>"$work/sft.err" || status=$?
if [ "$status" -eq 1 ] && grep -q "cannot write $work/full4/sft/.*: No space left on device" "$work/sft.err" && [ ! -f "$work/full4/sft/model.safetensors" ]; then
    pass "train sft on a full disk: exit 1, '$(tail -1 "$work/sft.err" | cut -c1-90)...', no partial model.safetensors"
else
    fail "train sft on a full disk: exit $status, $(tail -1 "$work/sft.err"), files: $(ls "$work/full4/sft" 2>&1 | tr '\n' ' ')"
fi

small_fs "$work/ro" 1m ro
for cmd in "judge --model $model --input $pairs --output $work/ro/out.jsonl --mode greedy" \
        "eval --model $model --benchmark pairs --data $pairs --out $work/ro/ev --mode greedy" \
        "train sft --model $model --data $work/data/sft.jsonl --out $work/ro/sft --steps 2 --batch 2"; do
    status=0
    "$rj" $cmd >/dev/null 2>"$work/ro.err" || status=$?
    if [ "$status" -eq 1 ] && grep -q "^reflectrm-j: failed: $work/ro/.*: Read-only file system" "$work/ro.err"; then
        pass "${cmd%% --*} into a read-only folder: exit 1, '$(head -1 "$work/ro.err" | cut -c1-90)'"
    else
        fail "${cmd%% --*} into a read-only folder: exit $status, $(head -1 "$work/ro.err")"
    fi
done

# The weights are mapped when the run starts; deleting the folder leaves the run whole.
cp -r "$model" "$work/doomed"
"$rj" judge --model "$work/doomed" --input "$pairs" --output "$work/doomed.jsonl" --mode reflect --threads 1 \
    >/dev/null 2>"$work/doomed.err" &
pid=$!
sleep 4
rm -rf "$work/doomed"
status=0
wait "$pid" || status=$?
if [ "$status" -eq 0 ] && [ "$(python3 "$here/scripts/records.py" "$work/doomed.jsonl" | wc -l)" -eq "$(wc -l <"$pairs")" ]; then
    pass "model folder deleted mid-run: the run finished, every pair judged"
else
    fail "model folder deleted mid-run: exit $status, $(tail -1 "$work/doomed.err")"
fi

cp -r "$model" "$work/truncated"
truncate -s 100000 "$work/truncated/model.safetensors"
status=0
"$rj" judge --model "$work/truncated" --prompt "What is 1+1?" --a 2 --b 3 >/dev/null 2>"$work/trunc.err" || status=$?
if [ "$status" -eq 2 ] && grep -q "model.safetensors: file is truncated" "$work/trunc.err"; then
    pass "truncated model.safetensors: exit 2, '$(tail -1 "$work/trunc.err" | cut -c1-90)...'"
else
    fail "truncated model.safetensors: exit $status, $(tail -1 "$work/trunc.err")"
fi
exit "$failed"
