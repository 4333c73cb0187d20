#!/usr/bin/env python3
"""Hugging Face `tokenizers` peer for TokenizerBench: same corpus, same measurements, same id checksum.

Usage: RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false python3 hf_bench.py TOKENIZER_DIR CORPUS.jsonl [PASSES]

Prints one line per measurement. "encode" calls tokenizer.encode(s, add_special_tokens=False) on each string
in a Python loop (one thread); "encode_batch" is the batch call, for reference (also one thread when
RAYON_NUM_THREADS=1). The checksum is a CRC-32 of all ids as little-endian int32, in corpus order, and must
equal the Java bench's.
"""
import array
import json
import os
import statistics
import sys
import time
import zlib

if os.environ.get("RAYON_NUM_THREADS") != "1":
    print("warning: RAYON_NUM_THREADS is not 1; encode_batch may use several threads", file=sys.stderr)

from tokenizers import Tokenizer


def main():
    path, corpus_path = sys.argv[1], sys.argv[2]
    passes = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    json_path = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
    loads = []
    for _ in range(5):
        t = time.perf_counter()
        tok = Tokenizer.from_file(json_path)
        loads.append(time.perf_counter() - t)
    with open(corpus_path, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    megabytes = sum(len(s.encode("utf-8")) for s in texts) / 1e6

    crc = 0
    tokens = 0
    for s in texts:
        ids = tok.encode(s, add_special_tokens=False).ids
        tokens += len(ids)
        crc = zlib.crc32(array.array("i", ids).tobytes(), crc)
    times = []
    for _ in range(passes):
        t = time.perf_counter()
        for s in texts:
            tok.encode(s, add_special_tokens=False)
        times.append(time.perf_counter() - t)
    batch = []
    for _ in range(passes):
        t = time.perf_counter()
        tok.encode_batch(texts, add_special_tokens=False)
        batch.append(time.perf_counter() - t)

    print(f"hf corpus: {len(texts)} strings, {megabytes:.2f} MB, {tokens} tokens, ids crc32 {crc & 0xFFFFFFFF:08x}")
    print(f"hf load tokenizer.json: first {loads[0] * 1000:.0f} ms, median of next 4 {statistics.median(loads[1:]) * 1000:.0f} ms")
    print(f"hf encode (1 thread, per string): best {megabytes / min(times):.2f} MB/s, median {megabytes / statistics.median(times):.2f} MB/s")
    print(f"hf encode_batch (RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS')}): best {megabytes / min(batch):.2f} MB/s, "
          f"median {megabytes / statistics.median(batch):.2f} MB/s")


if __name__ == "__main__":
    main()
