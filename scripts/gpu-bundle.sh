#!/usr/bin/env bash
# Build a self-contained bundle for a CUDA machine that has the NVIDIA driver
# and CUDA libraries (cuBLAS, cuRAND, NVRTC; PyTorch's wheels carry them) but
# no Rust toolchain: the stripped tunebench binary and parity-test binary
# (xz-compressed), the MiniLM-L6 model in f16 (half the bytes; tunebench and
# transformers load it as f32) and SST-2. Then run scripts/gpu-check.sh BUNDLE
# on the GPU machine.
#
#   bash scripts/gpu-bundle.sh [BUNDLE]          # default .gpu (git-ignored)
#
# Needs the CUDA build toolkit (scripts/cuda-toolkit.sh), python3 with torch
# and safetensors (for the f16 copy) and ../shared/tools/get-models.sh's models.
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="${1:-.gpu}"
models="${MODELS_DIR:-/tmp/tunebench-models}"
sst2="${SST2_DIR:-../shared/data/sst2}"
python="${PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-target/cuda}"

eval "$(bash scripts/cuda-toolkit.sh --env "${CUDA_PREFIX:-/tmp/tunebench-cuda}")"
cargo build --release --features cuda --target-dir "$target"
cargo test --release --features cuda --target-dir "$target" --test parity --no-run
parity=$(ls -t "$target"/release/deps/parity-* | grep -v '\.d$' | head -1)

rm -rf "$bundle" && mkdir -p "$bundle/minilm" "$bundle/sst2"
for pair in "$target/release/tunebench:tunebench" "$parity:parity"; do
  src="${pair%%:*}" name="${pair##*:}"
  strip -o "$bundle/$name" "$src"
  xz -T0 -6 "$bundle/$name"
done
cp "$models/all-MiniLM-L6-v2/"{config.json,tokenizer.json} "$bundle/minilm/"
"$python" - "$models/all-MiniLM-L6-v2/model.safetensors" "$bundle/minilm/model.safetensors" <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
save_file({k: v.half().contiguous() for k, v in load_file(sys.argv[1]).items()}, sys.argv[2])
PY
xz -T0 -6 "$bundle/minilm/model.safetensors"
cp "$sst2/dev.tsv" "$bundle/sst2/"
xz -T0 -6 -c "$sst2/train.tsv" > "$bundle/sst2/train.tsv.xz"
du -sh "$bundle"
