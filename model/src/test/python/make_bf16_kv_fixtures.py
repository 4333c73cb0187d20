#!/usr/bin/env python3
"""Expected outputs of the committed tiny fixtures with a BF16 KV cache.

How to run (from the repository root, after make_fixtures.py made the fixtures):

    python3 model/src/test/python/make_bf16_kv_fixtures.py model/src/test/resources/fixtures

For each fixture folder it writes expected-bf16-kv.json: the F32 model (eager attention, weights
upcast exactly) where every key and value is rounded to bfloat16 as it enters transformers'
DynamicCache (round to nearest even, `.to(torch.bfloat16)`), then used as float32. That is what
`--kv-cache bf16` does: compute in F32, store keys and values in BF16.

    {"prompts", "prefill_logits" [prompt][position][vocab] (a cached forward of the whole prompt),
     "greedy" [prompt][MAX_NEW_TOKENS], "step_logits" [prompt][step][vocab] (generate's logits),
     "greedy_min_margin", "transformers_version", "torch_version"}
"""

import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import DynamicCache, GenerationConfig, Qwen3ForCausalLM
from transformers.cache_utils import DynamicLayer

MAX_NEW_TOKENS = 10

_update = DynamicLayer.update


def _rounded_update(self, key_states, value_states, *args, **kwargs):
    """Stores (and returns) the new keys and values rounded to BF16, widened back to F32."""
    k = key_states.to(torch.bfloat16).to(torch.float32)
    v = value_states.to(torch.bfloat16).to(torch.float32)
    return _update(self, k, v, *args, **kwargs)


DynamicLayer.update = _rounded_update


def floats(t):
    return [float(x) for x in t.tolist()]


@torch.no_grad()
def expected(folder):
    prompts = json.loads((folder / "expected.json").read_text())["prompts"]
    model = Qwen3ForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = {"prompts": prompts, "prefill_logits": [], "greedy": [], "step_logits": []}
    margins = []
    for p in prompts:
        ids = torch.tensor([p], dtype=torch.long)
        full = model(input_ids=ids, use_cache=True, past_key_values=DynamicCache(config=model.config)).logits[0]
        out["prefill_logits"].append([floats(row) for row in full])
        g = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=GenerationConfig(
            do_sample=False, num_beams=1, max_new_tokens=MAX_NEW_TOKENS, min_new_tokens=0, eos_token_id=None,
            pad_token_id=0, bos_token_id=None, use_cache=True, return_dict_in_generate=True, output_logits=True))
        new = g.sequences[0, len(p):].tolist()
        steps = [s[0].float() for s in g.logits]
        for tok, s in zip(new, steps):
            assert int(torch.argmax(s)) == tok
            top = torch.topk(s.double(), 2).values
            margins.append(float(top[0] - top[1]))
        out["greedy"].append(new)
        out["step_logits"].append([floats(s) for s in steps])
    out["greedy_min_margin"] = min(margins)
    out["transformers_version"] = transformers.__version__
    out["torch_version"] = torch.__version__
    return out


def main():
    root = Path(sys.argv[1])
    for folder in sorted(p for p in root.iterdir() if (p / "expected.json").exists() and (p / "config.json").exists()):
        exp = expected(folder)
        (folder / "expected-bf16-kv.json").write_text(json.dumps(exp))
        print(folder.name, "min greedy margin", round(exp["greedy_min_margin"], 4))


if __name__ == "__main__":
    main()
