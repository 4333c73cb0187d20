"""Reference fixtures for org.reflectrm.tensor.optim, produced by torch and transformers.

Regenerate (CPU torch and transformers installed; the output is deterministic for a given torch):

    python3 tensor/src/test/python/make_optim_fixture.py

It writes tensor/src/test/resources/optim/:
  adamw_cosine_clip.json  torch AdamW + get_cosine_schedule_with_warmup + clip_grad_norm_(1.0)
  adamw_linear.json       torch AdamW + get_linear_schedule_with_warmup, one param without decay
  sgd_momentum.json       torch SGD(momentum 0.9, weight_decay 0.01), constant lr
  schedules.json          lr per step of transformers' warmup schedules

Every float is written as the exact double of its float32 value, so Java reads back the same bits.
The optimizers run their single-tensor (for-loop) CPU path, which is what torch uses on CPU.
"""

import json
import pathlib

import torch
from transformers import optimization as hf

torch.set_num_threads(2)

OUT = pathlib.Path(__file__).resolve().parents[1] / "resources" / "optim"
STEPS = 6
PARAMS = [  # HF-style names; shapes as the brief asks
    ("model.layers.0.mlp.up_proj.weight", (3, 5)),
    ("model.layers.0.input_layernorm.weight", (7,)),
    ("model.norm.weight", (4,)),
]
# Per-step gradient scales: the global norm of randn grads over 26 elements is about 5, so with
# max_norm 1.0 the small steps are left alone and the large ones are clipped.
GRAD_SCALES = [1.0, 0.1, 2.0, 0.05, 0.5, 0.15]


def flat(t):
    return t.detach().reshape(-1).tolist()


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    init = {n: torch.randn(s, generator=g) for n, s in PARAMS}
    grads = [{n: torch.randn(s, generator=g) * GRAD_SCALES[k] for n, s in PARAMS} for k in range(STEPS)]
    return init, grads


def run(case, seed, make_opt, make_sched, max_grad_norm=None, no_decay=()):
    init, grads = make_inputs(seed)
    params = {n: torch.nn.Parameter(init[n].clone()) for n, _ in PARAMS}
    decay = [params[n] for n, _ in PARAMS if n not in no_decay]
    keep = [params[n] for n, _ in PARAMS if n in no_decay]
    opt = make_opt(decay, keep)
    sched = make_sched(opt)
    steps = []
    for k in range(STEPS):
        for n, _ in PARAMS:
            params[n].grad = grads[k][n].clone()
        plist = [params[n] for n, _ in PARAMS]
        if max_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(plist, max_grad_norm)
        else:
            norm = torch.nn.utils.get_total_norm([p.grad for p in plist])
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        steps.append({
            "lr": lr,
            "grad_norm": float(norm),
            "params": {n: flat(params[n]) for n, _ in PARAMS},
        })
    doc = dict(case)
    doc.update({
        "max_grad_norm": max_grad_norm,
        "no_decay": list(no_decay),
        "param_names": [n for n, _ in PARAMS],
        "shapes": {n: list(s) for n, s in PARAMS},
        "init": {n: flat(init[n]) for n, _ in PARAMS},
        "grads": [{n: flat(grads[k][n]) for n, _ in PARAMS} for k in range(STEPS)],
        "steps": steps,
    })
    (OUT / f"{case['name']}.json").write_text(json.dumps(doc, indent=1) + "\n")


def adamw(lr, betas, eps, wd):
    def make(decay, keep):
        groups = [{"params": decay}]
        if keep:
            groups.append({"params": keep, "weight_decay": 0.0})
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, weight_decay=wd, foreach=False)
    return make


def schedules():
    """lr after each scheduler step, exactly as a trainer sees it: step k uses get_last_lr() before step k+1."""
    cases = [
        ("constant", {}, lambda o: hf.get_constant_schedule(o), 6),
        ("constant_with_warmup", {"warmup": 3}, lambda o: hf.get_constant_schedule_with_warmup(o, 3), 8),
        ("cosine_with_warmup", {"warmup": 3, "total": 10},
         lambda o: hf.get_cosine_schedule_with_warmup(o, 3, 10), 13),
        ("cosine_with_warmup", {"warmup": 0, "total": 7},
         lambda o: hf.get_cosine_schedule_with_warmup(o, 0, 7), 9),
        ("cosine_with_warmup", {"warmup": 2, "total": 9, "num_cycles": 1.5},
         lambda o: hf.get_cosine_schedule_with_warmup(o, 2, 9, num_cycles=1.5), 12),
        ("linear_with_warmup", {"warmup": 3, "total": 10},
         lambda o: hf.get_linear_schedule_with_warmup(o, 3, 10), 13),
        ("linear_with_warmup", {"warmup": 0, "total": 5},
         lambda o: hf.get_linear_schedule_with_warmup(o, 0, 5), 7),
    ]
    base_lr = 3e-4
    out = []
    for kind, args, make, n in cases:
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
        sched = make(opt)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out.append({"kind": kind, "base_lr": base_lr, **args, "lrs": lrs})
    (OUT / "schedules.json").write_text(json.dumps({"schedules": out}, indent=1) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    run({"name": "adamw_cosine_clip", "optimizer": "adamw", "lr": 0.05, "betas": [0.9, 0.95], "eps": 1e-8,
         "weight_decay": 0.1, "schedule": {"kind": "cosine_with_warmup", "warmup": 2, "total": 6}},
        seed=1, make_opt=adamw(0.05, (0.9, 0.95), 1e-8, 0.1),
        make_sched=lambda o: hf.get_cosine_schedule_with_warmup(o, 2, 6), max_grad_norm=1.0)
    run({"name": "adamw_linear", "optimizer": "adamw", "lr": 0.05, "betas": [0.9, 0.95], "eps": 1e-8,
         "weight_decay": 0.1, "schedule": {"kind": "linear_with_warmup", "warmup": 2, "total": 6}},
        seed=2, make_opt=adamw(0.05, (0.9, 0.95), 1e-8, 0.1),
        make_sched=lambda o: hf.get_linear_schedule_with_warmup(o, 2, 6),
        no_decay=("model.norm.weight",))
    run({"name": "sgd_momentum", "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01,
         "schedule": {"kind": "constant"}},
        seed=3, make_opt=lambda d, k: torch.optim.SGD(d, lr=0.1, momentum=0.9, weight_decay=0.01, foreach=False),
        make_sched=hf.get_constant_schedule)
    schedules()


if __name__ == "__main__":
    main()
