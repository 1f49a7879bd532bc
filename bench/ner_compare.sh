#!/usr/bin/env bash
# Token classification side by side with PyTorch + transformers on one
# machine: CoNLL-2003 English, MiniLM-L6, transformers' run_ner recipe
# (first-piece labels, AdamW lr 5e-5, no warmup, no weight decay, linear
# decay, clipping 1.0, batch 32, max_len 128; bench/pytorch_ner.py), test
# entity F1 by seqeval's default mode on the last checkpoint. Training
# samples/s: sentences × epochs over the training seconds (the last step's
# elapsed_s; PyTorch: its loop). Peak RSS: the run process's (train.log),
# PyTorch's from /usr/bin/time -v.
# usage: [EPOCHS=3] bench/ner_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/release/tunebench}
MODEL=${MODEL:-/tmp/tunebench-models/all-MiniLM-L6-v2}
DATA=${DATA:-$PWD/../shared/data/conll2003}
PY=${PY:-python3}
EPOCHS=${EPOCHS:-3}
OUT=${OUT:-$(mktemp -d /tmp/tb-ner-XXXX)}
mkdir -p "$OUT"
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
"$BIN" train --data "$DATA/eng.train" --val "$DATA/eng.testa" --model "$MODEL" \
  --set epochs="$EPOCHS" --set lr=5e-5 --set warmup_ratio=0 --set weight_decay=0 \
  --set batch_size=32 --set max_len=128 --set best_metric=micro_f1 --set tensorboard=false \
  --out "$OUT/tb" > "$OUT/tb.log" 2>&1
"$PY" - "$OUT/tb" 14041 <<'PY'
import json, re, sys
run, rows = sys.argv[1], int(sys.argv[2])
steps = [json.loads(l) for l in open(run + "/metrics.jsonl")]
steps = [e for e in steps if e["event"] == "step"]
rss = re.findall(r"peak RSS (\d+) kB", open(run + "/train.log").read())
print(f"tunebench conll2003: {rows * steps[-1]['epoch'] / steps[-1]['elapsed_s']:.1f} samples/s over {steps[-1]['elapsed_s']:.0f} s, peak RSS {int(rss[-1]) // 1024} MiB")
PY
last=$(ls -d "$OUT"/tb/checkpoints/step-* | sort -t- -k2 -n | tail -1)
echo "tunebench test (eng.testb), $last:"
"$BIN" eval --checkpoint "$last" --data "$DATA/eng.testb"
/usr/bin/time -v "$PY" bench/pytorch_ner.py --epochs "$EPOCHS" --data "$DATA" --minilm-dir "$MODEL" \
  2> "$OUT/py.time" | tail -12
echo "pytorch peak RSS $(grep "Maximum resident" "$OUT/py.time" | awk '{printf "%.0f MiB", $6/1024}')"
echo "runs in $OUT"
