package org.reflectrm.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link BpeTrainer.Result} as {@code tokenizer.json}, with HF's field order and the layout of Python's
 * {@code json.dump(data, f, ensure_ascii=False, indent=1)} plus a final newline, so that a file made here and
 * one made by HF with the same vocabulary are the same bytes.
 */
final class TokenizerJsonWriter {
    private TokenizerJsonWriter() {
    }

    static String write(BpeTrainer.Result bpe) {
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("version", "1.0");
        top.put("truncation", null);
        top.put("padding", null);
        List<Object> added = new ArrayList<>();
        for (AddedToken t : bpe.addedTokens()) {
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("id", t.id());
            a.put("content", t.content());
            a.put("single_word", t.singleWord());
            a.put("lstrip", t.lstrip());
            a.put("rstrip", t.rstrip());
            a.put("normalized", t.normalized());
            a.put("special", t.special());
            added.add(a);
        }
        top.put("added_tokens", added);
        top.put("normalizer", Map.of("type", "NFC"));
        Map<String, Object> pattern = Map.of("Regex", bpe.splitRegex());
        Map<String, Object> split = new LinkedHashMap<>();
        split.put("type", "Split");
        split.put("pattern", pattern);
        split.put("behavior", "Isolated");
        split.put("invert", false);
        Map<String, Object> byteLevel = new LinkedHashMap<>();
        byteLevel.put("type", "ByteLevel");
        byteLevel.put("add_prefix_space", false);
        byteLevel.put("trim_offsets", false);
        byteLevel.put("use_regex", false);
        Map<String, Object> pre = new LinkedHashMap<>();
        pre.put("type", "Sequence");
        pre.put("pretokenizers", List.of(split, byteLevel));
        top.put("pre_tokenizer", pre);
        top.put("post_processor", null);
        // What HF's Python decoders.ByteLevel(...) serializes to, whatever its arguments; decoding ignores them.
        Map<String, Object> decoder = new LinkedHashMap<>();
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);
        top.put("decoder", decoder);
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("dropout", null);
        model.put("unk_token", null);
        model.put("continuing_subword_prefix", null);
        model.put("end_of_word_suffix", null);
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        model.put("ignore_merges", false);
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int id = 0; id < bpe.vocab().size(); id++) {
            vocab.put(bpe.vocab().get(id), id);
        }
        model.put("vocab", vocab);
        List<Object> merges = new ArrayList<>();
        for (String[] m : bpe.merges()) {
            merges.add(List.of(m[0], m[1]));
        }
        model.put("merges", merges);
        top.put("model", model);
        StringBuilder out = new StringBuilder(1 << 16);
        value(out, top, 0);
        return out.append('\n').toString();
    }

    private static void value(StringBuilder out, Object v, int depth) {
        switch (v) {
            case null -> out.append("null");
            case String s -> string(out, s);
            case Boolean b -> out.append(b);
            case Integer i -> out.append(i);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    out.append(first ? "\n" : ",\n").append(" ".repeat(depth + 1));
                    first = false;
                    string(out, (String) e.getKey());
                    out.append(": ");
                    value(out, e.getValue(), depth + 1);
                }
                out.append('\n').append(" ".repeat(depth)).append('}');
            }
            case List<?> list -> {
                if (list.isEmpty()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                boolean first = true;
                for (Object e : list) {
                    out.append(first ? "\n" : ",\n").append(" ".repeat(depth + 1));
                    first = false;
                    value(out, e, depth + 1);
                }
                out.append('\n').append(" ".repeat(depth)).append(']');
            }
            default -> throw new IllegalArgumentException("not a JSON value: " + v.getClass());
        }
    }

    /** Python's {@code json} string escaping with {@code ensure_ascii=False}. */
    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
