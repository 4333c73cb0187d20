#!/usr/bin/env python3
"""The PyTorch peer of the toy world's two hot phases (bench/toy-bench.sh runs both sides).

    ./reflectrm-j demo data --out toy
    ./reflectrm-j init --preset toy --tokenizer toy/tokenizer --dtype f32 --out toy/model
    python3 bench/peer_toy.py --data toy --model toy/model --phase sft --steps 18 --threads 2
    python3 bench/peer_toy.py --data toy --model toy/model --phase sample --pairs 32 --threads 2
    python3 bench/peer_toy.py --data toy --model toy/model --phase pairs --pairs 32 --out pairs.jsonl

sft: `reflectrm-j train sft`'s work in transformers' Qwen3ForCausalLM (float32). Each sft.jsonl record is
rendered with the tokenizer's chat template (add_generation_prompt=False; the assistant turn's empty
"reasoning_content" makes the empty think block, as on the Java side); the loss covers the assistant turn
from after "<|im_start|>assistant\\n" up to and including its <|im_end|> (the Java SftEncoder's mask), mean
over those tokens. --batch examples per step, in a seeded shuffled order, right-padded to the batch's
longest; AdamW(lr, betas 0.9/0.999, eps 1e-8, no weight decay) with a linear decay to 0, as the Java
defaults, and gradients clipped to norm 1.0. 2 warm-up steps, then --steps timed ones; a step is
forward + backward + clip + optimizer step + zero_grad. tokens = the batch's non-pad tokens, prompt and
answer alike, which is what the Java metrics.jsonl "tokens" field counts (MicroBatch.tokenCount);
tokens_per_s is the median over the timed steps of tokens / step time.

sample: `reflectrm-j data sample`'s work in model.generate(). The prompts are the judge's response prompt
for the first --pairs pairs of pairs-train.jsonl that have a preference ("-pref") record in sft.jsonl: that
record's user turn is the judge's own rendering of the pair (docs/toy-world.md), and it is rendered here
with add_generation_prompt=True, enable_thinking=False, as the judge prompts. --batch pairs per
generate() call, each with num_return_sequences=--n, left-padded; sampling at --temperature with no top-k,
top-p or min-p (the Java judge's sampling), a KV cache, max_new_tokens --max-new-tokens, stopping at the
model's EOS ids or <|im_end|>. Generated tokens are counted per rollout up to and including its stop
token (the Java samples' "tokens" field); tokens_per_s = their sum / the wall time of all generate()
calls, with no warm-up call, as the Java side's wall time has none.

pairs: writes those pairs (pairs-train.jsonl lines, in the same order) to --out for `data sample --input`.

Prints one JSON line per run, with the settings and the CPU model.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import time

import torch
import transformers
from transformers import AutoTokenizer, GenerationConfig, Qwen3ForCausalLM


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_model(model_dir, threads):
    torch.set_num_threads(threads)
    model = Qwen3ForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return model


# ---------------------------------------------------------------- sft

def encode_sft(tok, messages, max_len):
    """Ids and loss mask of one conversation, as the Java SftEncoder makes them.

    The loss starts after the last "<|im_start|>assistant\\n": the prefix up to there is the user turn rendered
    with the plain generation prompt (no think block), and <|im_start|> is an added token, so that prefix
    tokenizes the same alone as inside the whole conversation (checked). It ends at the turn's <|im_end|>;
    the template's "\\n" after it is not a target.
    """
    ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=False, return_dict=False)
    prefix = tok.apply_chat_template(messages[:-1], tokenize=True, add_generation_prompt=True,
                                     enable_thinking=True, return_dict=False)
    if ids[:len(prefix)] != prefix:
        raise SystemExit("the user turn does not tokenize the same alone: the loss mask would be off")
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    end = len(ids) - 1 - ids[::-1].index(im_end)  # the assistant turn's <|im_end|>
    mask = [False] * len(ids)
    for t in range(len(prefix), end + 1):
        mask[t] = True
    # Longer examples are truncated, as train sft does by default (--max-len; the toy's are far shorter).
    return ids[:max_len], mask[:max_len]


def sft(args, tok):
    records = read_jsonl(os.path.join(args.data, "sft.jsonl"))
    examples = [encode_sft(tok, r["messages"], args.max_len) for r in records]
    model = load_model(args.model, args.threads)
    model.train()
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    total = args.warmup + args.steps
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / total))

    # A seeded shuffle and consecutive batches of it, reshuffled each epoch, as the Java batcher (other seed
    # and generator: the same length distribution, not the same batches).
    rng = random.Random(args.seed)
    order, at = [], 0

    def next_batch():
        nonlocal order, at
        if at + args.batch > len(order):
            order, at = list(range(len(examples))), 0
            rng.shuffle(order)
        picked = [examples[i] for i in order[at:at + args.batch]]
        at += args.batch
        return picked

    times, rates, real_tokens, padded_tokens, losses = [], [], [], [], []
    for step in range(total):
        batch = next_batch()
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        # mask[b, t]: the prediction at position t (of token t+1) is in the loss
        target = torch.zeros((len(batch), width), dtype=torch.bool)
        for b, (x, m) in enumerate(batch):
            ids[b, :len(x)] = torch.tensor(x)
            target[b, :len(x) - 1] = torch.tensor(m[1:])
        n_real = sum(len(x) for x, _ in batch)

        t0 = time.perf_counter()
        # Right padding and a causal mask: no real token attends to a pad, so no attention mask is needed
        # (sdpa keeps its causal fast path); pad positions are computed but never in the loss.
        if args.lm_head == "targets":
            # Only target rows through lm_head, as the Java fused output loss does.
            h = model.model(input_ids=ids, use_cache=False).last_hidden_state
            logits = model.lm_head(h[target])
        else:
            logits = model(input_ids=ids, use_cache=False).logits[target]
        loss = torch.nn.functional.cross_entropy(logits, ids[:, 1:][target[:, :-1]])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0

        losses.append(float(loss.detach()))
        if step >= args.warmup:
            times.append(dt)
            rates.append(n_real / dt)
            real_tokens.append(n_real)
            padded_tokens.append(len(batch) * width)
    return {
        "phase": "sft",
        "tokens_per_s": statistics.median(rates),
        "step_time_s": statistics.median(times),
        "tokens_per_step": statistics.mean(real_tokens),
        "padded_tokens_per_step": statistics.mean(padded_tokens),
        "steps": args.steps, "warmup": args.warmup, "batch": args.batch, "lr": args.lr,
        "max_grad_norm": args.max_grad_norm, "lm_head": args.lm_head,
        "first_loss": losses[0], "last_loss": losses[-1],
    }


# ---------------------------------------------------------------- sample

def pref_pairs(data, k):
    """The first k pairs of pairs-train.jsonl with a "-pref" SFT record: (pair line, judge user turn)."""
    prompts = {}
    for r in read_jsonl(os.path.join(data, "sft.jsonl")):
        if r["id"].endswith("-pref"):
            prompts[r["id"][:-len("-pref")]] = r["messages"][0]["content"]
    picked = []
    with open(os.path.join(data, "pairs-train.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and len(picked) < k:
                pair_id = json.loads(line)["id"]
                if pair_id in prompts:
                    picked.append((line.rstrip("\n"), prompts[pair_id]))
    if len(picked) < k:
        raise SystemExit(f"only {len(picked)} pairs have a preference record; asked for {k}")
    return picked


def stop_ids(model, tok):
    """The Java judge stops at the config's EOS ids and at <|im_end|>."""
    eos = model.config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos])
    ids.add(tok.convert_tokens_to_ids("<|im_end|>"))
    return sorted(i for i in ids if i is not None)


def sample(args, tok):
    prompts = [tok.apply_chat_template([{"role": "user", "content": c}], tokenize=True, add_generation_prompt=True,
                                       enable_thinking=False, return_dict=False)
               for _, c in pref_pairs(args.data, args.pairs)]
    model = load_model(args.model, args.threads)
    model.eval()
    stops = stop_ids(model, tok)
    pad = tok.pad_token_id if tok.pad_token_id is not None else stops[0]
    # A config of our own, so the model folder's generation_config.json (top_k 20, top_p 0.95, temperature
    # 0.6) does not apply: the Java judge samples from the whole distribution at --temperature.
    gen = GenerationConfig(do_sample=True, temperature=args.temperature, top_k=0, top_p=1.0, min_p=None,
                           max_new_tokens=args.max_new_tokens, num_return_sequences=args.n, use_cache=True,
                           eos_token_id=stops, pad_token_id=pad)
    # generate() fills settings left at the library defaults (temperature 1.0, top_p 1.0) from the model's own
    # generation config: make that ours too, so nothing of the folder's comes back that way.
    model.generation_config = gen
    torch.manual_seed(args.seed)

    computed = 0
    batch_times, batch_tokens = [], []
    for start in range(0, len(prompts), args.batch):
        chunk = prompts[start:start + args.batch]
        width = max(len(p) for p in chunk)
        # left padding, so every row's next token follows its prompt
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in chunk])
        attn = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk])
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=attn, generation_config=gen)
        batch_times.append(time.perf_counter() - t0)
        new = out[:, width:]
        computed += new.numel()
        # each row up to and including its first stop token (generate() pads finished rows)
        batch_tokens.append(sum(next((i + 1 for i, t in enumerate(row) if t in stops), len(row))
                                for row in new.tolist()))
    generated, wall = sum(batch_tokens), sum(batch_times)
    rollouts = len(prompts) * args.n
    return {
        "phase": "sample",
        "tokens_per_s": generated / wall,
        "generated_tokens": generated,
        "tokens_per_rollout": generated / rollouts,
        # rows x decode steps generate() ran: finished rows keep decoding (as pads) until the batch ends
        "computed_tokens": computed,
        "wall_s": wall,
        # for reference only: the first batch holds whatever one-time cost PyTorch has
        "tokens_per_s_after_first_batch": (
            sum(batch_tokens[1:]) / sum(batch_times[1:]) if len(batch_times) > 1 else None),
        "pairs": len(prompts), "batch_pairs": args.batch, "n": args.n, "temperature": args.temperature,
        "max_new_tokens": args.max_new_tokens, "prompt_tokens_mean": statistics.mean(len(p) for p in prompts),
        "stop_ids": stops,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a `reflectrm-j demo data` folder")
    ap.add_argument("--model", required=True, help="a model folder (config.json, model.safetensors, tokenizer)")
    ap.add_argument("--phase", required=True, choices=["sft", "sample", "pairs"])
    ap.add_argument("--steps", type=int, default=18, help="sft: timed steps after --warmup (default 18)")
    ap.add_argument("--warmup", type=int, default=2, help="sft: untimed steps first (default 2)")
    ap.add_argument("--batch", type=int, help="sft: examples per step (default 64); sample: pairs per generate() (16)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--lm-head", choices=["targets", "all"], default="targets",
                    help="sft: run lm_head on the loss rows only, as the Java side (default), or on every position")
    ap.add_argument("--pairs", type=int, default=32, help="sample/pairs: how many pairs (default 32)")
    ap.add_argument("--n", type=int, default=8, help="sample: rollouts per pair (default 8)")
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="pairs: where to write the pairs")
    args = ap.parse_args()
    if args.batch is None:
        args.batch = 64 if args.phase == "sft" else 16

    if args.phase == "pairs":
        if not args.out:
            ap.error("--phase pairs needs --out")
        with open(args.out, "w", encoding="utf-8") as f:
            for line, _ in pref_pairs(args.data, args.pairs):
                f.write(line + "\n")
        return

    tok = AutoTokenizer.from_pretrained(args.model)
    result = sft(args, tok) if args.phase == "sft" else sample(args, tok)
    result.update({"threads": args.threads, "torch": torch.__version__, "transformers": transformers.__version__,
                   "cpu": cpu_model()})
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
