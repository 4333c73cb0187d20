#!/usr/bin/env python3
"""Peer number for GemmBench: F32 GEMM GFLOPS of numpy/OpenBLAS, C = A @ B.T, 2 threads.

Run:  OPENBLAS_NUM_THREADS=2 python3 bench/numpy_gemm.py [sizes...]
The thread count must be set before numpy is imported, so the script sets it itself when unset.
Prints the median of several timed runs per size (the machine is shared and noisy).
"""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def gflops(n: int, reps: int) -> float:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n, n), dtype=np.float32)
    w = rng.standard_normal((n, n), dtype=np.float32)  # W[out, in], as a linear layer stores it
    c = np.empty((n, n), dtype=np.float32)
    np.dot(a, w.T, out=c)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.dot(a, w.T, out=c)
        times.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def main() -> None:
    sizes = [int(s) for s in sys.argv[1:]] or [1024, 2048, 4096]
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    for n in sizes:
        reps = 21 if n <= 1024 else 9 if n <= 2048 else 5
        print(f"n={n:5d}  median {gflops(n, reps):7.1f} GFLOPS")


if __name__ == "__main__":
    main()
