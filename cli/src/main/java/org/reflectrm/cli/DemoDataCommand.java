package org.reflectrm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.reflectrm.model.BadInputException;
import org.reflectrm.model.safetensors.AtomicFiles;
import org.reflectrm.reflect.toy.ToyDomain;
import org.reflectrm.reflect.toy.ToyJsonl;
import org.reflectrm.reflect.toy.ToyTeacher;
import org.reflectrm.tokenizer.AddedToken;
import org.reflectrm.tokenizer.BpeTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code reflectrm-j demo data}: the toy world's files from a seed: labelled pairs (train and
 * held-out), the imperfect teacher's SFT data, and a byte-level BPE tokenizer trained on that
 * data in Java, in Qwen3's tokenizer.json format with its chat template.
 */
@Command(name = "data", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write the toy world's data and tokenizer to --out: pairs-train.jsonl and pairs-heldout.jsonl "
                + "(the project's pair format, for eval), pairs-rl.jsonl (more training pairs, for data sample and GRPO), sft.jsonl (the teacher's judge-format answers, "
                + "some slipped, reflection examples, and fact examples: questions answered with the working alone; for train sft), and tokenizer/ (tokenizer.json trained on the "
                + "SFT texts, tokenizer_config.json with Qwen3's chat template: init --preset tiny --tokenizer uses it).",
                "The same seed gives the same files."})
final class DemoDataCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
    Path out;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of the domain and the teacher (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--train-pairs", paramLabel = "N", defaultValue = "4000", description = "Training pairs (default ${DEFAULT-VALUE}).")
    int trainPairs;

    @Option(names = "--rl-pairs", paramLabel = "N", defaultValue = "2000", description = "Further training-split pairs, "
            + "not in the SFT data, for self-sampling and GRPO: pairs-rl.jsonl (default ${DEFAULT-VALUE}).")
    int rlPairs;

    @Option(names = "--held-out-pairs", paramLabel = "N", defaultValue = "1000", description = "Held-out pairs (default ${DEFAULT-VALUE}).")
    int heldOutPairs;

    @Option(names = "--reflection-fraction", paramLabel = "F", defaultValue = "0.3", description = "Share of SFT examples that are reflection judgments (default ${DEFAULT-VALUE}).")
    double reflectionFraction;

    @Option(names = "--fact-fraction", paramLabel = "F", defaultValue = "0.25", description = "Share of training pairs "
            + "that also give a fact example: the question asked plainly, answered with the working alone (What is 7+5? -> 7+5=12); "
            + "the toy's stand-in for what a real judge's base model knows (default ${DEFAULT-VALUE}).")
    double factFraction;

    @Option(names = "--vocab", paramLabel = "V", defaultValue = "500", description = "Tokenizer vocabulary before the added tokens (default ${DEFAULT-VALUE}; "
            + "--split llama3 needs about 800 for every two-digit number to become one token).")
    int vocab;

    /** The tokenizer's pre-tokenizer: how text is cut before BPE merges within the pieces. */
    enum Split {
        /** Qwen2/Qwen3's: every digit its own piece, so 12 is two tokens. */
        qwen2(BpeTrainer.QWEN2_SPLIT_REGEX),
        /** Llama 3's: runs of up to three digits stay one piece, so BPE can make 12 one token. */
        llama3(BpeTrainer.LLAMA3_SPLIT_REGEX);

        final String regex;

        Split(String regex) {
            this.regex = regex;
        }
    }

    @Option(names = "--split", paramLabel = "S", defaultValue = "qwen2", description = "The tokenizer's pre-tokenizer: "
            + "qwen2 cuts every digit apart, as Qwen3 does; llama3 keeps up to three digits in one piece, so a number "
            + "can be one token (tried for the demo: a weaker judge, see docs/toy-world.md) (default ${DEFAULT-VALUE}).")
    Split split;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (trainPairs < 1 || heldOutPairs < 1 || rlPairs < 0) {
            throw new BadInputException("--train-pairs and --held-out-pairs must be at least 1, --rl-pairs at least 0");
        }
        if (!(reflectionFraction >= 0 && reflectionFraction <= 1)) {
            throw new BadInputException("--reflection-fraction must be in [0, 1], got " + reflectionFraction);
        }
        if (!(factFraction >= 0 && factFraction <= 1)) {
            throw new BadInputException("--fact-fraction must be in [0, 1], got " + factFraction);
        }
        if (vocab < 300) {
            throw new BadInputException("--vocab must be at least 300 (256 bytes, the specials and some merges), got " + vocab);
        }
        ToyDomain domain = new ToyDomain(seed);
        // One stream of training-split pairs: the first ones teach SFT, the rest are the RL prompts.
        List<ToyDomain.Pair> trainSplit = domain.pairs(ToyDomain.Split.TRAIN, trainPairs + rlPairs);
        List<ToyDomain.Pair> train = trainSplit.subList(0, trainPairs);
        List<ToyDomain.Pair> rl = trainSplit.subList(trainPairs, trainSplit.size());
        List<ToyDomain.Pair> heldOut = domain.pairs(ToyDomain.Split.HELD_OUT, heldOutPairs);
        List<ToyTeacher.Example> sft = new ToyTeacher(seed).sft(train, reflectionFraction, factFraction);
        Files.createDirectories(out.resolve("tokenizer"));
        AtomicFiles.write(out.resolve("pairs-train.jsonl"), jsonl(train, ToyJsonl::pairLine));
        AtomicFiles.write(out.resolve("pairs-rl.jsonl"), jsonl(rl, ToyJsonl::pairLine));
        AtomicFiles.write(out.resolve("pairs-heldout.jsonl"), jsonl(heldOut, ToyJsonl::pairLine));
        AtomicFiles.write(out.resolve("sft.jsonl"), jsonl(sft, ToyJsonl::sftLine));
        List<String> corpus = new ArrayList<>();
        for (ToyTeacher.Example e : sft) {
            corpus.add(e.prompt());
            corpus.add(e.target());
        }
        BpeTrainer.Result tokenizer = BpeTrainer.qwen3Style(vocab, split.regex).train(corpus);
        AtomicFiles.write(out.resolve("tokenizer/tokenizer.json"), tokenizer.toJson().getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(out.resolve("tokenizer/tokenizer_config.json"), tokenizerConfig(tokenizer.addedTokens()));
        long reflections = sft.stream().filter(e -> e.kind().equals("refl")).count();
        long facts = sft.stream().filter(e -> e.kind().equals("fact")).count();
        spec.commandLine().getErr().printf("demo data: %d train, %d RL and %d held-out pairs, %d SFT examples (%d reflection, %d fact), "
                        + "a %d-token tokenizer, in %s%n", train.size(), rl.size(), heldOut.size(), sft.size(), reflections, facts,
                tokenizer.tokenizer().vocabSize(), out);
        return 0;
    }

    private static <T> byte[] jsonl(List<T> records, java.util.function.Function<T, String> line) {
        StringBuilder b = new StringBuilder();
        records.forEach(r -> b.append(line.apply(r)).append('\n'));
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Qwen3's tokenizer_config.json (its chat template and special-token names) with this vocabulary's added tokens. */
    private static byte[] tokenizerConfig(List<AddedToken> added) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode qwen3;
        try (InputStream in = DemoDataCommand.class.getResourceAsStream("/org/reflectrm/tokenizer/qwen3/tokenizer_config.json")) {
            qwen3 = (ObjectNode) json.readTree(in);
        }
        ObjectNode config = json.createObjectNode();
        for (String key : List.of("add_bos_token", "add_prefix_space", "bos_token", "chat_template",
                "clean_up_tokenization_spaces", "eos_token", "errors", "pad_token", "split_special_tokens",
                "tokenizer_class", "unk_token")) {
            config.set(key, qwen3.get(key));
        }
        config.put("model_max_length", 1024);
        config.putArray("additional_special_tokens").add("<|im_start|>").add("<|im_end|>");
        ObjectNode decoder = config.putObject("added_tokens_decoder");
        for (AddedToken t : added) {
            decoder.putObject(Integer.toString(t.id())).put("content", t.content()).put("lstrip", t.lstrip())
                    .put("normalized", t.normalized()).put("rstrip", t.rstrip()).put("single_word", t.singleWord())
                    .put("special", t.special());
        }
        return (json.writerWithDefaultPrettyPrinter().writeValueAsString(config) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
