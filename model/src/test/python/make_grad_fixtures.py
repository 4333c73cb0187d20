#!/usr/bin/env python3
"""Generate gradient (backprop) and LoRA golden fixtures for the Java training code.

How to run (from the repository root, after make_fixtures.py has written the tiny models):

    python3 -m pip install torch transformers safetensors peft numpy
    python3 model/src/test/python/make_grad_fixtures.py --fixtures model/src/test/resources/fixtures

Versions used for the committed files: torch 2.13.0+cpu, transformers 5.18.0, peft 0.21.0, safetensors 0.8.0
(also written into full.json / lora.json). Deterministic: fixed seeds, torch.use_deterministic_algorithms,
one thread; the same versions give byte-identical files.

Output, in <fixtures>/grad/:

  full.json    {"transformers_version", "torch_version", "cases": [case, ...]}, each case:
               {"name", "model", "sequences": [[ids]], "masks": [[0/1]], "loss": float,
                "grad_norms": {hf param name: float}, "grads": {"model.norm.weight": [..],
                "model.layers.0.input_layernorm.weight": [..], "model.layers.0.self_attn.q_norm.weight": [..]}}
  lora-tiny/   adapter_config.json + adapter_model.safetensors (peft save_pretrained; the peft model-card
               README.md is deleted; base_model_name_or_path is the relative placeholder "../tiny-f32-untied")
  lora.json    {"base": "tiny-f32-untied", "adapter": "lora-tiny", "sequences", "masks", "loss",
                "grad_norms": {adapter_model.safetensors key: float}, "merged_logits_first_row": [[vocab] x 3],
                "peft_version", "transformers_version", "torch_version"}

Loss contract: a sequence of T tokens has a mask of length T-1; mask[t] = 1 means token t+1, predicted from
the logits at position t, is counted. Every sequence goes through the model on its own (batch 1, no padding,
no attention across sequences); the per-token cross-entropies of all counted positions of all sequences of a
case are concatenated and averaged (one mean over tokens, not a mean of per-sequence means). Then
loss.backward(). grad_norms = float64 L2 norm of each parameter's .grad, keyed by model.named_parameters()
names (deduplicated: a tied model lists only model.embed_tokens.weight, holding embedding + lm_head grads).
All math is float32: models are loaded with from_pretrained(dtype=torch.float32, attn_implementation="eager"),
so BF16 weights are widened exactly. Floats are the exact double value of each float32 (grad_norms: float64).
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import peft
import safetensors
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from safetensors import safe_open
from transformers import Qwen3ForCausalLM

LORA_STD = 0.1
LORA_SEED = 7000
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
GRAD_VECTORS = ["model.norm.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_norm.weight"]
MAX_BYTES = 2 * 1024 * 1024


def load_fp32(folder, dtype=torch.float32):
    model = Qwen3ForCausalLM.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    model.eval()  # attention_dropout is 0.0 anyway; eval() only makes that explicit
    return model


def make_cases(model_name, vocab, seed):
    """Three cases: 12 tokens mixed mask; 64 tokens all ones; batch of 3 (5, 17, 9) with one all-zero mask."""
    gen = torch.Generator().manual_seed(seed)

    def ids(n):
        return torch.randint(0, vocab, (n,), generator=gen).tolist()

    def mixed(n):
        while True:
            m = (torch.rand(n, generator=gen) < 0.6).long().tolist()
            if 0 < sum(m) < n:
                return m

    s12 = ids(12)
    case1 = dict(name="single-12-mixed", model=model_name, sequences=[s12], masks=[mixed(11)])
    s64 = ids(64)
    case2 = dict(name="single-64-ones", model=model_name, sequences=[s64], masks=[[1] * 63])
    b = [ids(5), ids(17), ids(9)]
    case3 = dict(name="batch-5-17-9", model=model_name, sequences=b, masks=[[0] * 4, mixed(16), mixed(8)])
    return [case1, case2, case3]


def case_loss(model, sequences, masks):
    losses = []
    for seq, mask in zip(sequences, masks):
        assert len(mask) == len(seq) - 1
        ids = torch.tensor([seq], dtype=torch.long)
        logits = model(input_ids=ids, use_cache=False).logits[0]  # [T, V]
        per_tok = torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:], reduction="none")  # [T-1]
        sel = torch.tensor(mask, dtype=torch.bool)
        losses.append(per_tok[sel])
    allt = torch.cat(losses)
    assert allt.numel() > 0
    return allt.mean()


def grad_norms(named):
    return {n: float(p.grad.detach().double().norm()) for n, p in named if p.grad is not None}


def f32list(t):
    return [float(x) for x in t.detach().float().reshape(-1).tolist()]


def full_case(model, case, check_model=None):
    model.zero_grad(set_to_none=True)
    loss = case_loss(model, case["sequences"], case["masks"])
    loss.backward()
    named = list(model.named_parameters())
    norms = grad_norms(named)
    assert set(norms) == set(n for n, _ in named), "every parameter must receive a gradient"
    pd = dict(named)
    out = dict(case)
    out["loss"] = float(loss.detach())
    out["grad_norms"] = norms
    out["grads"] = {n: f32list(pd[n].grad) for n in GRAD_VECTORS}
    if check_model is not None:  # float64 cross-check, only reported
        check_model.zero_grad(set_to_none=True)
        l64 = case_loss(check_model, case["sequences"], case["masks"])
        l64.backward()
        n64 = grad_norms(check_model.named_parameters())
        rel = max(abs(norms[k] - n64[k]) / max(n64[k], 1e-30) for k in norms)
        print(f"   {case['model']:16s} {case['name']:16s} loss {out['loss']:.6f} "
              f"(f64 {float(l64.detach()):.6f}); max rel grad-norm diff vs f64 {rel:.2e}")
    return out


def build_full(fx_dir):
    cases = []
    for name, seed in (("tiny-f32-untied", 5001), ("tiny-bf16-tied", 5002)):
        folder = os.path.join(fx_dir, name)
        model = load_fp32(folder)
        m64 = load_fp32(folder, torch.float64)
        if model.config.tie_word_embeddings:
            assert model.lm_head.weight is model.model.embed_tokens.weight
            assert "lm_head.weight" not in dict(model.named_parameters())
        for case in make_cases(name, model.config.vocab_size, seed):
            cases.append(full_case(model, case, m64))
    return dict(transformers_version=transformers.__version__, torch_version=torch.__version__, cases=cases)


def build_lora(fx_dir, out_dir):
    base_dir = os.path.join(fx_dir, "tiny-f32-untied")
    model = load_fp32(base_dir)
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, bias="none",
                     task_type="CAUSAL_LM")
    pm = get_peft_model(model, cfg)
    gen = torch.Generator().manual_seed(LORA_SEED)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32) * LORA_STD)
    trainable = [(n, p) for n, p in pm.named_parameters() if p.requires_grad]
    assert all("lora_" in n and p.dtype == torch.float32 for n, p in trainable)

    adir = os.path.join(out_dir, "lora-tiny")
    if os.path.exists(adir):
        shutil.rmtree(adir)
    pm.peft_config["default"].base_model_name_or_path = "../tiny-f32-untied"
    pm.save_pretrained(adir)
    readme = os.path.join(adir, "README.md")
    if os.path.exists(readme):
        os.remove(readme)  # peft's model card: not needed, holds nothing the tests use
    with open(os.path.join(adir, "adapter_config.json")) as f:
        acfg = json.load(f)
    # peft stores target_modules from a set: its order follows string hashing, so sort it for determinism
    acfg["target_modules"] = sorted(acfg["target_modules"])
    with open(os.path.join(adir, "adapter_config.json"), "w") as f:
        json.dump(acfg, f, indent=2, sort_keys=True)
        f.write("\n")
    assert acfg["base_model_name_or_path"] == "../tiny-f32-untied", acfg
    assert not any(isinstance(v, str) and (v.startswith("/") or os.getcwd() in v) for v in acfg.values()), acfg
    with safe_open(os.path.join(adir, "adapter_model.safetensors"), framework="pt") as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()

    # map peft parameter names (…lora_A.default.weight) to the stored keys (…lora_A.weight)
    key_of = {n: n.replace(".default.", ".") for n, _ in trainable}
    assert set(key_of.values()) == set(stored), set(key_of.values()) ^ set(stored)
    pd = dict(trainable)
    for n, k in key_of.items():
        assert torch.equal(stored[k], pd[n].detach()), k

    # reference computed from a fresh base + the adapter as saved on disk (checks the file round-trip)
    case = make_cases("tiny-f32-untied", model.config.vocab_size, 5001)[2]
    fresh = PeftModel.from_pretrained(load_fp32(base_dir), adir, is_trainable=True)
    fresh.eval()
    for model_ in (pm, fresh):
        model_.zero_grad(set_to_none=True)
    loss = case_loss(fresh, case["sequences"], case["masks"])
    loss.backward()
    loss_pm = case_loss(pm, case["sequences"], case["masks"])
    assert float(loss_pm.detach()) == float(loss.detach())
    tr = [(n, p) for n, p in fresh.named_parameters() if p.requires_grad]
    assert set(n.replace(".default.", ".") for n, _ in tr) == set(stored)
    norms = {n.replace(".default.", "."): float(p.grad.double().norm()) for n, p in tr}
    assert all(v > 0 for v in norms.values())

    with torch.no_grad():
        first = torch.tensor([case["sequences"][0]])
        unmerged = fresh(input_ids=first, use_cache=False).logits[0, :3].float()
        merged_model = fresh.merge_and_unload()
        merged = merged_model(input_ids=first, use_cache=False).logits[0, :3].float()
        base_only = load_fp32(base_dir)(input_ids=first, use_cache=False).logits[0, :3].float()
    diff = float((merged - unmerged).abs().max())
    delta = float((merged - base_only).abs().max())
    print(f"   lora loss {float(loss):.6f}; merged vs unmerged logits max |diff| {diff:.2e}; "
          f"merged vs base max |diff| {delta:.3f}")
    assert diff < 1e-4 and delta > 0.1

    out = dict(base="tiny-f32-untied", adapter="lora-tiny", sequences=case["sequences"], masks=case["masks"],
               loss=float(loss.detach()), grad_norms=dict(sorted(norms.items())),
               merged_logits_first_row=[f32list(r) for r in merged],
               peft_version=peft.__version__, transformers_version=transformers.__version__,
               torch_version=torch.__version__)
    return out, acfg, {k: (str(v.dtype), list(v.shape)) for k, v in sorted(stored.items())}, meta


def write_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", default="model/src/test/resources/fixtures",
                    help="folder holding tiny-f32-untied and tiny-bf16-tied; output goes to <fixtures>/grad")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    out_dir = os.path.join(args.fixtures, "grad")
    os.makedirs(out_dir, exist_ok=True)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}, "
          f"safetensors {safetensors.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")

    full = build_full(args.fixtures)
    write_json(full, os.path.join(out_dir, "full.json"))
    lora, acfg, shapes, meta = build_lora(args.fixtures, out_dir)
    write_json(lora, os.path.join(out_dir, "lora.json"))

    print("\nadapter_model.safetensors metadata:", meta)
    for k, (dt, sh) in shapes.items():
        print(f"   {k}  {dt}  {sh}")
    print("\nadapter_config.json:\n" + json.dumps(acfg, indent=2, sort_keys=True))
    total = 0
    for root, _, files in os.walk(out_dir):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print(f"\n{out_dir}: {total} bytes")
    assert total < MAX_BYTES, total


if __name__ == "__main__":
    main()
