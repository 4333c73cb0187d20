#!/usr/bin/env bash
# Throughput of the Spark judging job against the partition count, in local mode on this machine:
# the same pairs judged with 1, 2, 4, 8 and 16 partitions (a fresh output folder each). For each run:
# the job's own judging time (its "judged N pairs in S s" line: the Spark job, from the first task
# to the last commit, model load included), pairs/s, and the wall time with the JVM and Spark's
# start; then the cost of one more partition (the slope of a least-squares line through the job
# times: what a task's scheduling, its part file and its commit add).
#
#   spark/bench-partitions.sh --model DIR [--pairs N] [--mode M] [--threads T] [--out DIR] [-- job options]
#
# Pairs come from the toy world's held-out split (reflectrm-j demo data), so the bundled demo judge
# (--model ~/.cache/reflectrm-j/demo-*) judges them in its own domain. Results: a table on stdout
# and bench.json in --out (default a temporary folder).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
model="" pairs=64 mode=greedy threads=2 out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --pairs) pairs="$2"; shift 2 ;;
        --mode) mode="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --) shift; break ;;
        *) echo "bench-partitions.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$model" ] || { echo "bench-partitions.sh: --model DIR is required" >&2; exit 2; }
out="${out:-$(mktemp -d)}"
mkdir -p "$out"

"$root/reflectrm-j" demo data --out "$out/data" --held-out-pairs "$pairs" --train-pairs 10 --rl-pairs 10 >/dev/null 2>&1
input="$out/data/pairs-heldout.jsonl"
echo "$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $pairs pairs, --mode $mode, --threads $threads" | tee "$out/machine.txt"

# An untimed run first: it builds the job jar if needed and warms the disk cache.
"$here/run-local.sh" --model "$model" --input "$input" --output "$out/warm-up" --partitions 1 \
    --mode "$mode" --threads "$threads" "$@" > "$out/warm-up.log" 2>&1
python3 -c "print('%-11s %9s %8s %9s' % ('partitions', 'job s', 'pairs/s', 'wall s'))"
rows=()
for p in 1 2 4 8 16; do
    rm -rf "$out/run-$p"
    start=$(date +%s.%N)
    "$here/run-local.sh" --model "$model" --input "$input" --output "$out/run-$p" --partitions "$p" \
        --mode "$mode" --threads "$threads" "$@" > "$out/run-$p.log" 2>&1
    end=$(date +%s.%N)
    wall=$(python3 -c "print($end - $start)")
    secs=$(sed -n 's/^judged [0-9]* pairs in \([0-9.]*\) s.*/\1/p' "$out/run-$p.log")
    [ -n "$secs" ] || { echo "bench-partitions.sh: run $p printed no timing (see $out/run-$p.log)" >&2; exit 1; }
    python3 -c "print('%-11d %9.1f %8.2f %9.1f' % ($p, $secs, $pairs / $secs, $wall))"
    rows+=("$p $secs")
done
printf '%s\n' "${rows[@]}" | python3 -c '
import json, sys
pts = [tuple(map(float, line.split())) for line in sys.stdin if line.strip()]
n = len(pts); mx = sum(p for p, _ in pts) / n; my = sum(t for _, t in pts) / n
slope = sum((p - mx) * (t - my) for p, t in pts) / sum((p - mx) ** 2 for p, _ in pts)
print("one more partition costs %.2f s of job time (least squares over %d runs; intercept %.1f s)"
      % (slope, n, my - slope * mx))
json.dump({"runs": [{"partitions": int(p), "seconds": t} for p, t in pts], "seconds_per_partition": slope},
          open(sys.argv[1], "w"), indent=1)
' "$out/bench.json"
echo "results in $out"
