package org.reflectrm.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The demo judge's recipe: the sizes and settings of every {@code demo reproduce} phase, as the
 * command lines a user would type. {@link #FULL} made the shipped demo (docs/toy-world.md);
 * {@link #QUICK} runs the same chain at a fraction of the sizes in a few minutes, for CI.
 */
record DemoRecipe(String name, int sftPairs, int rlPairs, int heldOutPairs, int sftSteps, int sftWarmup, int grpoSteps,
                  int reflectPairs, int rsSftSteps) {
    static final DemoRecipe FULL = new DemoRecipe("full", 40000, 2000, 1000, 2000, 50, 120, 1000, 150);
    // Enough base SFT for parseable verdicts (the later phases need some right and some wrong).
    static final DemoRecipe QUICK = new DemoRecipe("quick", 8000, 64, 100, 160, 20, 4, 30, 10);

    /** A phase: a name, what it does, and its command lines (built when it starts, so a resume sees the files). */
    record Phase(String name, String describe, Supplier<List<List<String>>> lines) {
        List<List<String>> commands() {
            return lines.get();
        }
    }

    /** One row of the results table: an eval run of a trained model in a judging mode. */
    record System(String label, String evalDir) {
    }

    List<System> systems() {
        return List.of(new System("Base (SFT), greedy", "eval/base-greedy"),
                new System("RFT (GRPO, Pref only), greedy", "eval/rft-greedy"),
                new System("Rejection-sampling SFT, greedy", "eval/rs-sft-greedy"),
                new System("Unified GRPO, greedy", "eval/unified-greedy"),
                new System("Unified GRPO + two-stage", "eval/unified-reflect"));
    }

    List<Phase> phases(Path out, long seed, Integer threads) {
        String d = out.toString();
        String s = Long.toString(seed);
        List<String> threading = threads == null ? List.of() : List.of("--threads", threads.toString());
        List<Phase> p = new ArrayList<>();
        p.add(new Phase("data", "the toy world's pairs, the teacher's SFT data and the tokenizer", () -> List.of(List.of(
                "demo", "data", "--out", d + "/data", "--seed", s, "--train-pairs", str(sftPairs),
                "--rl-pairs", str(rlPairs), "--held-out-pairs", str(heldOutPairs)))));
        p.add(new Phase("init", "a toy Qwen3 (0.85M parameters) with random weights", () -> List.of(List.of(
                "init", "--preset", "toy", "--tokenizer", d + "/data/tokenizer", "--dtype", "f32", "--seed", s,
                "--out", d + "/init", "--force"))));
        p.add(new Phase("base-sft", "base SFT on the teacher's judgments, from random weights", () -> List.of(
                resumable(out.resolve("base"), join(List.of("train", "sft", "--model", d + "/init",
                        "--data", d + "/data/sft.jsonl", "--out", d + "/base", "--max-len", "512", "--batch", "64",
                        "--steps", str(sftSteps), "--lr", "2e-3", "--schedule", "cosine", "--warmup", str(sftWarmup),
                        "--save-every", "100", "--seed", s), threading)))));
        p.add(new Phase("sample", "8 sampled judgments per RL pair from the base model", () -> List.of(join(List.of(
                "data", "sample", "--model", d + "/base", "--input", d + "/data/pairs-rl.jsonl",
                "--output", d + "/samples.jsonl", "--n", "8", "--max-new-tokens", "96", "--batch-pairs", "16",
                "--seed", s), threading))));
        p.add(new Phase("build", "Pref/Refl data (unified), Pref only (RFT) and the rejection-sampling SFT set", () -> List.of(
                List.of("data", "build", "--samples", d + "/samples.jsonl", "--out", d + "/unified.jsonl",
                        "--stats", d + "/unified-stats.json", "--seed", s),
                List.of("data", "build", "--samples", d + "/samples.jsonl", "--out", d + "/rft.jsonl", "--pref-only",
                        "--seed", s),
                List.of("data", "build", "--samples", d + "/samples.jsonl", "--out", d + "/rs-sft.jsonl",
                        "--format", "sft", "--seed", s))));
        p.add(new Phase("rft", "GRPO on Pref records only (the RFT baseline)", () -> List.of(grpo(d, "rft", s, threading))));
        p.add(new Phase("unified", "unified GRPO on Pref and Refl records", () -> List.of(grpo(d, "unified", s, threading))));
        p.add(new Phase("rs-sft", "SFT on the base model's correct judgments and reflections (a variant)", () -> List.of(
                resumable(out.resolve("rs-sft"), join(List.of("train", "sft", "--model", d + "/base",
                        "--data", d + "/rs-sft.jsonl", "--out", d + "/rs-sft", "--max-len", "512", "--batch", "32",
                        "--steps", str(rsSftSteps), "--lr", "2e-4", "--schedule", "cosine", "--save-every", "50",
                        "--seed", s), threading)))));
        p.add(evalPhase(d, s, threading, "base", "greedy", heldOutPairs));
        p.add(evalPhase(d, s, threading, "rft", "greedy", heldOutPairs));
        p.add(evalPhase(d, s, threading, "rs-sft", "greedy", heldOutPairs));
        p.add(evalPhase(d, s, threading, "unified", "greedy", heldOutPairs));
        p.add(evalPhase(d, s, threading, "unified", "reflect", reflectPairs));
        p.add(new Phase("report", "the runs side by side in report.html", () -> {
            List<String> compare = new ArrayList<>(List.of("eval", "--out", d, "--compare"));
            systems().forEach(sys -> compare.add(d + "/" + sys.evalDir()));
            return List.of(compare);
        }));
        return p;
    }

    private List<String> grpo(String d, String name, String s, List<String> threading) {
        return resumable(Path.of(d, name), join(List.of("train", "grpo", "--model", d + "/base",
                "--data", d + "/" + name + ".jsonl", "--out", d + "/" + name, "--steps", str(grpoSteps),
                "--group", "8", "--prompts-per-step", "16", "--lr", "5e-5", "--beta", "0.04", "--max-new-tokens", "96",
                "--save-every", "20", "--seed", s), threading));
    }

    private static Phase evalPhase(String d, String s, List<String> threading, String model, String mode, int pairs) {
        String name = "eval-" + model + "-" + mode;
        return new Phase(name, mode + " judgments of " + model + " on " + pairs + " held-out pairs, both orders",
                () -> List.of(join(List.of("eval", "--model", d + "/" + model, "--benchmark", "pairs",
                        "--data", d + "/data/pairs-heldout.jsonl", "--out", d + "/eval/" + model + "-" + mode,
                        "--mode", mode, "--limit", str(pairs), "--max-new-tokens", "96", "--batch-pairs", "16",
                        "--seed", s), threading)));
    }

    /** A training command that resumes the run already saved in its folder. */
    private static List<String> resumable(Path dir, List<String> args) {
        return Files.isRegularFile(dir.resolve("trainer_state").resolve("state.json")) ? join(args, List.of("--resume")) : args;
    }

    private static List<String> join(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static String str(int n) {
        return Integer.toString(n);
    }
}
