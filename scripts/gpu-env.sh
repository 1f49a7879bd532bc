# Sourced by gpu-check.sh and gpu-profile.sh: unpacks a gpu-bundle.sh bundle
# (when given) and sets bin, parity, minilm, sst2, work, python and
# LD_LIBRARY_PATH for a CUDA build of tunebench.
root=$(pwd)
python="${PYTHON:-python3}"
work=$(mktemp -d)

say() { printf '\n=== %s\n' "$*"; }

bundle="${1:-}"
if [[ -n "$bundle" ]]; then
  for f in tunebench parity; do xz -dc "$bundle/$f.xz" > "$work/$f" && chmod +x "$work/$f"; done
  mkdir -p "$work/minilm" "$work/sst2"
  cp "$bundle/minilm/"*.json "$work/minilm/"
  xz -dc "$bundle/minilm/model.safetensors.xz" > "$work/minilm/model.safetensors"
  cp "$bundle/sst2/dev.tsv" "$work/sst2/"
  xz -dc "$bundle/sst2/train.tsv.xz" > "$work/sst2/train.tsv"
  TUNEBENCH_BIN="$work/tunebench" PARITY_BIN="$work/parity"
  MINILM_DIR="$work/minilm" SST2_DIR="$work/sst2"
fi
bin="${TUNEBENCH_BIN:-$root/target/release/tunebench}"
parity="${PARITY_BIN:-$(ls -t "$root"/target/release/deps/parity-* 2>/dev/null | grep -v '\.d$' | head -1)}"
minilm="${MINILM_DIR:-/tmp/tunebench-models/all-MiniLM-L6-v2}"
sst2="${SST2_DIR:-$root/../shared/data/sst2}"

# The binary links the driver (libcuda.so.1) and CUDA 13's cuBLAS, cuRAND,
# NVRTC and runtime; find what the loader misses among the usual places,
# PyTorch's nvidia-* wheels included.
roots="/usr/local/cuda/lib64 /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu"
roots="$roots $("$python" -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)"
for lib in $(ldd "$bin" | awk '/not found/ {print $1}'); do
  hit=$(find $roots -name "$lib" 2>/dev/null | head -1)
  if [[ -n "$hit" ]]; then
    export LD_LIBRARY_PATH="$(dirname "$hit")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  else
    echo "warning: $lib not found" >&2
  fi
done
