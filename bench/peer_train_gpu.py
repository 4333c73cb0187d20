#!/usr/bin/env python3
"""The GPU peer for reflectrm-j training throughput (bench-train --device cuda): PyTorch eager on CUDA.

    python3 bench/peer_train_gpu.py --model DIR --mode lora|full [--batch B] [--seq-len T] [--steps N]

lora: the checkpoint loaded in bfloat16, peft LoRA r=16, alpha=32, dropout 0 on every linear layer but
lm_head ("all-linear"), adapters in float32 (peft's default on a bf16 base), AdamW(lr=1e-4) on them.
full: the checkpoint loaded in float32 (F32 master weights, as reflectrm-j trains them), AdamW(lr=1e-4)
on every parameter. Both: eager attention, B x T random ids, loss = mean next-token cross-entropy.

A step is forward + backward + optimizer.step() + zero_grad(), timed between torch.cuda.synchronize()
calls; 2 warm-up steps, then --steps timed ones. Prints one JSON object: the median step time, tokens/s
(B*T / step) and the peak GPU memory torch allocated (torch.cuda.max_memory_allocated).
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--mode", choices=["lora", "full"], required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    dtype = torch.bfloat16 if args.mode == "lora" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="eager").cuda()
    extra = {}
    if args.mode == "lora":
        import peft
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear",
                                                 bias="none", task_type="CAUSAL_LM"))
        extra["peft_version"] = peft.__version__
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (args.batch, args.seq_len), generator=torch.Generator().manual_seed(args.seed)).cuda()
    torch.cuda.reset_peak_memory_stats()
    times, losses = [], []
    for i in range(args.warmup + args.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        logits = model(input_ids=ids, use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, vocab).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
        losses.append(float(loss.detach()))
    st = statistics.median(times)
    print(json.dumps(dict(peer="torch-cuda", mode=args.mode, model=args.model, gpu=torch.cuda.get_device_name(),
                          batch=args.batch, seq_len=args.seq_len, trainable_params=sum(p.numel() for p in trainable),
                          steps=args.steps, step_time_s=st, tokens_per_s=args.batch * args.seq_len / st,
                          step_times_s=times, first_loss=losses[0], last_loss=losses[-1],
                          peak_device_mb=torch.cuda.max_memory_allocated() / 2 ** 20,
                          torch_version=torch.__version__, transformers_version=transformers.__version__, **extra)))


if __name__ == "__main__":
    main()
