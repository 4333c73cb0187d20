#!/usr/bin/env bash
# Soak: judges many toy pairs in one judge --input run on the bundled demo model, sampling the
# JVM's resident memory (RSS) and the records written every second, then plots both.
#
#   scripts/soak.sh [--pairs N] [--mode M] [--threads T] [--work DIR] [--plots DIR]
#
# Defaults: 20,000 pairs, greedy, 2 threads, plots into docs/img (soak-rss.svg, soak-throughput.svg).
# A leak shows as RSS that keeps growing after warm-up; a slowdown as falling pairs/s.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pairs=20000 mode=greedy threads=2 work="" plots="$here/docs/img"
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) pairs="$2"; shift 2 ;;
        --mode) mode="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --work) work="$2"; shift 2 ;;
        --plots) plots="$2"; shift 2 ;;
        *) echo "soak: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$work" ] || work="$(mktemp -d)"
mkdir -p "$work"
rj="$here/reflectrm-j"
"$rj" demo data --out "$work/data" --seed 7 --train-pairs "$pairs" --rl-pairs 0 --held-out-pairs 1 2>/dev/null
rm -f "$work/judged.jsonl"
"$rj" judge --input "$work/data/pairs-train.jsonl" --output "$work/judged.jsonl" --mode "$mode" \
    --threads "$threads" 2>"$work/judge.err" &
pid=$! # the launcher execs the JVM: this is the JVM's pid
start=$(date +%s.%N)
echo "seconds,rss_kb,records" >"$work/soak.csv"
while kill -0 "$pid" 2>/dev/null; do
    rss=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ' || true)
    records=$(wc -l <"$work/judged.jsonl" 2>/dev/null || echo 0)
    echo "$(python3 -c "print(round($(date +%s.%N) - $start, 2))"),$rss,$records" >>"$work/soak.csv"
    sleep 1
done
wait "$pid"
lscpu | sed -n 's/^Model name: *//p' | head -1
tail -1 "$work/judge.err"
python3 "$here/bench/soak_plot.py" "$work/soak.csv" "$plots"
