#!/usr/bin/env python3
"""Proves that transformers and peft load what reflectrm-j saves.

Runs the reflectrm-j launcher to fine-tune a tiny random Qwen3 fully and with LoRA, merges the
adapter, and compares logits:
  * transformers' Qwen3ForCausalLM on the fully fine-tuned folder vs `reflectrm-j logits` on it;
  * peft's PeftModel (base + saved adapter) vs `reflectrm-j logits` on the merged model.
All in float32 (weights widened exactly). Exit status 0 when every logit agrees within 1e-4.

Usage: python3 model/src/test/python/check_saved_models.py [path/to/reflectrm-j] [workdir]
Needs: pip install torch transformers peft safetensors; the project built (mvn install).
"""
import json
import pathlib
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import Qwen3ForCausalLM

torch.set_num_threads(2)
ROOT = pathlib.Path(__file__).resolve().parents[4]
LAUNCHER = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "reflectrm-j")
WORK = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="reflectrm-check-"))
DATA = ROOT / "model/src/test/resources/sft/data.jsonl"
TOKENS = [151644, 872, 198, 9707, 1879, 0, 151645, 198, 151644, 77091]


def cli(*args):
    subprocess.run([LAUNCHER, *map(str, args)], check=True, stdout=subprocess.PIPE)


def java_logits(model_dir):
    out = subprocess.run([LAUNCHER, "logits", "--model", str(model_dir), "--tokens", ",".join(map(str, TOKENS)), "--json"],
                         check=True, stdout=subprocess.PIPE).stdout
    return torch.tensor(json.loads(out)["logits"])


def torch_logits(model):
    with torch.no_grad():
        return model(torch.tensor([TOKENS])).logits[0].float()


def compare(name, a, b):
    diff = (a - b).abs().max().item()
    print(f"{name}: max |diff| = {diff:.2e}")
    return diff <= 1e-4


base, full, lora, merged = (WORK / n for n in ("base", "full", "lora", "merged"))
cli("init", "--preset", "tiny", "--seed", "11", "--out", base, "--force")
cli("train", "sft", "--model", base, "--data", DATA, "--out", full, "--steps", "3", "--lr", "3e-3", "--save-dtype", "f32")
cli("train", "sft", "--model", base, "--data", DATA, "--out", lora, "--steps", "3", "--lr", "1e-2", "--lora-rank", "4")
cli("merge-lora", "--model", base, "--adapter", lora, "--out", merged, "--dtype", "f32")

ok = compare("full fine-tune: transformers vs reflectrm-j",
             torch_logits(Qwen3ForCausalLM.from_pretrained(full, torch_dtype=torch.float32, attn_implementation="eager")),
             java_logits(full))
peft_model = PeftModel.from_pretrained(
    Qwen3ForCausalLM.from_pretrained(base, torch_dtype=torch.float32, attn_implementation="eager"), lora)
ok &= compare("LoRA: peft(base + adapter) vs reflectrm-j merge-lora", torch_logits(peft_model), java_logits(merged))
changed = (torch_logits(peft_model) - java_logits(base)).abs().max().item()
print(f"the adapter changes the base logits by up to {changed:.3f}")
sys.exit(0 if ok and changed > 1e-3 else 1)
