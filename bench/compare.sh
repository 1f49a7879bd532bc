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
"$PY" bench/ratios.py "$OUT/tunebench.jsonl" "$OUT/pytorch.jsonl"
