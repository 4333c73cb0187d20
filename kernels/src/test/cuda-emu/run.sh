#!/usr/bin/env bash
# Builds the CPU emulation of reflectrm_kernels.cu (the unmodified .cu compiled by g++ against
# cuda_emu.h) and runs every kernel against double-precision references.
#
# Usage:  run.sh [FILTER]     FILTER: run only the cases whose name contains it
# Env:    EMU_SEED=N          seed of the fiber scheduling order (default 12345)
#         EMU_SCHED=fifo|lifo|random|all   fiber scheduling orders to run every case under (default all)
#         EMU_VERBOSE=1       one line per passing case too
# Exit:   0 when every case passes; non-zero, with the failing cases named, otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${EMU_BUILD_DIR:-$(mktemp -d)}"
[[ -n "${EMU_BUILD_DIR:-}" ]] || trap 'rm -rf "$build"' EXIT
cxx="${CXX:-g++}"

# -fsanitize=undefined: misaligned float4/uint4 loads and out-of-bounds indices into the
# kernels' shared arrays abort the run (a "misaligned address" / memory fault on a GPU).
"$cxx" -O1 -std=c++17 -pthread -g0 -Wall -Wno-unknown-pragmas -Wno-unused-function \
    -fsanitize=undefined -fno-sanitize-recover=undefined \
    -I "$here/include" -I "$here" \
    -o "$build/emu_test" "$here/emu_test.cpp"

set +e
"$build/emu_test" "$@"
status=$?
set -e
if [[ $status -ne 0 ]]; then
    echo "cuda-emu: FAILED (exit $status)" >&2
    exit 1
fi
echo "cuda-emu: all cases passed"
