#!/usr/bin/env bash
# Run tunebench's bench suite and the PyTorch reference in turn on the same
# cases, then print tunebench/PyTorch ratios per case (>1: tunebench is
# faster; for latency and memory, <1 is better).
#   bench/compare.sh [--models tiny,mini,minilm] [--lens 64,128] [--threads 2]
# PYTHON selects the interpreter with torch + transformers (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d)}
cargo build --release --quiet
./target/release/tunebench bench "$@" | tee "$OUT/tunebench.jsonl"
"$PY" bench/pytorch_reference.py "$@" | tee "$OUT/pytorch.jsonl"
"$PY" - "$OUT/tunebench.jsonl" "$OUT/pytorch.jsonl" <<'PY'
import json, sys
ours = {(r["model"], r["max_len"]): r for r in map(json.loads, open(sys.argv[1]))}
ref = {(r["model"], r["max_len"]): r for r in map(json.loads, open(sys.argv[2]))}
cols = [("train_samples_per_s", "train/s"), ("eval_samples_per_s", "eval/s"),
        ("predict_ms_median", "predict ms"), ("peak_rss_mb", "RSS MB")]
print(f"{'case':<12}" + "".join(f"{name:>26}" for _, name in cols))
for key in sorted(ours):
    if key not in ref:
        continue
    a, b = ours[key], ref[key]
    cells = "".join(f"{a[c]:>9.1f} /{b[c]:>7.1f} ={a[c] / b[c]:>5.2f}x" for c, _ in cols)
    print(f"{key[0] + ':' + str(key[1]):<12}{cells}")
print("cells: tunebench / pytorch = ratio")
PY
