#!/usr/bin/env python3
"""The peer measurement for `reflectrm-j bench`: the same prefill and decode runs with Hugging Face
transformers on PyTorch (CPU, or CUDA with --device cuda), printed as the same JSON keys.

    python3 -m pip install torch transformers safetensors
    python3 bench/peer_transformers.py --model models/qwen3-0.6b-bf16 --threads 2
    python3 bench/peer_transformers.py --model m --device cuda --attn eager

Prompts are random token ids; decoding is greedy with a KV cache (a plain loop over forward calls,
so generate()'s bookkeeping is not counted against the peer). Each number is a median of --repeats
runs. The dtype is the checkpoint's own (BF16 for `reflectrm-j init --dtype bf16`).
"""
import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-len", type=int, default=512)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--decode-prompt-len", type=int, default=16)
    ap.add_argument("--batch", default="1,8")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtype", default="auto", help="auto (the checkpoint's), bfloat16 or float32")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--attn", default=None, help="attn_implementation: eager or sdpa (default: transformers' choice)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    dtype = "auto" if args.dtype == "auto" else getattr(torch, args.dtype)
    extra = {"attn_implementation": args.attn} if args.attn else {}
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, **extra).to(args.device)
    model.eval()
    vocab = model.config.vocab_size
    cuda = args.device.startswith("cuda")

    def sync():
        # CUDA calls return before the GPU finishes: time only finished work.
        if cuda:
            torch.cuda.synchronize()

    def prompts(batch, length):
        return torch.randint(0, vocab, (batch, length), device=args.device)

    def prefill(ids):
        sync()
        start = time.perf_counter()
        out = model(ids, use_cache=True)
        sync()
        return time.perf_counter() - start, out

    def decode(batch, steps):
        _, out = prefill(prompts(batch, args.decode_prompt_len))
        past = out.past_key_values
        nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            out = model(nxt, past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
        sync()
        return batch * steps / (time.perf_counter() - start)

    with torch.inference_mode():
        decode(1, 8)  # warm-up
        pre = []
        for _ in range(args.repeats):
            seconds, _ = prefill(prompts(1, args.prompt_len))
            pre.append(args.prompt_len / seconds)
        result = {
            "peer": f"transformers {__import__('transformers').__version__} / torch {torch.__version__}",
            "model": args.model,
            "threads": args.threads,
            "device": torch.cuda.get_device_name() if cuda else "cpu",
            "attn_implementation": model.config._attn_implementation,
            "dtype": str(next(model.parameters()).dtype),
            "prompt_len": args.prompt_len,
            "prefill_tokens_per_s": statistics.median(pre),
            "decode_tokens_per_s": {},
        }
        for b in [int(x) for x in args.batch.split(",")]:
            speeds = [decode(b, args.decode_tokens) for _ in range(args.repeats)]
            result["decode_tokens_per_s"][str(b)] = statistics.median(speeds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
