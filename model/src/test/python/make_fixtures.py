#!/usr/bin/env python3
"""Generate tiny random-weight Qwen3 fixtures for the Java forward/generation tests.

How to run (from the repository root):

    python3 -m pip install torch transformers tokenizers safetensors numpy
    python3 model/src/test/python/make_fixtures.py --out model/src/test/resources/fixtures

Versions used to produce the committed fixtures:
    torch 2.13.0+cpu, transformers 5.18.0, safetensors 0.8.0, numpy 2.4.6, Python 3.11.7
(the exact torch/transformers versions are also written into every expected.json).

Each fixture is one folder:

    <out>/<name>/config.json          HF config (model_type qwen3). Written from Qwen3Config.to_dict()
                                      (transformers-5 keys: "dtype", "rope_parameters", "layer_types")
                                      plus the transformers-4.x / real-Qwen3-checkpoint keys "torch_dtype",
                                      "rope_theta" and "rope_scaling": null, so a reader of either style works.
    <out>/<name>/model.safetensors    (or model-0000i-of-0000n.safetensors + model.safetensors.index.json)
    <out>/<name>/expected.json        {"prompts", "logits", "greedy", "greedy_min_margin",
                                       "transformers_version", "torch_version"} (+ "lm_head_source" for
                                       the tied-with-stored-lm_head fixture)

The safetensors files are written by us with safetensors.torch.save_file (metadata {"format": "pt"}), not by
save_pretrained, so that we control exactly which tensors are stored (e.g. no lm_head.weight for a tied model,
a *different* lm_head.weight for the tied-but-stored case).

Reference numerics: the expected logits and greedy tokens are ALWAYS computed in float32 by loading the saved
checkpoint back with Qwen3ForCausalLM.from_pretrained(dir, dtype=torch.float32, attn_implementation="eager"),
so BF16/F16 weights are upcast exactly (as the Java engine widens them). Floats are written with full precision
(float(float32) -> shortest repr of the exact double value, which round-trips to the identical float32).

Weights: every Linear/Embedding weight ~ N(0, WEIGHT_STD^2) and every *norm.weight ~ 1 + U(-0.3, 0.3), from a
fixed torch.Generator seed, so the logits have a spread of a few units and the test is sensitive. If the greedy
paths have a top1-top2 logit gap below MIN_MARGIN, or the configured eos id shows up in a greedy path, the
fixture is regenerated with seed+1 (the seed actually used is printed).
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

WEIGHT_STD = 0.15
NORM_JITTER = 0.3
MIN_MARGIN = 1e-2  # stricter than the required 1e-3, so the Java greedy check is robust
PROMPT_LENGTHS = (7, 13)
MAX_NEW_TOKENS = 10
MAX_FOLDER_BYTES = 2 * 1024 * 1024

DTYPES = {
    "float32": (torch.float32, "F32"),
    "bfloat16": (torch.bfloat16, "BF16"),
    "float16": (torch.float16, "F16"),
}

FIXTURES = [
    dict(
        name="tiny-f32-untied",
        seed=1000,
        dtype="float32",
        vocab_size=512,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,  # GQA group 2
        head_dim=32,  # != hidden/heads = 16
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        lm_head_stored=True,
        shards=1,
    ),
    dict(
        name="tiny-bf16-tied",
        seed=2000,
        dtype="bfloat16",
        vocab_size=500,  # not a multiple of 8/16: exercises tail loops over vocab rows
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,  # GQA group 1 (plain MHA)
        head_dim=16,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        lm_head_stored=False,  # NO lm_head.weight in the file
        shards=1,
    ),
    dict(
        name="tiny-f16-sharded",
        seed=3000,
        dtype="float16",
        vocab_size=512,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=3,
        num_attention_heads=8,
        num_key_value_heads=2,  # GQA group 4
        head_dim=16,  # q_proj out = 128 != hidden 64
        rope_theta=500000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        lm_head_stored=True,
        shards=3,
    ),
    dict(
        name="tiny-bf16-tied-lmhead",
        seed=4000,
        dtype="bfloat16",
        vocab_size=448,
        hidden_size=64,
        intermediate_size=112,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        lm_head_stored=True,  # tied in config, but a DIFFERENT lm_head.weight is stored
        shards=1,
    ),
]


def make_config(fx):
    return Qwen3Config(
        vocab_size=fx["vocab_size"],
        hidden_size=fx["hidden_size"],
        intermediate_size=fx["intermediate_size"],
        num_hidden_layers=fx["num_hidden_layers"],
        num_attention_heads=fx["num_attention_heads"],
        num_key_value_heads=fx["num_key_value_heads"],
        head_dim=fx["head_dim"],
        hidden_act="silu",
        max_position_embeddings=256,
        rope_theta=fx["rope_theta"],
        rms_norm_eps=fx["rms_norm_eps"],
        tie_word_embeddings=fx["tie_word_embeddings"],
        attention_bias=False,
        use_sliding_window=False,
        sliding_window=None,
        max_window_layers=fx["num_hidden_layers"],
        bos_token_id=fx["vocab_size"] - 2,
        eos_token_id=fx["vocab_size"] - 1,
        use_cache=True,
        dtype=fx["dtype"],
        architectures=["Qwen3ForCausalLM"],
    )


def write_config(config, fx, folder):
    d = config.to_diff_dict()  # what save_pretrained writes
    # transformers-4.x / official Qwen3 checkpoint style keys, in addition to the transformers-5 ones
    d["rope_theta"] = fx["rope_theta"]
    d["rope_scaling"] = None
    d["torch_dtype"] = fx["dtype"]
    d["dtype"] = fx["dtype"]
    d["architectures"] = ["Qwen3ForCausalLM"]
    d["model_type"] = "qwen3"
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(d, f, indent=2, sort_keys=True)
        f.write("\n")


def random_weights(config, fx, gen):
    """Return an ordered {name: float32 tensor} of the tensors to store (tied lm_head excluded)."""
    model = Qwen3ForCausalLM(config)  # only used for canonical parameter names and shapes
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    shapes = dict((n, tuple(p.shape)) for n, p in model.named_parameters(remove_duplicate=False))
    assert "lm_head.weight" in names and "model.embed_tokens.weight" in names
    tensors = {}
    for n in names:
        if n == "lm_head.weight":
            continue  # handled below
        shape = shapes[n]
        if n.endswith("norm.weight"):
            t = 1.0 + (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * NORM_JITTER
        else:
            assert n.endswith("_proj.weight") or n == "model.embed_tokens.weight", n
            t = torch.randn(shape, generator=gen, dtype=torch.float32) * WEIGHT_STD
        tensors[n] = t.contiguous()
    if fx["lm_head_stored"]:
        tensors["lm_head.weight"] = (
            torch.randn(shapes["lm_head.weight"], generator=gen, dtype=torch.float32) * WEIGHT_STD
        ).contiguous()
    for n, t in tensors.items():
        assert n.startswith("model.") or n == "lm_head.weight", n
    return tensors


def shard_groups(names, n_layers, n_shards):
    """Split tensor names into n_shards groups by layer (embed with the first, norm/lm_head with the last)."""
    if n_shards == 1:
        return [sorted(names)]

    def bucket(n):
        if n == "model.embed_tokens.weight":
            return 0
        if n.startswith("model.layers."):
            layer = int(n.split(".")[2])
            return min(n_shards - 1, layer * n_shards // n_layers)
        return n_shards - 1  # model.norm.weight, lm_head.weight

    groups = [[] for _ in range(n_shards)]
    for n in names:
        groups[bucket(n)].append(n)
    assert all(groups), groups
    return [sorted(g) for g in groups]


def write_weights(tensors, fx, folder):
    torch_dtype, st_dtype = DTYPES[fx["dtype"]]
    stored = {n: t.to(torch_dtype).contiguous() for n, t in tensors.items()}
    groups = shard_groups(list(stored), fx["num_hidden_layers"], fx["shards"])
    files = []
    if len(groups) == 1:
        fn = "model.safetensors"
        save_file(stored, os.path.join(folder, fn), metadata={"format": "pt"})
        files.append(fn)
    else:
        k = len(groups)
        weight_map = {}
        total = 0
        for i, g in enumerate(groups):
            fn = f"model-{i + 1:05d}-of-{k:05d}.safetensors"
            save_file({n: stored[n] for n in g}, os.path.join(folder, fn), metadata={"format": "pt"})
            files.append(fn)
            for n in g:
                weight_map[n] = fn
                total += stored[n].numel() * stored[n].element_size()
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
            f.write("\n")
    # verify what is on disk: names, dtypes and values
    seen = {}
    for fn in files:
        with safe_open(os.path.join(folder, fn), framework="pt") as f:
            assert f.metadata() == {"format": "pt"}, f.metadata()
            for n in f.keys():
                assert n not in seen, f"duplicate tensor {n}"
                assert f.get_slice(n).get_dtype() == st_dtype, (n, f.get_slice(n).get_dtype(), st_dtype)
                t = f.get_tensor(n)
                assert t.dtype == torch_dtype, (n, t.dtype)
                assert torch.equal(t, stored[n]), n
                seen[n] = fn
    assert set(seen) == set(stored), set(seen) ^ set(stored)
    if fx["lm_head_stored"]:
        assert "lm_head.weight" in seen
    else:
        assert "lm_head.weight" not in seen
    return stored, files


def load_fp32(folder):
    model, info = Qwen3ForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
    )
    model.eval()
    return model, info


def top2_margin(logits_row):
    v = torch.topk(logits_row.double(), 2).values
    return float(v[0] - v[1])


def check_loaded(model, info, stored, fx):
    """Assert the fp32 model holds exactly the upcast stored tensors; return lm_head_source."""
    assert not info.get("missing_keys"), info
    assert not info.get("unexpected_keys"), info
    assert not info.get("mismatched_keys"), info
    assert model.dtype == torch.float32
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    sd = dict(model.named_parameters(remove_duplicate=False))
    for n, t in stored.items():
        assert torch.equal(sd[n].detach(), t.float()), f"loaded {n} differs from the stored tensor"
    cfg = model.config
    assert math.isclose(cfg.rope_parameters["rope_theta"], fx["rope_theta"]), cfg.rope_parameters
    assert cfg.rope_parameters.get("rope_type", "default") == "default", cfg.rope_parameters
    assert cfg.rms_norm_eps == fx["rms_norm_eps"] and cfg.head_dim == fx["head_dim"]
    inv = model.model.rotary_emb.inv_freq.double()
    hd = fx["head_dim"]
    ref = 1.0 / (fx["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    assert torch.allclose(inv, ref, rtol=1e-6), "unexpected rope inv_freq"

    lm = model.lm_head.weight.detach()
    emb = model.model.embed_tokens.weight.detach()
    shared = lm.data_ptr() == emb.data_ptr()
    if not fx["tie_word_embeddings"]:
        assert not shared and torch.equal(lm, stored["lm_head.weight"].float())
        return "stored"
    if not fx["lm_head_stored"]:
        assert shared and torch.equal(lm, stored["model.embed_tokens.weight"].float())
        return "embedding"
    # tied in config AND a different lm_head.weight stored: record what transformers did
    if torch.equal(lm, stored["lm_head.weight"].float()) and not torch.equal(lm, emb):
        return "stored"
    assert torch.equal(lm, emb)
    return "embedding"


@torch.no_grad()
def reference(model, prompts, eos_id):
    logits_all, greedy_all, margins = [], [], []
    for p in prompts:
        ids = torch.tensor([p], dtype=torch.long)
        out = model(input_ids=ids, use_cache=False)
        lg = out.logits[0].float()
        assert lg.shape == (len(p), model.config.vocab_size)
        logits_all.append(lg)

        gcfg = GenerationConfig(
            do_sample=False,
            num_beams=1,
            max_new_tokens=MAX_NEW_TOKENS,
            min_new_tokens=0,
            eos_token_id=None,
            pad_token_id=0,
            bos_token_id=None,
            use_cache=True,
            repetition_penalty=1.0,
            temperature=None,
            top_k=None,
            top_p=None,
            return_dict_in_generate=True,
            output_logits=True,
        )
        g = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            generation_config=gcfg,
        )
        new = g.sequences[0, len(p):].tolist()
        assert len(new) == MAX_NEW_TOKENS, new
        step_logits = [s[0].float() for s in g.logits]
        assert len(step_logits) == MAX_NEW_TOKENS
        for tok, sl in zip(new, step_logits):
            assert int(torch.argmax(sl)) == tok
            margins.append(top2_margin(sl))
        # the first generated token must agree with the full-forward logits of the last prompt position
        assert int(torch.argmax(lg[-1])) == new[0]
        assert torch.allclose(step_logits[0], lg[-1], atol=1e-5, rtol=0)

        # independent check: no-cache greedy loop by repeated full forwards
        seq = list(p)
        for step in range(MAX_NEW_TOKENS):
            full = model(input_ids=torch.tensor([seq]), use_cache=False).logits[0, -1].float()
            nxt = int(torch.argmax(full))
            margins.append(top2_margin(full))
            assert nxt == new[step], (p, step, nxt, new)
            seq.append(nxt)
        greedy_all.append(new)
    return logits_all, greedy_all, min(margins), margins


def folder_size(folder):
    return sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))


def build_fixture(fx, out_dir, max_tries=50):
    folder = os.path.join(out_dir, fx["name"])
    for attempt in range(max_tries):
        seed = fx["seed"] + attempt
        if os.path.exists(folder):
            shutil.rmtree(folder)
        os.makedirs(folder)
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)

        config = make_config(fx)
        tensors = random_weights(config, fx, gen)
        if fx["tie_word_embeddings"] and fx["lm_head_stored"]:
            assert not torch.equal(tensors["lm_head.weight"], tensors["model.embed_tokens.weight"])
        write_config(config, fx, folder)
        stored, files = write_weights(tensors, fx, folder)

        prompts = [
            torch.randint(0, fx["vocab_size"], (n,), generator=gen).tolist() for n in PROMPT_LENGTHS
        ]
        model, info = load_fp32(folder)
        lm_head_source = check_loaded(model, info, stored, fx)
        eos_id = model.config.eos_token_id
        logits, greedy, min_margin, _ = reference(model, prompts, eos_id)

        problems = []
        if min_margin <= MIN_MARGIN:
            problems.append(f"min margin {min_margin:.3g} <= {MIN_MARGIN}")
        if any(eos_id in g for g in greedy):
            problems.append(f"eos id {eos_id} appears in a greedy path")
        if problems:
            print(f"  {fx['name']}: seed {seed} rejected ({'; '.join(problems)}), reseeding", flush=True)
            continue

        expected = {
            "prompts": prompts,
            "logits": [[[float(x) for x in row] for row in lg.tolist()] for lg in logits],
            "greedy": greedy,
            "greedy_min_margin": float(min_margin),
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
        }
        if fx["tie_word_embeddings"] and fx["lm_head_stored"]:
            expected["lm_head_source"] = lm_head_source
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
            f.write("\n")

        # round-trip check of the written floats
        with open(os.path.join(folder, "expected.json")) as f:
            back = json.load(f)
        for lg, blg in zip(logits, back["logits"]):
            arr = np.asarray(blg, dtype=np.float64)
            assert np.array_equal(arr.astype(np.float32), lg.numpy()), "logits did not round-trip"
            assert np.array_equal(arr.astype(np.float32).astype(np.float64), arr)

        size = folder_size(folder)
        assert size < MAX_FOLDER_BYTES, f"{folder} is {size} bytes"
        spread = [float(lg.std()) for lg in logits]
        return dict(
            name=fx["name"],
            seed=seed,
            files={fn: os.path.getsize(os.path.join(folder, fn)) for fn in sorted(os.listdir(folder))},
            size=size,
            min_margin=min_margin,
            logit_std=spread,
            logit_range=[float(torch.cat(logits).min()), float(torch.cat(logits).max())],
            greedy=greedy,
            prompts=prompts,
            lm_head_source=lm_head_source,
            n_tensors=len(stored),
            weight_files=files,
        )
    raise RuntimeError(f"{fx['name']}: no acceptable seed in {max_tries} tries")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder, e.g. model/src/test/resources/fixtures")
    ap.add_argument("--only", nargs="*", help="fixture names to (re)build (default: all)")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, "
        f"safetensors {safetensors.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}"
    )
    summaries = []
    for fx in FIXTURES:
        if args.only and fx["name"] not in args.only:
            continue
        s = build_fixture(fx, args.out)
        summaries.append(s)
        print(f"\n== {s['name']} (seed {s['seed']}, {fx['dtype']}, {s['n_tensors']} tensors) total {s['size']} bytes")
        for fn, sz in s["files"].items():
            print(f"   {sz:>9}  {fn}")
        print(f"   greedy_min_margin {s['min_margin']:.4f}; logits std {['%.3f' % v for v in s['logit_std']]}, "
              f"range [{s['logit_range'][0]:.3f}, {s['logit_range'][1]:.3f}]; lm_head_source {s['lm_head_source']}")
        print(f"   prompts {s['prompts']}")
        print(f"   greedy  {s['greedy']}")
    print("\nall fixtures OK")


if __name__ == "__main__":
    main()
