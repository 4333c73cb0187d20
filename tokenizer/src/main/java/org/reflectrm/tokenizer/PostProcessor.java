package org.reflectrm.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@code tokenizer.json} post-processor. Like HF it works on the list of encoded sequences (one, or two
 * for a pair) and the tokenizer concatenates what comes out. Special tokens are added only when the
 * caller asks ({@code addSpecialTokens}); Qwen3's {@code ByteLevel} processor adds none.
 */
sealed interface PostProcessor {
    List<int[]> process(List<int[]> sequences, boolean addSpecialTokens);

    /** No post-processor, and HF's {@code ByteLevel} one (it only adjusts offsets, which we do not keep). */
    record PassThrough() implements PostProcessor {
        @Override
        public List<int[]> process(List<int[]> sequences, boolean addSpecialTokens) {
            return sequences;
        }
    }

    /** One element of a template: a special token's ids, or sequence A (index 0) / B (index 1). */
    record TemplatePiece(int[] specialIds, int sequenceIndex) {
        static TemplatePiece special(int[] ids) {
            return new TemplatePiece(ids, -1);
        }

        static TemplatePiece sequence(int index) {
            return new TemplatePiece(null, index);
        }
    }

    /**
     * HF's {@code TemplateProcessing}, and {@code BertProcessing}/{@code RobertaProcessing}, which are fixed
     * templates. The template's sequences keep their template order even without special tokens.
     */
    record Template(List<TemplatePiece> single, List<TemplatePiece> pair) implements PostProcessor {
        @Override
        public List<int[]> process(List<int[]> sequences, boolean addSpecialTokens) {
            List<TemplatePiece> template = sequences.size() == 1 ? single : pair;
            IntList out = new IntList(64);
            for (TemplatePiece piece : template) {
                if (piece.specialIds() == null) {
                    out.addAll(sequences.get(piece.sequenceIndex()));
                } else if (addSpecialTokens) {
                    out.addAll(piece.specialIds());
                }
            }
            List<int[]> result = new ArrayList<>(1);
            result.add(out.toArray());
            return result;
        }
    }

    /** HF's {@code Sequence}: each processor gets what the previous one returned. */
    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public List<int[]> process(List<int[]> sequences, boolean addSpecialTokens) {
            for (PostProcessor step : steps) {
                sequences = step.process(sequences, addSpecialTokens);
            }
            return sequences;
        }
    }
}
