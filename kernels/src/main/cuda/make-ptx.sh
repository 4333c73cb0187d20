#!/usr/bin/env bash
# Compiles reflectrm_kernels.cu to the PTX that the CUDA backend loads (the driver JITs it for
# the GPU it runs on), for two virtual architectures:
#   compute_75  the oldest that nvcc 13 supports: every GPU the driver can run the kernels on
#   compute_90  Hopper (H100/H200), chosen at runtime when the compute capability is 9.0 or more
# and writes them to src/main/resources/org/reflectrm/kernels/cuda/, where they are committed.
#
# Usage:  make-ptx.sh            regenerate the committed PTX
#         make-ptx.sh --check    regenerate into a temporary folder and compare; exit 1 when the
#                                committed files differ (stale, or another nvcc release)
#
# Flags are fixed: -O3, no --use_fast_math (expf, sqrtf and division stay IEEE-accurate, which the
# tolerance against the CPU backend relies on), no -lineinfo/-G (so the PTX names no source path).
# nvcc is run on the file name from this folder, and its PTX carries no timestamp, so the output
# depends only on the source and the nvcc release (named in the PTX header). Each file is also
# assembled with ptxas for a real GPU of its architecture, so a PTX error shows up here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
resources="$here/../resources/org/reflectrm/kernels/cuda"
archs=(75 90)
nvcc="${NVCC:-nvcc}"

if ! command -v "$nvcc" >/dev/null 2>&1; then
    echo "make-ptx.sh: nvcc not found (set NVCC or put the CUDA toolkit's bin on PATH)" >&2
    exit 2
fi
ptxas="$(dirname "$(command -v "$nvcc")")/ptxas"

# generate DIR: writes reflectrm_kernels.compute_XX.ptx for every arch into DIR.
generate() {
    local dir="$1" arch out
    for arch in "${archs[@]}"; do
        out="$dir/reflectrm_kernels.compute_$arch.ptx"
        (cd "$here" && "$nvcc" -ptx -O3 -arch="compute_$arch" -o "$out" reflectrm_kernels.cu)
        # Debug line info would name source paths; the fixed flags never ask for it.
        if grep -Eq '^[[:space:]]*\.(file|loc)[[:space:]]' "$out"; then
            echo "make-ptx.sh: $out carries .file/.loc directives (source paths)" >&2
            exit 1
        fi
        "$ptxas" -arch="sm_$arch" -o /dev/null "$out"
    done
}

if [[ "${1:-}" == "--check" ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    generate "$tmp"
    status=0
    for arch in "${archs[@]}"; do
        name="reflectrm_kernels.compute_$arch.ptx"
        if [[ ! -f "$resources/$name" ]]; then
            echo "make-ptx.sh --check: $name is missing from $resources" >&2
            status=1
        elif ! cmp -s "$tmp/$name" "$resources/$name"; then
            echo "make-ptx.sh --check: committed $name differs from what $("$nvcc" --version | tail -1) makes of reflectrm_kernels.cu:" >&2
            diff -u "$resources/$name" "$tmp/$name" | head -40 >&2 || true
            status=1
        fi
    done
    if [[ $status -ne 0 ]]; then
        echo "make-ptx.sh --check: PTX is stale; run kernels/src/main/cuda/make-ptx.sh and commit the result" >&2
        exit 1
    fi
    echo "make-ptx.sh --check: PTX is up to date"
    exit 0
elif [[ $# -gt 0 ]]; then
    echo "usage: make-ptx.sh [--check]" >&2
    exit 2
fi

mkdir -p "$resources"
generate "$resources"
echo "make-ptx.sh: wrote ${archs[*]/#/compute_} PTX to $resources"
