#!/usr/bin/env python3
"""Generate golden fixtures of TRL's GRPO loss and gradients for the Java GRPO code (reflect module).

How to run (from anywhere; paths are resolved relative to this script):

    python3 -m pip install torch transformers trl datasets tokenizers safetensors numpy
    python3 reflect/src/test/python/make_grpo_fixture.py            # writes reflect/src/test/resources/grpo/loss.json

Model: model/src/test/resources/fixtures/tiny-f32-untied (tiny random Qwen3: vocab 512, hidden 64, 2 layers,
untied lm_head), loaded with Qwen3ForCausalLM.from_pretrained(dtype=torch.float32, attn_implementation="eager").

Versions used for the committed file: trl 1.13.0, torch 2.13.0+cpu, transformers 5.18.0, datasets 5.0.1
(trl / torch / transformers are also written into loss.json). Deterministic: fixed seeds, torch
.use_deterministic_algorithms(True), one thread; the same versions give a byte-identical file.

What is computed: TRL's own GRPOTrainer._compute_loss(model, inputs) (trl/trainer/grpo_trainer.py), called on a
real GRPOTrainer (tiny in-memory dataset, dummy reward function, in-memory WordLevel tokenizer) with
current_gradient_accumulation_steps = 1, steps_per_generation = 1, one process, model in train() mode; then
loss.backward() from freshly zeroed grads. The loss formula is NOT reimplemented here; the script only
cross-checks TRL's loss against an independent float64 recomputation (1e-5 relative) to validate the recorded
normalizer, and checks TRL's per-token logps of the unpadded tokens against a batch-1 unpadded forward (1e-5).

Shared inputs (B = 6 sequences, 3 groups of 2; prompts all of length P = 9 so there is no left padding):
  prompt_ids       [B][P] ids in [0, 500); prompt_mask is all ones (not written)
  completion_ids   [B][T] T = max_completion_length = 8; real ids in [1, 500), right-padded with id 0;
                   real lengths 3, 7, 5, 1, 6, 4
  completion_mask  [B][T] 1 on real completion tokens, 0 on pads (also the attention mask of those positions)
  advantages       [B] fixed float32 values (1.2, -0.8, 0.0, 0.5, -1.5, 0.9)
  old_per_token_logps [B][T] = current logps (temperature 1, no grad, TRL's batched forward) + N(0, 0.3^2) noise
                   (seed 1234), float32; 0.0 on pad positions
  ref_per_token_logps [B][T] = current logps + N(0, 0.2^2) noise (seed 5678), float32; 0.0 on pad positions
  TRL receives exactly these float32 values (torch.float32 tensors), advantages too.

Output loss.json:
  {"trl_version", "torch_version", "transformers_version", "model": "tiny-f32-untied",
   "prompt_ids", "completion_ids", "completion_mask", "advantages", "old_per_token_logps", "ref_per_token_logps",
   "cases": [{"name", "loss_type", "beta", "epsilon", "epsilon_high", "temperature",
              "old_logps": "given" | "detached" (absent from inputs: TRL uses per_token_logps.detach(), ratio 1),
              "use_bias_correction_kl": bool (TRL default true: per-token KL is multiplied by coef_1 = exp(logp - old)),
              "max_completion_length", "num_items_in_batch" (dapo only: total masked completion tokens),
              "gradient_accumulation_steps": 1 (trainer.current_gradient_accumulation_steps),
              "normalizer": float, "normalizer_formula": str (what TRL divided by, see below),
              "loss": float (float32 value), "per_token_logps": [B][T] (TRL's, computed inside _compute_loss; pad
              positions hold whatever the padded batch gives there and are masked out: compare only mask = 1),
              "clipped_low_tokens", "clipped_high_tokens": ints (masked tokens with coef_1 < 1 - epsilon and A < 0,
              resp. coef_1 > 1 + epsilon_high and A > 0, i.e. TRL's clip_ratio metrics times the token count),
              "grad_norms": {every model.named_parameters() name: float64 L2 norm of .grad},
              "grads": {"model.norm.weight": [64], "model.layers.1.self_attn.q_norm.weight": [32],
                        "lm_head.weight_row_7": [64] (row 7 of lm_head.weight.grad)}}]}

  Per-token loss (TRL, token-level importance sampling): coef_1 = exp(logp - old), coef_2 = clamp(coef_1,
  1 - epsilon, 1 + epsilon_high), l = -min(coef_1 * A, coef_2 * A); if beta != 0: kl = exp(ref - logp) - (ref -
  logp) - 1, times coef_1 when use_bias_correction_kl, and l += beta * kl. Normalizers (mask m, B rows):
    grpo:    mean over rows of (sum_t l*m / max(sum_t m, 1)); normalizer = B (after the per-row division)
    bnpo:    sum l*m / max(sum m, 1);                    normalizer = sum m
    dr_grpo: sum l*m / (B * max_completion_length);      normalizer = B * max_completion_length
    dapo:    sum l*m / (num_items_in_batch / num_processes * grad_accum / steps_per_generation); normalizer =
             num_items_in_batch here
  grpo/bnpo/dr_grpo are further divided by current_gradient_accumulation_steps (1 here).
  Temperature: TRL divides the logits by the temperature before log-softmax, for the loss logps.

Floats are the exact double value of each float32 (grad_norms and normalizer: float64).
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

import numpy as np
import torch
import transformers
import trl
from datasets import Dataset
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import PreTrainedTokenizerFast, Qwen3ForCausalLM
from trl import GRPOConfig, GRPOTrainer

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "model", "src", "test", "resources",
                                          "fixtures", "tiny-f32-untied"))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "grpo", "loss.json"))

B, P, T = 6, 9, 8
NUM_GENERATIONS = 2
COMPLETION_LENGTHS = [3, 7, 5, 1, 6, 4]
ADVANTAGES = [1.2, -0.8, 0.0, 0.5, -1.5, 0.9]
PAD_ID = 0
IDS_SEED = 4242
OLD_NOISE_SEED, OLD_NOISE_STD = 1234, 0.3
REF_NOISE_SEED, REF_NOISE_STD = 5678, 0.2
GRAD_VECTORS = ["model.norm.weight", "model.layers.1.self_attn.q_norm.weight"]
LM_HEAD_ROW = 7
MAX_BYTES = 1_500_000


def load_fp32(folder):
    return Qwen3ForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")


def f32list(t):
    return [float(x) for x in t.detach().float().reshape(-1).tolist()]


def f32rows(t):
    return [f32list(r) for r in t]


def make_tokenizer():
    vocab = {"<pad>": 0, "<unk>": 1, "<eos>": 2}
    for i in range(3, 64):
        vocab[f"w{i}"] = i
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def dummy_reward(completions, **kwargs):
    return [0.0 for _ in completions]


def make_inputs():
    gen = torch.Generator().manual_seed(IDS_SEED)
    prompt_ids = torch.randint(0, 500, (B, P), generator=gen)
    completion_ids = torch.full((B, T), PAD_ID, dtype=torch.long)
    completion_mask = torch.zeros((B, T), dtype=torch.long)
    for i, n in enumerate(COMPLETION_LENGTHS):
        completion_ids[i, :n] = torch.randint(1, 500, (n,), generator=gen)
        completion_mask[i, :n] = 1
    advantages = torch.tensor(ADVANTAGES, dtype=torch.float32)
    return prompt_ids, completion_ids, completion_mask, advantages


def make_trainer(model, tokenizer, tmp, loss_type, beta, epsilon, epsilon_high, temperature,
                 use_bias_correction_kl=True):
    args = GRPOConfig(
        output_dir=tmp, report_to="none", per_device_train_batch_size=B, num_generations=NUM_GENERATIONS,
        gradient_accumulation_steps=1, steps_per_generation=1, use_cpu=True, bf16=False,
        loss_type=loss_type, beta=beta, epsilon=epsilon, epsilon_high=epsilon_high, temperature=temperature,
        max_completion_length=T, use_bias_correction_kl=use_bias_correction_kl, seed=0,
    )
    dataset = Dataset.from_dict({"prompt": ["w3 w4 w5", "w6 w7", "w8 w9 w10"]})
    trainer = GRPOTrainer(model=model, reward_funcs=dummy_reward, args=args, train_dataset=dataset,
                          processing_class=tokenizer)
    # Set by Trainer's training loop only; _compute_loss divides by it (train mode).
    trainer.current_gradient_accumulation_steps = 1
    # Make sure nothing else alters the plain PPO-clip objective.
    assert trainer.model is model
    assert trainer.importance_sampling_level == "token" and trainer.args.delta is None
    assert trainer.top_entropy_quantile == 1.0 and not trainer._entropy_bonus_enabled
    assert trainer.off_policy_mask_threshold is None and not trainer.use_vllm and not trainer.use_liger_kernel
    assert not trainer.aux_loss_enabled and trainer.accelerator.num_processes == 1
    assert trainer.epsilon_low == epsilon and trainer.epsilon_high == (epsilon_high or epsilon)
    assert trainer.temperature == temperature and trainer.max_completion_length == T and trainer.beta == beta
    assert "logits_to_keep" in trainer.model_kwarg_keys
    return trainer


def reference_logps(model, prompt_ids, completion_ids, temperature):
    """Per-token logps of the real completion tokens, one unpadded sequence at a time (batch 1, no mask)."""
    out = []
    with torch.no_grad():
        for i, n in enumerate(COMPLETION_LENGTHS):
            ids = torch.cat([prompt_ids[i], completion_ids[i, :n]]).unsqueeze(0)
            logits = model(input_ids=ids, use_cache=False).logits[0, P - 1:P - 1 + n] / temperature
            out.append(torch.log_softmax(logits, dim=-1).gather(-1, completion_ids[i, :n, None])[:, 0])
    return out


def check_recomputation(case, lp, old, ref, adv, mask, loss):
    """Independent float64 recomputation of TRL's loss; validates the recorded normalizer."""
    lp, old, ref, adv, m = lp.double(), old.double(), ref.double(), adv.double()[:, None], mask.double()
    c1 = torch.exp(lp - old)
    c2 = torch.clamp(c1, 1 - case["epsilon"], 1 + (case["epsilon_high"] or case["epsilon"]))
    ptl = -torch.min(c1 * adv, c2 * adv)
    if case["beta"] != 0.0:
        kl = torch.exp(ref - lp) - (ref - lp) - 1
        if case["use_bias_correction_kl"]:
            kl = kl * c1
        ptl = ptl + case["beta"] * kl
    if case["loss_type"] == "grpo":
        expect = ((ptl * m).sum(-1) / m.sum(-1).clamp(min=1.0)).sum() / case["normalizer"]
    else:
        expect = (ptl * m).sum() / case["normalizer"]
    rel = abs(float(expect) - loss) / max(abs(float(expect)), 1e-12)
    assert rel < 1e-5, (case["name"], float(expect), loss, rel)
    return rel


def run_case(model, tokenizer, tmp, spec, shared):
    prompt_ids, completion_ids, completion_mask, advantages, old, ref = shared
    name, loss_type, beta, eps, eps_high, temp, old_mode, bias_corr = spec
    trainer = make_trainer(model, tokenizer, tmp, loss_type, beta, eps, eps_high, temp, bias_corr)
    num_items = completion_mask.sum()  # as TRL: gather(loss_mask.sum()).sum(), int64 scalar tensor
    inputs = {
        "prompt_ids": prompt_ids.clone(),
        "prompt_mask": torch.ones_like(prompt_ids),
        "completion_ids": completion_ids.clone(),
        "completion_mask": completion_mask.clone(),
        "advantages": advantages.clone(),
        "num_items_in_batch": num_items.clone(),
        "ref_per_token_logps": ref.clone(),
    }
    if old_mode == "given":
        inputs["old_per_token_logps"] = old.clone()

    captured = []
    orig = trainer._get_per_token_logps_and_entropies

    def capture(*a, **k):
        res = orig(*a, **k)
        captured.append(res[0].detach().clone())
        return res

    trainer._get_per_token_logps_and_entropies = capture

    model.train()
    model.zero_grad(set_to_none=True)
    loss = trainer._compute_loss(model, inputs)
    loss.backward()
    assert len(captured) == 1
    lp = captured[0]
    assert lp.shape == (B, T) and lp.dtype == torch.float32

    # TRL's logps of real tokens == unpadded batch-1 forward
    refs = reference_logps(model, prompt_ids, completion_ids, temp)
    max_diff = max(float((lp[i, :n] - r).abs().max()) for i, (n, r) in enumerate(zip(COMPLETION_LENGTHS, refs)))
    assert max_diff < 1e-5, (name, max_diff)

    eps_high_eff = eps_high if eps_high is not None else eps
    old_eff = old if old_mode == "given" else lp
    coef_1 = torch.exp(lp - old_eff)
    mask = completion_mask.bool()
    a = advantages[:, None]
    low = int(((coef_1 < 1 - eps) & (a < 0) & mask).sum())
    high = int(((coef_1 > 1 + eps_high_eff) & (a > 0) & mask).sum())
    n_tok = int(mask.sum())
    met = trainer._metrics["train"]
    assert abs(met["clip_ratio/low_mean"][-1] - low / n_tok) < 1e-6, (met["clip_ratio/low_mean"], low)
    assert abs(met["clip_ratio/high_mean"][-1] - high / n_tok) < 1e-6, (met["clip_ratio/high_mean"], high)

    ga = trainer.current_gradient_accumulation_steps
    if loss_type == "grpo":
        normalizer, formula = float(B * ga), "B (mean over rows of per-row masked sum / per-row token count)"
    elif loss_type == "bnpo":
        normalizer, formula = float(n_tok * ga), "sum(completion_mask)"
    elif loss_type == "dr_grpo":
        normalizer, formula = float(B * T * ga), "B * max_completion_length"
    else:
        normalizer = float(num_items) / trainer.accelerator.num_processes * ga / trainer.args.steps_per_generation
        formula = "num_items_in_batch / num_processes * grad_accum / steps_per_generation"

    named = list(model.named_parameters())
    norms = {n: float(p.grad.detach().double().norm()) for n, p in named if p.grad is not None}
    assert set(norms) == set(n for n, _ in named), "every parameter must receive a gradient"
    pd = dict(named)
    grads = {n: f32list(pd[n].grad) for n in GRAD_VECTORS}
    grads[f"lm_head.weight_row_{LM_HEAD_ROW}"] = f32list(pd["lm_head.weight"].grad[LM_HEAD_ROW])

    case = dict(name=name, loss_type=loss_type, beta=beta, epsilon=eps, epsilon_high=eps_high_eff,
                temperature=temp, old_logps=old_mode, use_bias_correction_kl=bias_corr, max_completion_length=T)
    if loss_type == "dapo":
        case["num_items_in_batch"] = int(num_items)
    case.update(gradient_accumulation_steps=ga, normalizer=normalizer, normalizer_formula=formula,
                loss=float(loss.detach()), per_token_logps=f32rows(lp), clipped_low_tokens=low,
                clipped_high_tokens=high, grad_norms=norms, grads=grads)
    rel = check_recomputation(case, lp, old_eff, ref, advantages, completion_mask, case["loss"])
    print(f"   {name:30s} loss {case['loss']: .9f}  norm {normalizer:5.1f}  clip lo/hi {low:2d}/{high:2d}  "
          f"logps vs unpadded {max_diff:.1e}  recompute rel {rel:.1e}")
    del trainer
    return case


def weights_digest(model):
    h = hashlib.sha256()
    for n, p in model.state_dict().items():
        h.update(n.encode())
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file (default: ../resources/grpo/loss.json)")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"trl {trl.__version__}, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"numpy {np.__version__}, python {sys.version.split()[0]}")

    model = load_fp32(MODEL_DIR)
    digest0 = weights_digest(model)
    tokenizer = make_tokenizer()
    prompt_ids, completion_ids, completion_mask, advantages = make_inputs()

    with tempfile.TemporaryDirectory() as tmp:
        # current logps via TRL's own batched forward (temperature 1), no grad
        probe = make_trainer(model, tokenizer, tmp, "grpo", 0.0, 0.2, None, 1.0)
        model.train()
        with torch.no_grad():
            cur, _, _ = probe._get_per_token_logps_and_entropies(
                model, torch.cat([prompt_ids, completion_ids], 1),
                torch.cat([torch.ones_like(prompt_ids), completion_mask], 1), T)
        del probe
        m = completion_mask.float()
        old_noise = torch.randn((B, T), generator=torch.Generator().manual_seed(OLD_NOISE_SEED)) * OLD_NOISE_STD
        ref_noise = torch.randn((B, T), generator=torch.Generator().manual_seed(REF_NOISE_SEED)) * REF_NOISE_STD
        old = ((cur + old_noise) * m).float()
        ref = ((cur + ref_noise) * m).float()
        shared = (prompt_ids, completion_ids, completion_mask, advantages, old, ref)

        specs = []
        for lt in ["grpo", "bnpo", "dr_grpo", "dapo"]:
            eh = 0.28 if lt == "dapo" else None
            specs.append((f"{lt}-beta0", lt, 0.0, 0.2, eh, 1.0, "given", True))
            specs.append((f"{lt}-beta0.04", lt, 0.04, 0.2, eh, 1.0, "given", True))
        specs.append(("grpo-beta0-detached", "grpo", 0.0, 0.2, None, 1.0, "detached", True))
        specs.append(("dapo-beta0.04-temp0.7", "dapo", 0.04, 0.2, 0.28, 0.7, "given", True))
        # extra: the textbook k3 KL without TRL's (default-on) importance-ratio correction
        specs.append(("grpo-beta0.04-nobiascorr", "grpo", 0.04, 0.2, None, 1.0, "given", False))

        cases = [run_case(model, tokenizer, tmp, s, shared) for s in specs]

    assert weights_digest(model) == digest0, "model weights changed"
    assert any(c["clipped_low_tokens"] > 0 and c["clipped_high_tokens"] > 0 for c in cases), \
        "clipping must bind on both sides in at least one case"
    for c in cases:
        if c["old_logps"] == "detached":
            assert c["clipped_low_tokens"] == 0 and c["clipped_high_tokens"] == 0

    out = dict(trl_version=trl.__version__, torch_version=torch.__version__,
               transformers_version=transformers.__version__, model="tiny-f32-untied",
               prompt_ids=prompt_ids.tolist(), completion_ids=completion_ids.tolist(),
               completion_mask=completion_mask.tolist(), advantages=f32list(advantages),
               old_per_token_logps=f32rows(old), ref_per_token_logps=f32rows(ref), cases=cases)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    size = os.path.getsize(args.out)
    print(f"\n{args.out}: {size} bytes")
    assert size < MAX_BYTES, size


if __name__ == "__main__":
    main()
