#!/usr/bin/env bash
# One-command check of tunebench on a CUDA machine:
#   1. the PyTorch parity tests on CUDA, in f32, bf16 and f16 (tolerances in
#      tests/parity.rs: f32 as on CPU; bf16 logits 5e-2 abs, loss 2e-2 abs,
#      grad norm 5e-2 rel; f16 1e-2, 5e-3, 1e-2; updated weights compared in
#      f32 only), and the fused kernels against candle's compositions;
#   2. fine-tunes scratch:mini and MiniLM-L6 on SST-2 for $STEPS steps (bf16)
#      and evaluates on SST-2 dev; MiniLM for 100 steps in f16;
#   3. `tunebench bench` at batch 32 and 128 x len 128, f32 and bf16, with
#      peak GPU memory, and the same cases through PyTorch eager
#      (bench/pytorch_reference.py) when python3 has torch, then the ratios.
#
#   scripts/gpu-check.sh                # from a CUDA build of this checkout
#   scripts/gpu-check.sh BUNDLE         # from scripts/gpu-bundle.sh's bundle
#
# Env: STEPS (300), BENCH_STEPS (30), PYTHON (python3), OUT (gpu-check-out),
# MINILM_DIR, SST2_DIR, TUNEBENCH_BIN, PARITY_BIN, SKIP_TORCH=1, DEVICE (cuda;
# `DEVICE=cpu STEPS=3 BENCH_STEPS=2 BATCHES=8` dry-runs it without a GPU),
# BATCHES ("32 128"), BENCH_MODELS (mini,minilm).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="${OUT:-$root/gpu-check-out}"
mkdir -p "$out"
steps="${STEPS:-300}"
device="${DEVICE:-cuda}"
batches="${BATCHES:-32 128}"
bench_models="${BENCH_MODELS:-mini,minilm}"
bench_steps="${BENCH_STEPS:-30}"
python="${PYTHON:-python3}"
source scripts/gpu-env.sh "${1:-}"

{
say "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$bin" --version
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

parity_failed=0
for precision in f32 bf16 f16; do
  say "parity tests on $device, $precision"
  TUNEBENCH_ROOT="$root" TUNEBENCH_TEST_DEVICE=$device TUNEBENCH_TEST_PRECISION=$precision \
    timeout 300 "$parity" --test-threads 1 --nocapture 2>&1 | grep -v '^$'
  [[ ${PIPESTATUS[0]} == 0 ]] || parity_failed=1
done
if [[ $parity_failed == 1 && -z "${TUNEBENCH_GPU_FUSED:-}" ]]; then
  say "PARITY FAILED: the rest runs with candle's composed ops (TUNEBENCH_GPU_FUSED=0)"
  export TUNEBENCH_GPU_FUSED=0
fi

for model in scratch:mini "$minilm"; do
  lr=5e-5; [[ "$model" == scratch:* ]] && lr=5e-4
  say "train $model: $steps steps, bf16, batch 32, lr $lr, SST-2 -> dev"
  timeout 600 "$bin" train --data "$sst2/train.tsv" --val "$sst2/dev.tsv" --model "$model" \
    --device "$device" --precision bf16 --max-steps "$steps" --out "$work/run-$(basename "$model")" \
    --set lr=$lr --set warmup_ratio=0.1 --set log_every=100 2>&1 | grep -v '^$' | tail -8
done

say "train $minilm: 100 steps, f16 with dynamic loss scaling"
timeout 300 "$bin" train --data "$sst2/train.tsv" --val "$sst2/dev.tsv" --model "$minilm" \
  --device "$device" --precision f16 --max-steps 100 --out "$work/run-f16" \
  --set lr=5e-5 --set warmup_ratio=0.1 --set log_every=50 2>&1 | grep -v '^$' | tail -5

say "bench: tunebench ($device), MiniLM bf16 batch 32 with the fused kernels off"
TUNEBENCH_GPU_FUSED=0 timeout 300 "$bin" bench --device "$device" --precision bf16 --batch 32 \
  --models minilm --lens 128 --warmup 5 --steps "$bench_steps" --predict-runs 0 \
  --data "$sst2/train.tsv" --minilm-dir "$minilm"

say "bench: tunebench ($device)"
for precision in f32 bf16; do
  for batch in $batches; do
    timeout 300 "$bin" bench --device "$device" --precision $precision --batch $batch \
      --models "$bench_models" --lens 128 --warmup 5 --steps "$bench_steps" \
      --data "$sst2/train.tsv" --minilm-dir "$minilm"
  done
done | tee "$out/tunebench.jsonl"

if [[ -z "${SKIP_TORCH:-}" ]] && "$python" -c 'import torch, transformers' 2>/dev/null; then
  say "bench: PyTorch eager ($device)"
  for precision in f32 bf16; do
    for batch in $batches; do
      timeout 300 "$python" "$root/bench/pytorch_reference.py" --device "$device" --precision $precision \
        --batch $batch --models "$bench_models" --lens 128 --warmup 5 --steps "$bench_steps" \
        --data "$sst2/train.tsv" --minilm-dir "$minilm"
    done
  done | tee "$out/pytorch.jsonl"
  say "tunebench / PyTorch (train, eval: >1 is faster; predict ms, GPU MiB: <1 is better)"
  "$python" "$root/bench/ratios.py" "$out/tunebench.jsonl" "$out/pytorch.jsonl"
else
  say "PyTorch comparison skipped (no torch + transformers for $python)"
fi
} 2>&1 | tee "$out/gpu-check.log"
rm -rf "$work"
