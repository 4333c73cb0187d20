#!/usr/bin/env python3
"""The peer measurement for `reflectrm-j bench-judge`: the same judging workload with Hugging Face
transformers' generate() on PyTorch, printed as JSON.

    ./reflectrm-j bench-judge --model models/qwen3-0.6b-bf16 --threads 2 --json > ours.json
    python3 bench/peer_judge.py --model models/qwen3-0.6b-bf16 --threads 2 --from ours.json

A random checkpoint's text carries no meaning, so the workload is its shape, taken from ours.json:
one greedy analysis of the response prompt; for reflect, the rollouts (one generate() call with
num_return_sequences, sampled at temperature 1.0) and then the reflection prompts (one padded
batch, greedy), every generation exactly --analysis-tokens long, on random token ids of the same
lengths. transformers prefills each of the N identical rollout prompts (it has no prefix sharing).
"""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--from", dest="ours", required=True, help="bench-judge --json output: prompt lengths, rollouts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    with open(args.ours) as f:
        ours = json.load(f)
    tokens = ours["analysis_tokens"]
    rollouts = ours["rollouts"]
    prompt_len = ours["response_prompt_tokens"]
    reflection_lens = ours["reflection_prompt_tokens"]

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype="auto").to(args.device).eval()
    vocab = model.config.vocab_size
    pad = model.config.eos_token_id if isinstance(model.config.eos_token_id, int) else model.config.eos_token_id[0]

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def generate(prompts, sample, copies=1):
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):           # left padding, as batched decoding needs
            ids[i, width - len(p):] = torch.tensor(p)
            mask[i, width - len(p):] = 1
        sync()
        start = time.perf_counter()
        model.generate(ids.to(args.device), attention_mask=mask.to(args.device), do_sample=sample,
                       temperature=1.0 if sample else None, top_k=0 if sample else None, top_p=1.0 if sample else None,
                       num_return_sequences=copies, min_new_tokens=tokens, max_new_tokens=tokens, pad_token_id=pad)
        sync()
        return time.perf_counter() - start

    def rand(n):
        return torch.randint(0, vocab, (n,)).tolist()

    with torch.inference_mode():
        prompt = rand(prompt_len)
        generate([prompt], False)                  # warm-up, as bench-judge does
        greedy = generate([prompt], False)
        rollout_s = generate([prompt], True, copies=rollouts)
        reflection_s = generate([rand(n) for n in reflection_lens], False) if reflection_lens else 0.0
    reflect = rollout_s + reflection_s
    print(json.dumps({
        "peer": f"transformers {__import__('transformers').__version__} / torch {torch.__version__}",
        "model": args.model, "threads": args.threads, "device": args.device,
        "rollouts": rollouts, "analysis_tokens": tokens, "reflections_run": len(reflection_lens),
        "greedy_s": greedy, "reflect_s": reflect, "reflect_over_greedy": reflect / greedy,
        "rollouts_s": rollout_s, "reflections_s": reflection_s,
    }))


if __name__ == "__main__":
    main()
