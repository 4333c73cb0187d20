// Causal grouped-query attention against a KV cache [capacity, kvHeads, d], d <= MAX_D.
// Query token t (position startPos + t) sees cache positions 0 .. startPos + t; query head h
// reads KV head h / (heads / kvHeads). Scores and softmax in F32, exp (not native_exp).
//
//  - attention_prefill: flash-style. One work-group per (block of BQ query tokens, head) walks
//    the keys in tiles of BK held in local memory, keeping a running max and sum per query row
//    (online softmax) and rescaling its output accumulators when the max grows.
//  - attention_decode + attention_merge (one query token): the keys are split in ranges of
//    SPLIT; one work-group per (range, head) writes a partial (max, sum, unnormalized output),
//    and the merge rescales the partials to the global max and normalizes.

#define ATT_WG 128
#define BQ 16
#define BK 32
#define MAX_D 128
#define SPLIT 256

__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_prefill(__global const float* q, ulong qOff, __global const float* kCache, ulong kOff,
                       __global const float* vCache, ulong vOff, __global float* out, ulong outOff,
                       int tokens, int startPos, int heads, int kvHeads, int d, float scale) {
    __local float qs[BQ][MAX_D];
    __local float ks[BK][MAX_D + 1];   // padded: the score loop reads one row per lane
    __local float vs[BK][MAX_D];
    __local float ps[BQ][BK + 1];
    __local float rowMax[BQ], rowSum[BQ], rowScale[BQ];
    const int lid = get_local_id(0);
    const int t0 = get_group_id(0) * BQ;
    const int h = get_group_id(1);
    const int g = h / (heads / kvHeads);
    const int qRows = min(BQ, tokens - t0);
    const size_t stride = (size_t)kvHeads * d;
    __global const float* kc = kCache + kOff + (size_t)g * d;
    __global const float* vc = vCache + vOff + (size_t)g * d;

    for (int idx = lid; idx < BQ * d; idx += ATT_WG) {
        int i = idx / d, c = idx % d;
        qs[i][c] = i < qRows ? q[qOff + ((size_t)(t0 + i) * heads + h) * d + c] : 0.0f;
    }
    if (lid < BQ) {
        rowMax[lid] = -INFINITY;
        rowSum[lid] = 0.0f;
    }
    // Output: the work-item owns column c of query rows qset, qset + groups, ...
    const int groups = ATT_WG / d;
    const int c = lid % d;
    const int qset = lid / d;
    const bool owner = qset < groups;
    float acc[BQ];
#pragma unroll
    for (int j = 0; j < BQ; j++) {
        acc[j] = 0.0f;
    }

    // The block's last query sees keys [0, keyEnd); later cache slots are never read.
    const int keyEnd = startPos + t0 + qRows;
    for (int k0 = 0; k0 < keyEnd; k0 += BK) {
        barrier(CLK_LOCAL_MEM_FENCE);   // the previous tile is no longer read
        for (int idx = lid; idx < BK * d; idx += ATT_WG) {
            int j = idx / d, cc = idx % d;
            bool valid = k0 + j < keyEnd;
            ks[j][cc] = valid ? kc[(size_t)(k0 + j) * stride + cc] : 0.0f;
            vs[j][cc] = valid ? vc[(size_t)(k0 + j) * stride + cc] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int idx = lid; idx < BQ * BK; idx += ATT_WG) {
            int i = idx / BK, j = idx % BK;
            int key = k0 + j;
            float s = -INFINITY;
            if (key <= startPos + t0 + i && key < keyEnd) {
                float sum = 0.0f;
                for (int cc = 0; cc < d; cc++) {
                    sum += qs[i][cc] * ks[j][cc];
                }
                s = sum * scale;
            }
            ps[i][j] = s;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < BQ) {
            float oldMax = rowMax[lid];
            float tileMax = -INFINITY;
            for (int j = 0; j < BK; j++) {
                tileMax = fmax(tileMax, ps[lid][j]);
            }
            float newMax = fmax(oldMax, tileMax);
            // -inf - -inf would be NaN: a row with nothing visible yet keeps scale 1 and p = 0.
            float rescale = newMax == -INFINITY ? 1.0f : exp(oldMax - newMax);
            float sum = 0.0f;
            for (int j = 0; j < BK; j++) {
                float s = ps[lid][j];
                float p = s == -INFINITY ? 0.0f : exp(s - newMax);
                ps[lid][j] = p;
                sum += p;
            }
            rowMax[lid] = newMax;
            rowSum[lid] = rowSum[lid] * rescale + sum;
            rowScale[lid] = rescale;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        if (owner) {
#pragma unroll
            for (int j = 0; j < BQ; j++) {
                int i = qset + groups * j;
                if (i < BQ) {
                    float a = acc[j] * rowScale[i];
                    for (int kk = 0; kk < BK; kk++) {
                        a += ps[i][kk] * vs[kk][c];
                    }
                    acc[j] = a;
                }
            }
        }
    }
    if (owner) {
#pragma unroll
        for (int j = 0; j < BQ; j++) {
            int i = qset + groups * j;
            if (i < qRows) {
                out[outOff + ((size_t)(t0 + i) * heads + h) * d + c] = acc[j] / rowSum[i];
            }
        }
    }
}

/**
 * One query token at position startPos: work-group (s, h) takes keys [s*SPLIT, ...) and writes
 * part[h, s] = (max score, sum of exp(score - max), sum of exp(score - max) * v[0..d)).
 */
__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_decode(__global const float* q, ulong qOff, __global const float* kCache, ulong kOff,
                      __global const float* vCache, ulong vOff, __global float* part,
                      int startPos, int heads, int kvHeads, int d, float scale, int splits) {
    __local float qs[MAX_D];
    __local float ks[BK][MAX_D + 1];
    __local float scores[SPLIT];
    __local float partial[ATT_WG / BK][BK];
    __local float scratch[ATT_WG];
    const int lid = get_local_id(0);
    const int s = get_group_id(0);
    const int h = get_group_id(1);
    const int g = h / (heads / kvHeads);
    const int kb = s * SPLIT;
    const int n = min(SPLIT, startPos + 1 - kb);
    const size_t stride = (size_t)kvHeads * d;
    __global const float* kc = kCache + kOff + (size_t)g * d + kb * stride;
    __global const float* vc = vCache + vOff + (size_t)g * d + kb * stride;

    for (int c = lid; c < d; c += ATT_WG) {
        qs[c] = q[qOff + (size_t)h * d + c];
    }
    // Scores, BK keys at a time: coalesced loads of the keys into local memory, then each
    // warp-sized quarter of the group sums one quarter of the head dimension (lane = key).
    const int lane = lid % BK;
    const int quarter = lid / BK;
    const int qd = (d + 3) / 4;
    const int from = quarter * qd;
    const int to = min(d, from + qd);
    for (int j0 = 0; j0 < n; j0 += BK) {
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int idx = lid; idx < BK * d; idx += ATT_WG) {
            int j = idx / d, c = idx % d;
            ks[j][c] = j0 + j < n ? kc[(size_t)(j0 + j) * stride + c] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float sum = 0.0f;
        for (int c = from; c < to; c++) {
            sum += qs[c] * ks[lane][c];
        }
        partial[quarter][lane] = sum;
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < BK && j0 + lid < n) {
            scores[j0 + lid] = (partial[0][lid] + partial[1][lid] + partial[2][lid] + partial[3][lid]) * scale;
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    float m = -INFINITY;
    for (int i = lid; i < n; i += ATT_WG) {
        m = fmax(m, scores[i]);
    }
    m = group_max(m, scratch);
    float l = 0.0f;
    for (int i = lid; i < n; i += ATT_WG) {
        float p = exp(scores[i] - m);
        scores[i] = p;
        l += p;
    }
    l = group_sum(l, scratch);   // its barriers also publish the scores written above

    // Weighted values: the work-item owns column c for keys kset, kset + groups, ...; reads of
    // consecutive columns by consecutive work-items are coalesced.
    const int groups = ATT_WG / d;
    const int c = lid % d;
    const int kset = lid / d;
    float a = 0.0f;
    if (kset < groups) {
        for (int i = kset; i < n; i += groups) {
            a += scores[i] * vc[(size_t)i * stride + c];
        }
    }
    scratch[lid] = a;
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < d) {
        float total = 0.0f;
        for (int gi = 0; gi < groups; gi++) {
            total += scratch[gi * d + lid];
        }
        __global float* dst = part + ((size_t)h * splits + s) * (d + 2);
        dst[2 + lid] = total;
        if (lid == 0) {
            dst[0] = m;
            dst[1] = l;
        }
    }
}

/** out[h, c] = sum_s acc_s[c] e^(m_s - M) / sum_s l_s e^(m_s - M), M the largest m_s; one work-group per head. */
__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention_merge(__global const float* part, int splits, int d, __global float* out, ulong outOff) {
    const int h = get_group_id(0);
    __global const float* p = part + (size_t)h * splits * (d + 2);
    for (int c = get_local_id(0); c < d; c += ATT_WG) {
        float maxScore = -INFINITY;
        for (int s = 0; s < splits; s++) {
            maxScore = fmax(maxScore, p[s * (d + 2)]);
        }
        float sum = 0.0f, o = 0.0f;
        for (int s = 0; s < splits; s++) {
            __global const float* ps = p + s * (d + 2);
            float w = exp(ps[0] - maxScore);
            sum += ps[1] * w;
            o += ps[2 + c] * w;
        }
        out[outOff + (size_t)h * d + c] = o / sum;
    }
}
