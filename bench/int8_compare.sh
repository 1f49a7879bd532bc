#!/usr/bin/env bash
# Inference precisions side by side on one machine, one run: a fine-tuned
# MiniLM-L6 SST-2 checkpoint in tunebench f32/bf16/int8, PyTorch
# f32/bf16/quantize_dynamic int8 and ONNX Runtime f32/int8 (quantize_dynamic):
# SST-2 dev accuracy and agreement with f32, one sentence's latency, 32×128
# evaluation samples/s, and tunebench serve's req/s at 8 and 64 clients.
#
#   bench/int8_compare.sh CHECKPOINT [OUT_DIR]
#
# CHECKPOINT: e.g. `tunebench train --data <first 8,000 SST-2 rows>
# --val ../shared/data/sst2/dev.tsv --model all-MiniLM-L6-v2 --set max_len=64`'s
# best/. Needs a release build and PYTHON (default /tmp/pyenv/bin/python)
# with torch, transformers, onnx, onnxruntime. Nothing else should run.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?checkpoint directory}
out=${2:-/tmp/int8-compare}
py=${PYTHON:-/tmp/pyenv/bin/python}
tb=./target/release/tunebench
dev=../shared/data/sst2/dev.tsv
threads=${THREADS:-2}
mkdir -p "$out"
{ lscpu | grep "Model name"
  grep -o -w 'avx2\|avx512f\|avx512_vnni\|avx_vnni\|avx512_bf16\|amx_int8' /proc/cpuinfo | sort -u | tr '\n' ' '
  echo; } > "$out/cpu.txt"
"$tb" --version | sed -n 3p >> "$out/cpu.txt"

: > "$out/accuracy.jsonl"
for p in f32 bf16 int8; do
  "$tb" eval --checkpoint "$ckpt" --data "$dev" --precision "$p" --format json \
    | sed "s/^/{\"precision\":\"$p\",\"eval\":/; s/\$/}/" >> "$out/accuracy.jsonl"
done
"$py" bench/inference_reference.py "$ckpt" --dev "$dev" --threads "$threads" --predict-runs 5 \
  --eval-batches 1 2> "$out/reference.err" >> "$out/accuracy.jsonl"

# Speed: ROUNDS rounds, each running every implementation once, in turn,
# so a slow spell of this shared machine hits all of them alike.
: > "$out/speed.jsonl"
for r in $(seq "${ROUNDS:-3}"); do
  for p in f32 bf16 int8; do
    RAYON_NUM_THREADS=$threads "$tb" bench --models minilm --lens 128 --batch 32 --threads "$threads" \
      --steps 0 --warmup 0 --eval-batches 8 --predict-runs 100 --precision "$p" >> "$out/speed.jsonl"
  done
  "$py" bench/inference_reference.py "$ckpt" --dev "$dev" --threads "$threads" --speed-only \
    2>> "$out/reference.err" >> "$out/speed.jsonl"
done
"$py" - "$out/speed.jsonl" > "$out/speed-medians.txt" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = r["implementation"] + ("-" + r["precision"] if r["implementation"] == "tunebench" else "")
    runs[name].append(r)
print(f"{'implementation':<16} {'rounds':>6} {'eval samples/s':>15} {'predict ms':>11} {'peak RSS MB':>12}")
for name, rs in runs.items():
    med = lambda k: statistics.median(x[k] for x in rs)
    print(f"{name:<16} {len(rs):>6} {med('eval_samples_per_s'):>15.1f} {med('predict_ms_median'):>11.2f} {med('peak_rss_mb'):>12.0f}")
PY

: > "$out/serve.txt"
for p in f32 int8; do
  RAYON_NUM_THREADS=$threads "$tb" serve --checkpoint "$ckpt" --port 8931 --precision "$p" \
    > "$out/serve-$p.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:8931/health >/dev/null && break; sleep 0.2; done
  echo "== $p" >> "$out/serve.txt"
  "$tb" bench-serve --url http://127.0.0.1:8931 --concurrency 8,64 --texts short,long \
    --seconds 10 >> "$out/serve.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
cat "$out/cpu.txt" "$out/speed-medians.txt" "$out/serve.txt"
grep -o '"precision":"[a-z0-9]*","eval":{"accuracy":[0-9.]*' "$out/accuracy.jsonl" || true
grep -o '"precision_check":{[^}]*}' "$out/accuracy.jsonl" || true
grep -o '"implementation": "[a-z0-9-]*", "threads": [0-9]*, "dev_accuracy": [0-9.]*, "agreement_with_f32": [0-9.a-z]*' "$out/accuracy.jsonl" || true
