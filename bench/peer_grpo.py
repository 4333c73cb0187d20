#!/usr/bin/env python3
"""The peer measurement for `reflectrm-j train grpo`: TRL's GRPOTrainer on the same model, data and settings (CPU),
timed per step, printed as one JSON object.

    python3 -m pip install torch transformers trl peft datasets
    python3 bench/peer_grpo.py --write-data grpo.jsonl
    python3 bench/peer_grpo.py --model DIR --data grpo.jsonl --threads 2 --group 8 --prompts-per-step 2 \
        --max-completion-length 64 --steps 4 [--lora-rank 8 --lora-alpha 16 --dtype bfloat16] \
        [--rollouts ROLLOUTS.jsonl]

--write-data writes GRPO records in the format `data build --format grpo` writes and `train grpo` reads: the v1
response-preference judge template filled with a short question and two short answers, wrapped as TRL's
conversational prompt, so both tools read the same file.

The trainer: GRPOConfig with per_device_train_batch_size = prompts-per-step x group, gradient_accumulation_steps 1,
steps_per_generation 1, num_iterations 1, loss_type dapo, beta 0 (no reference model), temperature 1.0, top_p 1.0,
top_k 0, lr 1e-5 (linear decay, no warmup, AdamW, weight decay 0, clip 1.0, as reflectrm-j's defaults),
gradient_checkpointing off (GRPOConfig turns it on by default; reflectrm-j runs without it unless asked),
bf16/fp16 mixed precision off (the model runs in --dtype), chat_template_kwargs {"enable_thinking": False} (the
judge's generation prompt). The reward is the judge's: 1 when the last <Result>...</Result> of the completion is
exactly "Response {label} is better than Response {3-label}", else 0.

What is timed, per optimizer step:
  step_s:  Trainer callback on_step_begin -> on_step_end: training_step (which generates through _prepare_inputs,
           then computes the loss and runs backward), gradient clipping, optimizer.step, lr_scheduler.step,
           zero_grad. Logging and the data loader's fetch of the next batch fall outside.
  gen_s:   GRPOTrainer._generate_and_score_completions: chat-template tokenization, model.generate (sampling),
           decoding, the reward function, advantages, padding. With beta 0, num_iterations 1 and
           steps_per_generation 1 it runs no extra log-probability pass (TRL computes old/ref log-probs only when
           generation and update are misaligned or beta > 0). generate_s is model.generate alone
           (_generate_single_turn).
  train_s: step_s - gen_s: the loss forward (one padded batch of prompt+completion), backward, clip, optimizer.
Tokens: gen_tokens_per_s = completion tokens (EOS included, as TRL's completion_mask counts them) / gen_s;
train_tokens_per_s = unpadded prompt + completion tokens of all rollouts / train_s (TRL pads to the longest
prompt and completion, so it computes more than it counts). The first step is warm-up; medians are over the rest.

--rollouts takes reflectrm-j's --log-rollouts file and checks that TRL's tokenization of every data prompt (through
the trainer's own _tokenize_prompts) equals reflectrm-j's prompt_ids for that prompt_index.
"""
import argparse
import contextlib
import json
import os
import re
import sys
import statistics
import tempfile
import time
import warnings

QUESTIONS = [
    ("What is the capital of France?", "Paris.", "Lyon."),
    ("How many legs does a spider have?", "Eight.", "Six."),
    ("What is 7 times 8?", "56", "54"),
    ("Which planet is closest to the sun?", "Mercury.", "Venus."),
    ("What gas do plants take in?", "Carbon dioxide.", "Oxygen."),
    ("Who wrote Hamlet?", "Shakespeare.", "Dickens."),
    ("What is the boiling point of water at sea level?", "100 degrees Celsius.", "90 degrees Celsius."),
    ("How many days are in a leap year?", "366.", "365."),
]


def write_data(path, template_path, n):
    with open(template_path, encoding="utf-8") as f:
        template = f.read()
    with open(path, "w", encoding="utf-8") as out:
        for i in range(n):
            q, good, bad = QUESTIONS[i % len(QUESTIONS)]
            label = 1 if i % 2 == 0 else 2          # the better response sits in slot `label`
            r1, r2 = (good, bad) if label == 1 else (bad, good)
            rendered = template.replace("{context}", q).replace("{response_1}", r1).replace("{response_2}", r2)
            out.write(json.dumps({"task": "pref", "prompt": [{"role": "user", "content": rendered}],
                                  "verdict_kind": "response", "label": label, "template_version": "v1",
                                  "pair_id": f"p{i}", "order": "AB" if label == 1 else "BA"},
                                 ensure_ascii=False) + "\n")


RESULT = re.compile(r"<Result>(.*?)</Result>", re.S)


def verdict_reward(completions, label, **kwargs):
    """1 when the last <Result> names the better response (the judge's exact sentence), else 0."""
    rewards = []
    for completion, lab in zip(completions, label):
        text = completion[0]["content"] if isinstance(completion, list) else completion
        found = RESULT.findall(text)
        want = f"Response {lab} is better than Response {3 - lab}"
        rewards.append(1.0 if found and found[-1].strip() == want else 0.0)
    return rewards


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write-data", metavar="FILE", help="write the benchmark's GRPO data file and exit")
    ap.add_argument("--template", default="model/src/main/resources/org/reflectrm/model/judge/templates/v1/response.txt")
    ap.add_argument("--records", type=int, default=8)
    ap.add_argument("--model")
    ap.add_argument("--data")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--group", type=int, default=8)
    ap.add_argument("--prompts-per-step", type=int, default=2)
    ap.add_argument("--max-completion-length", type=int, default=64)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-5)
    ap.add_argument("--lora-rank", type=int, default=0)
    ap.add_argument("--lora-alpha", type=float, default=None, help="default 2 x rank, as reflectrm-j")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                    help="dtype the model is loaded and run in")
    ap.add_argument("--attn", default="sdpa", help="attention implementation (eager|sdpa)")
    ap.add_argument("--rollouts", help="reflectrm-j --log-rollouts file: compare its prompt_ids with TRL's")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    if args.write_data:
        write_data(args.write_data, args.template, args.records)
        return
    if not args.model or not args.data:
        ap.error("--model and --data are required")

    warnings.filterwarnings("ignore")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import datasets
    import torch
    import transformers
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)

    records = {"step_s": [], "gen_s": [], "generate_s": [], "gen_tokens": [], "prompt_tokens": [],
               "completion_len_mean": [], "rollouts": [], "reward_mean": []}
    used_prompt_ids = []

    class TimedGRPOTrainer(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            t0 = time.perf_counter()
            out = super()._generate_and_score_completions(inputs)
            records["gen_s"].append(time.perf_counter() - t0)
            cm, pm = out["completion_mask"], out["prompt_mask"]
            records["gen_tokens"].append(int(cm.sum()))
            records["prompt_tokens"].append(int(pm.sum()))
            records["rollouts"].append(int(cm.shape[0]))
            records["completion_len_mean"].append(float(cm.sum(dim=1).float().mean()))
            return out

        def _generate_single_turn(self, *a, **kw):
            t0 = time.perf_counter()
            out = super()._generate_single_turn(*a, **kw)
            records["generate_s"].append(time.perf_counter() - t0)
            return out

        def _tokenize_prompts(self, prompts):
            out = super()._tokenize_prompts(prompts)
            used_prompt_ids.extend([list(map(int, ids)) for ids in out[0]])
            return out

        def _calculate_rewards(self, *a, **kw):
            rewards = super()._calculate_rewards(*a, **kw)
            records["reward_mean"].append(float(rewards.float().mean()))
            return rewards

    class StepTimer(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.t0 = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            records["step_s"].append(time.perf_counter() - self.t0)

    dtype = getattr(torch, args.dtype)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation=args.attn)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    peft_config = None
    if args.lora_rank:
        from peft import LoraConfig
        peft_config = LoraConfig(r=args.lora_rank, lora_alpha=args.lora_alpha or 2 * args.lora_rank,
                                 lora_dropout=0.0, target_modules="all-linear", bias="none", task_type="CAUSAL_LM")
    dataset = datasets.load_dataset("json", data_files=args.data, split="train")
    batch = args.prompts_per_step * args.group
    with tempfile.TemporaryDirectory() as out_dir:
        config = GRPOConfig(
            output_dir=out_dir, per_device_train_batch_size=batch, gradient_accumulation_steps=1,
            steps_per_generation=1, num_iterations=1, num_generations=args.group,
            max_completion_length=args.max_completion_length, temperature=1.0, top_p=1.0, top_k=0,
            loss_type="dapo", beta=0.0, scale_rewards="group", epsilon=0.2, learning_rate=args.lr,
            lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, max_steps=args.steps,
            gradient_checkpointing=False, bf16=False, fp16=False, use_cpu=True, report_to="none",
            save_strategy="no", logging_steps=1, disable_tqdm=True, seed=args.seed, dataloader_num_workers=0,
            chat_template_kwargs={"enable_thinking": False}, log_completions=False)
        trainer = TimedGRPOTrainer(model=model, reward_funcs=verdict_reward, args=config, train_dataset=dataset,
                                   processing_class=tokenizer, peft_config=peft_config, callbacks=[StepTimer()])
        threads_after_init = torch.get_num_threads()
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):     # the Trainer prints its log dicts: keep stdout JSON only
            trainer.train()
        wall = time.perf_counter() - t0

        prompt_check = None
        if args.rollouts:
            data_rows = [json.loads(line) for line in open(args.data, encoding="utf-8") if line.strip()]
            trl_ids = trainer._tokenize_prompts([r["prompt"] for r in data_rows])[0]
            trl_ids = [list(map(int, ids)) for ids in trl_ids]
            checked, mismatched = set(), []
            for line in open(args.rollouts, encoding="utf-8"):
                r = json.loads(line)
                i = r["prompt_index"]
                if i in checked:
                    continue
                checked.add(i)
                if r["prompt_ids"] != trl_ids[i]:
                    ours = r["prompt_ids"]
                    at = next((k for k, (a, b) in enumerate(zip(ours, trl_ids[i])) if a != b), min(len(ours), len(trl_ids[i])))
                    mismatched.append({"prompt_index": i, "reflectrm_len": len(ours), "trl_len": len(trl_ids[i]),
                                       "first_difference_at": at})
            prompt_check = {"prompts_checked": len(checked), "equal": len(checked) - len(mismatched),
                            "mismatches": mismatched,
                            "trl_prompt_lens": sorted({len(x) for x in trl_ids})}

    trainable = [p for p in trainer.model.parameters() if p.requires_grad]
    param_dtypes = sorted({str(p.dtype).replace("torch.", "") for p in trainable})
    n = min(len(records["step_s"]), len(records["gen_s"]))
    steps = []
    for i in range(n):
        train_s = records["step_s"][i] - records["gen_s"][i]
        train_tokens = records["gen_tokens"][i] + records["prompt_tokens"][i]
        steps.append({"step": i + 1, "step_s": records["step_s"][i], "gen_s": records["gen_s"][i],
                      "generate_s": records["generate_s"][i], "train_s": train_s,
                      "gen_tokens": records["gen_tokens"][i], "train_tokens": train_tokens,
                      "gen_tokens_per_s": records["gen_tokens"][i] / records["gen_s"][i],
                      "train_tokens_per_s": train_tokens / train_s,
                      "completion_len_mean": records["completion_len_mean"][i],
                      "prompt_len_mean": records["prompt_tokens"][i] / records["rollouts"][i],
                      "reward_mean": records["reward_mean"][i]})
    timed = steps[1:] if len(steps) > 1 else steps
    result = {
        "peer": f"trl {trl.__version__} GRPOTrainer / transformers {transformers.__version__} / torch {torch.__version__}",
        "model": args.model, "dtype": args.dtype, "attn": args.attn, "threads": args.threads,
        "threads_seen": threads_after_init, "lora_rank": args.lora_rank,
        "lora_alpha": (args.lora_alpha or 2 * args.lora_rank) if args.lora_rank else None,
        "trainable_params": sum(p.numel() for p in trainable), "trainable_dtype": ",".join(param_dtypes),
        "group": args.group, "prompts_per_step": args.prompts_per_step,
        "max_completion_length": args.max_completion_length, "steps": n, "warmup_steps_dropped": len(steps) - len(timed),
        "train_wall_s": wall,
    }
    for key in ("step_s", "gen_s", "generate_s", "train_s", "gen_tokens_per_s", "train_tokens_per_s",
                "completion_len_mean", "prompt_len_mean"):
        result[key] = median([s[key] for s in timed])
    result["per_step"] = steps
    if prompt_check is not None:
        result["prompt_ids_check"] = prompt_check
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
