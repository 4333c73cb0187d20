package org.reflectrm.kernels.cpu;

import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.reflectrm.kernels.AttentionShape;
import org.reflectrm.kernels.Bf16;
import org.reflectrm.kernels.CacheAttention;
import org.reflectrm.kernels.DType;

/**
 * Many sequences' attention in one call ({@link CpuBackend#attention(List)}): every sequence gets
 * the bits its own call gives (itself checked against a double-precision reference in
 * {@link AttentionTest} and {@link PrefixAttentionTest}), with and without shared prefixes, on
 * the per-row path and the blocked one. A BF16 cache gives the bits an F32 cache holding the
 * same (rounded) values gives. The caches' slots past what a sequence may read hold NaN.
 */
class BatchedAttentionTest {
    private static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    /** One sequence: tokens, shared prefix length (0 for none), first query position. */
    private record Seq(int tokens, int prefix, int start) {
    }

    private static final Seq[] BATCH = {
        new Seq(1, 0, 9), new Seq(1, 40, 70), new Seq(3, 64, 64), new Seq(20, 0, 5), new Seq(1, 17, 17),
        new Seq(2, 0, 130), new Seq(17, 30, 33)};

    @ParameterizedTest(name = "kv={0}")
    @ValueSource(strings = {"F32", "BF16"})
    void aBatchGivesEachSequenceItsOwnCallsBits(String kv) {
        DType kvType = DType.valueOf(kv);
        int heads = 8, kvHeads = 2, d = 64;
        int stride = kvHeads * d;
        float scale = (float) (1 / Math.sqrt(d));
        Random rnd = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            int rows = Arrays.stream(BATCH).mapToInt(Seq::tokens).sum();
            MemorySegment q = Ref.f32(arena, Ref.gaussian(rnd, rows * heads * d), 3);
            MemorySegment batched = Ref.f32(arena, new float[rows * heads * d], 0);
            List<CacheAttention> calls = new ArrayList<>();
            List<float[]> alone = new ArrayList<>();
            int row = 0;
            for (Seq s : BATCH) {
                int keys = s.start() + s.tokens();
                // Keys and values rounded to BF16 either way, so both cache types hold the same values.
                float[] k = rounded(Ref.gaussian(rnd, keys * stride)), v = rounded(Ref.gaussian(rnd, keys * stride));
                float[] pk = Ref.nanPadded(Arrays.copyOf(k, s.prefix() * stride), 2 * stride);
                float[] pv = Ref.nanPadded(Arrays.copyOf(v, s.prefix() * stride), 2 * stride);
                float[] ok = Ref.nanPadded(Arrays.copyOfRange(k, s.prefix() * stride, keys * stride), 3 * stride);
                float[] ov = Ref.nanPadded(Arrays.copyOfRange(v, s.prefix() * stride, keys * stride), 3 * stride);
                AttentionShape shape = new AttentionShape(s.tokens(), s.start(), heads, kvHeads, d, scale);
                long qOff = 3 + (long) row * heads * d;
                // The sequence alone, on F32 caches, through the one-sequence entry points.
                MemorySegment out = Ref.f32(arena, new float[s.tokens() * heads * d], 0);
                if (s.prefix() == 0) {
                    backend.attention(q, qOff, Ref.f32(arena, ok, 0), 0, Ref.f32(arena, ov, 0), 0, out, 0, shape);
                } else {
                    backend.attention(q, qOff, Ref.f32(arena, pk, 0), 0, Ref.f32(arena, pv, 0), 0, s.prefix(),
                            Ref.f32(arena, ok, 0), 0, Ref.f32(arena, ov, 0), 0, out, 0, shape);
                }
                alone.add(Ref.read(out, 0, s.tokens() * heads * d));
                calls.add(new CacheAttention(q, qOff, cache(arena, pk, kvType, 1), 1, cache(arena, pv, kvType, 2), 2,
                        s.prefix(), cache(arena, ok, kvType, 3), 3, cache(arena, ov, kvType, 4), 4, kvType,
                        batched, (long) row * heads * d, shape));
                row += s.tokens();
            }
            backend.attention(calls);
            row = 0;
            for (int i = 0; i < BATCH.length; i++) {
                int n = BATCH[i].tokens() * heads * d;
                float[] got = Ref.read(batched, (long) row * heads * d, n);
                assertArrayEquals(alone.get(i), got, 0f, "sequence " + i + " " + BATCH[i] + " with a " + kv + " cache");
                assertTrue(Float.isFinite(got[n - 1]), "sequence " + i + " read a NaN slot");
                row += BATCH[i].tokens();
            }
        }
    }

    /** F32 to BF16 rounds to nearest even as PyTorch does (bits from torch 2.13's {@code .to(torch.bfloat16)}). */
    @Test
    void roundingMatchesPyTorch() {
        int[][] cases = {
            {0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808008, 0x3f81},
            {0x801b38fc, 0x801b}, {0x7f7fffff, 0x7f80}, {0x7f800000, 0x7f80}, {0x80000000, 0x8000},
            {0x3dcccccd, 0x3dcd}, {0xc2f6e979, 0xc2f7}, {0x477fe000, 0x4780}};
        for (int[] c : cases) {
            assertEquals(c[1], Bf16.round(Float.intBitsToFloat(c[0])) & 0xffff, Integer.toHexString(c[0]));
        }
        assertTrue(Float.isNaN(Bf16.widen(Bf16.round(Float.NaN))));
        try (Arena arena = Arena.ofConfined()) {
            float[] v = Ref.gaussian(new Random(2), 100);
            MemorySegment dst = arena.allocate(2L * 103);
            backend.toBf16(Ref.f32(arena, v, 5), 5, dst, 3, v.length);
            for (int i = 0; i < v.length; i++) {
                assertEquals(Bf16.round(v[i]), dst.getAtIndex(JAVA_SHORT_UNALIGNED, 3 + i), "element " + i);
            }
        }
    }

    private static float[] rounded(float[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.isNaN(v[i]) ? v[i] : Bf16.widen(Bf16.round(v[i]));
        }
        return v;
    }

    /** {@code v} stored as {@code type} after {@code pad} NaN elements. */
    private static MemorySegment cache(Arena arena, float[] v, DType type, int pad) {
        if (type == DType.F32) {
            return Ref.f32(arena, v, pad);
        }
        MemorySegment s = arena.allocate(2L * (v.length + pad), 64);
        for (int i = 0; i < pad; i++) {
            s.setAtIndex(JAVA_SHORT_UNALIGNED, i, Bf16.round(Float.NaN));
        }
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(JAVA_SHORT_UNALIGNED, pad + i, Bf16.round(v[i]));
        }
        return s;
    }
}
