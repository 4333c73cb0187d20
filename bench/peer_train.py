#!/usr/bin/env python3
"""The peer measurement for reflectrm-j training throughput: PyTorch (CPU) training steps, one JSON object per line.

    python3 -m pip install torch transformers safetensors peft
    python3 bench/peer_train.py --threads 2 --steps 5 [--only small|lora] [--model models/qwen3-0.6b-bf16]

"small": a random-init F32 Qwen3 (hidden 256, intermediate 768, 4 layers, 4 heads / 2 kv heads, head_dim 64,
vocab 1024, untied), batch 8 x 256 random ids, loss = mean cross-entropy over all 8*255 next-token positions,
torch.optim.AdamW(lr=1e-4) on all parameters; once with attn_implementation "eager" and once with "sdpa".

"lora-0.6b": the checkpoint in --model loaded in bfloat16, peft LoRA r=16, alpha=32, dropout 0, on every
linear layer except lm_head ("all-linear"), 1 sequence of 256 random ids, same loss, AdamW(lr=1e-4) on the
LoRA parameters only. peft keeps the adapter weights in float32 on a bf16 base (autocast_adapter_dtype);
the dtype actually seen is reported.

A step is forward + backward + optimizer.step() + zero_grad(). 2 warm-up steps, then --steps timed steps;
step_time_s is their median and tokens_per_s = batch*seq_len / step_time_s (tokens fed in, as the Java side
counts them). peak_rss_mb is ru_maxrss of this process (the lora run comes last, so it is its peak).
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, Qwen3Config, Qwen3ForCausalLM


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def lm_loss(model, ids):
    logits = model(input_ids=ids, use_cache=False).logits
    v = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v).float(), ids[:, 1:].reshape(-1))


def time_steps(model, opt, ids, warmup, steps):
    times, losses = [], []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = lm_loss(model, ids)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        dt = time.perf_counter() - t0
        losses.append(float(loss.detach()))
        if i >= warmup:
            times.append(dt)
    return times, losses


def small(args, attn):
    torch.manual_seed(args.seed)
    cfg = Qwen3Config(vocab_size=1024, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=512,
                      tie_word_embeddings=False, rope_theta=1000000.0, rms_norm_eps=1e-6, use_cache=False,
                      attention_dropout=0.0)
    cfg._attn_implementation = attn
    model = Qwen3ForCausalLM(cfg).to(torch.float32)
    model.train()
    assert model.config._attn_implementation == attn, model.config._attn_implementation
    batch, seq = 8, 256
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), generator=torch.Generator().manual_seed(args.seed))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times, losses = time_steps(model, opt, ids, args.warmup, args.steps)
    st = statistics.median(times)
    return dict(peer="torch", measure="small", attn=attn, threads=torch.get_num_threads(), dtype="float32",
                params=sum(p.numel() for p in model.parameters()), batch=batch, seq_len=seq,
                warmup=args.warmup, steps=args.steps, step_time_s=st, tokens_per_s=batch * seq / st,
                step_times_s=times, first_loss=losses[0], last_loss=losses[-1],
                torch_version=torch.__version__, transformers_version=transformers.__version__)


def lora(args):
    try:
        import peft
        from peft import LoraConfig, get_peft_model
    except ImportError:
        return dict(peer="torch", measure="lora-0.6b", skipped="peft is not installed (pip install peft)")
    if not os.path.isdir(args.model) or not os.path.exists(os.path.join(args.model, "config.json")):
        return dict(peer="torch", measure="lora-0.6b",
                    skipped=f"no model folder at {args.model} (make it with: reflectrm-j init --preset qwen3-0.6b "
                            f"--dtype bf16 --seed 0 --out {args.model})")
    torch.manual_seed(args.seed)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16, attn_implementation=args.attn)
    rss_loaded = rss_mb()
    cfg = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", bias="none",
                     task_type="CAUSAL_LM")
    pm = get_peft_model(model, cfg)  # autocast_adapter_dtype=True (default): adapters in float32
    pm.train()
    trainable = [p for p in pm.parameters() if p.requires_grad]
    lora_dtypes = sorted({str(p.dtype).replace("torch.", "") for p in trainable})
    targets = sorted(pm.peft_config["default"].target_modules)
    seq = 256
    ids = torch.randint(0, model.config.vocab_size, (1, seq), generator=torch.Generator().manual_seed(args.seed))
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    times, losses = time_steps(pm, opt, ids, args.warmup, args.steps)
    st = statistics.median(times)
    return dict(peer="torch", measure="lora-0.6b", model=args.model, attn=args.attn, threads=torch.get_num_threads(),
                base_dtype="bfloat16", lora_param_dtype=",".join(lora_dtypes), lora_rank=16, lora_alpha=32,
                lora_targets=targets, lora_params=sum(p.numel() for p in trainable), batch=1, seq_len=seq,
                warmup=args.warmup, steps=args.steps, step_time_s=st, tokens_per_s=seq / st, step_times_s=times,
                first_loss=losses[0], last_loss=losses[-1], rss_after_load_mb=rss_loaded,
                peak_rss_mb=peak_rss_mb(), torch_version=torch.__version__,
                transformers_version=transformers.__version__, peft_version=peft.__version__)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["small", "lora"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="models/qwen3-0.6b-bf16")
    ap.add_argument("--attn", default="sdpa", help="attention implementation for the lora run (eager|sdpa)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.only in (None, "small"):
        for attn in ("eager", "sdpa"):
            print(json.dumps(small(args, attn)), flush=True)
    if args.only in (None, "lora"):
        print(json.dumps(lora(args)), flush=True)


if __name__ == "__main__":
    main()
