#!/usr/bin/env bash
# Lays out a CUDA 13.0 build toolkit from NVIDIA's PyPI wheels, for machines
# without a system CUDA install (no root, no apt repository needed).
#
#   bash scripts/cuda-toolkit.sh [PREFIX]      # default /tmp/tunebench-cuda
#   eval "$(bash scripts/cuda-toolkit.sh --env [PREFIX])"
#   cargo build --release --features cuda
#
# Pin the toolkit to the driver of the machine that will run the binary:
# candle loads its kernels as PTX, and a driver rejects PTX from a newer nvcc.
# CUDA_VERSION=13.0 by default.
set -euo pipefail

if [[ "${1:-}" == "--env" ]]; then
  prefix="${2:-/tmp/tunebench-cuda}"
  root="$prefix/site/nvidia/cu13"
  echo "export CUDA_ROOT=$root"
  echo "export PATH=$root/bin:\$PATH"
  # No GPU on the build machine: name the target (9.0 = Hopper) explicitly.
  echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
  exit 0
fi

prefix="${1:-/tmp/tunebench-cuda}"
version="${CUDA_VERSION:-13.0}"
python="${PYTHON:-python3}"
wheels="$prefix/wheels"
mkdir -p "$wheels"

"$python" -m pip download --quiet --no-deps --only-binary=:all: -d "$wheels" \
  "nvidia-cuda-nvcc==$version.*" "nvidia-cuda-runtime==$version.*" \
  "nvidia-cuda-cccl==$version.*" "nvidia-cuda-crt==$version.*" \
  "nvidia-nvvm==$version.*" "nvidia-cuda-nvrtc==$version.*" \
  "nvidia-cublas==$version.*" "nvidia-curand"
for w in "$wheels"/*.whl; do unzip -qo "$w" -d "$prefix/site"; done

root="$prefix/site/nvidia/cu13"
cd "$root/lib"
# The wheels ship only versioned sonames; the linker looks for the plain names.
for so in lib*.so.*; do
  plain="${so%%.so.*}.so"
  [[ -e "$plain" ]] || ln -s "$so" "$plain"
done

# libcuda.so belongs to the driver, which a build machine may lack. Link
# against a stub exporting the driver API names cudarc declares; at run time
# the real libcuda.so.1 of the driver is loaded instead.
mkdir -p stubs
cudarc_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* 2>/dev/null | tail -1)
if [[ -z "$cudarc_src" ]]; then
  echo "cudarc sources not found: run 'cargo fetch' in the project first" >&2
  exit 1
fi
grep -ohE "pub (unsafe )?fn cu[A-Za-z0-9_]+" "$cudarc_src/src/driver/sys/mod.rs" \
  | awk '{print $NF}' | sort -u \
  | sed 's/.*/int &(void) { return 999; }/' > stubs/cuda_stub.c
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o stubs/libcuda.so stubs/cuda_stub.c
echo "CUDA $version toolkit ready in $root"
echo "next: eval \"\$(bash scripts/cuda-toolkit.sh --env $prefix)\" && cargo build --release --features cuda"
