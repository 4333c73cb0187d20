#!/usr/bin/env bash
# Side-by-side tokenizer benchmark: reflectrm-j's Tokenizer vs Hugging Face tokenizers (Python binding),
# one thread each, same machine, same deterministic ~10 MB corpus, run alternately so that drift hits both.
#
# Usage: tokenizer/bench/compare.sh [TOKENIZER_DIR] [MEGABYTES] [ROUNDS]
#   TOKENIZER_DIR  folder with tokenizer.json (default: the Qwen3 tokenizer bundled in the jar, decompressed to a temp dir)
# Needs: JDK 25 (JAVA_HOME), Maven (offline is fine), python3 with `tokenizers`.
# The two "ids crc32" lines must be equal: both sides produced the same ids for the whole corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

TOK_DIR=${1:-}
if [[ -z "$TOK_DIR" ]]; then
  TOK_DIR="$WORK/qwen3"
  mkdir -p "$TOK_DIR"
  gzip -dc tokenizer/src/main/resources/org/reflectrm/tokenizer/qwen3/tokenizer.json.gz > "$TOK_DIR/tokenizer.json"
  cp tokenizer/src/main/resources/org/reflectrm/tokenizer/qwen3/tokenizer_config.json "$TOK_DIR/"
fi
MB=${2:-10}
ROUNDS=${3:-2}

export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
mvn -q -o -pl tokenizer test-compile dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" -Dmdep.includeScope=runtime
CP="$ROOT/tokenizer/target/classes:$ROOT/tokenizer/target/test-classes:$(cat "$WORK/cp.txt")"

python3 tokenizer/bench/make_bench_corpus.py "$WORK/corpus.jsonl" "$MB"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  echo "--- round $round"
  "$JAVA" -Xmx2g -cp "$CP" org.reflectrm.tokenizer.bench.TokenizerBench "$TOK_DIR" "$WORK/corpus.jsonl"
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python3 tokenizer/bench/hf_bench.py "$TOK_DIR" "$WORK/corpus.jsonl"
done
