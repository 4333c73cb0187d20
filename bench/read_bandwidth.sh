#!/usr/bin/env bash
# Memory read bandwidth of this machine, the reference for GemvBench's GB/s (BF16 GEMV is bound
# by reading the weights). A C loop (gcc -O3 -march=native, OpenMP) sums a buffer far larger than
# the caches and prints the median of 21 passes, for:
#   1. one sequential stream per thread (the classic read-bandwidth number);
#   2. the same loop widening BF16 pairs (shift + and) before summing, as the GEMV kernel does;
#   3. as 2, with each thread reading 4 far-apart streams, as the GEMV kernel does.
# The Java counterpart of 1 is ReadBandwidthBench (java -jar bench/target/benchmarks.jar ReadBandwidth).
#
# Usage: bench/read_bandwidth.sh [threads (default 2)] [MB (default 1024)]
set -euo pipefail
threads=${1:-2}
mb=${2:-1024}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/bw.c" <<'C'
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

/* Sums floats [from, to) in `streams` equal parts read side by side; `widen` splits BF16 pairs. */
static float pass(const float *a, size_t from, size_t to, int streams, int widen) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t part = (to - from) / streams / 64 * 64;
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000);
    for (size_t i = 0; i < part; i += 64) {
        for (int s = 0; s < streams; s++) {
            const float *p = a + from + s * part + i;
            for (int v = 0; v < 4; v++) {
                __m512i q = _mm512_load_si512(p + 16 * v);
                if (widen) {
                    s0 = _mm512_add_ps(s0, _mm512_castsi512_ps(_mm512_slli_epi32(q, 16)));
                    s1 = _mm512_add_ps(s1, _mm512_castsi512_ps(_mm512_and_si512(q, hi)));
                } else if (v & 1) {
                    s2 = _mm512_add_ps(s2, _mm512_castsi512_ps(q));
                } else {
                    s3 = _mm512_add_ps(s3, _mm512_castsi512_ps(q));
                }
            }
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

int main(int argc, char **argv) {
    size_t bytes = (size_t)atol(argv[1]) << 20, n = bytes / 4;
    float *a = aligned_alloc(64, bytes);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 1.0f;
    const char *names[] = {"plain sum, 1 stream/thread", "BF16 pair widening, 1 stream/thread", "BF16 pair widening, 4 streams/thread"};
    int streams[] = {1, 1, 4}, widen[] = {0, 1, 1};
    float sink = 0;
    for (int c = 0; c < 3; c++) {
        double gbs[21];
        for (int r = 0; r < 21; r++) {
            double t0 = now();
            float total = 0;
            #pragma omp parallel reduction(+ : total)
            {
                size_t per = n / omp_get_num_threads(), from = per * omp_get_thread_num();
                total += pass(a, from, from + per, streams[c], widen[c]);
            }
            gbs[r] = bytes / (now() - t0) / 1e9;
            sink += total;
        }
        qsort(gbs, 21, sizeof(double), cmp);
        printf("%-40s median %5.1f GB/s  (min %5.1f, max %5.1f)\n", names[c], gbs[10], gbs[0], gbs[20]);
    }
    return sink == 42.0f;
}
C
gcc -O3 -march=native -fopenmp "$work/bw.c" -o "$work/bw"
echo "read bandwidth, ${mb} MB buffer, ${threads} threads:"
OMP_NUM_THREADS=$threads "$work/bw" "$mb"
