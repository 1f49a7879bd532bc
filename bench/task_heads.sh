#!/usr/bin/env bash
# Task heads side by side with PyTorch + transformers on one machine:
# STS-B (sentence-pair regression, 3 epochs, dev Pearson/Spearman) and
# GoEmotions (28-label multi-label, EPOCHS_GE epochs, thresholds tuned on
# dev, test micro/macro-F1), MiniLM-L6, the recipe of
# bench/pytorch_task_heads.py. Training samples/s: rows × epochs over the
# training seconds (the last step's elapsed_s; PyTorch: its loop). Peak
# RSS: the run process's (train.log), PyTorch's from /usr/bin/time -v.
# usage: [TASKS='stsb goemotions'] [EPOCHS_GE=1] bench/task_heads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/release/tunebench}
MODEL=${MODEL:-/tmp/tunebench-models/all-MiniLM-L6-v2}
DATA=${DATA:-$PWD/../shared/data}
PY=${PY:-python3}
TASKS=${TASKS:-stsb goemotions}
EPOCHS_GE=${EPOCHS_GE:-1}
OUT=${OUT:-$(mktemp -d /tmp/tb-tasks-XXXX)}
mkdir -p "$OUT"
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
recipe=(--model "$MODEL" --set lr=5e-5 --set warmup_ratio=0.1 --set batch_size=32 --set max_len=128 --set tensorboard=false)
rss() { grep "Maximum resident" "$1" | awk '{printf "%.0f MiB", $6/1024}'; }
# A run's training samples/s and its run process's peak RSS.
run_stats() {
  "$PY" - "$1" "$2" <<'PY'
import json, re, sys
run, rows = sys.argv[1], int(sys.argv[2])
steps = [json.loads(l) for l in open(run + "/metrics.jsonl")]
steps = [e for e in steps if e["event"] == "step"]
epochs = steps[-1]["epoch"]
rss = re.findall(r"peak RSS (\d+) kB", open(run + "/train.log").read())
print(f"{rows * epochs / steps[-1]['elapsed_s']:.1f} samples/s, peak RSS {int(rss[-1]) // 1024} MiB")
PY
}
last_checkpoint() { ls -d "$1"/checkpoints/step-* | sort -t- -k2 -n | tail -1; }
for task in $TASKS; do
  case $task in
  stsb)
    "$BIN" train --data "$DATA/stsb/train.tsv" --val "$DATA/stsb/dev.tsv" --epochs 3 \
      "${recipe[@]}" --out "$OUT/stsb" > "$OUT/stsb.log" 2>&1
    echo "tunebench stsb: $(run_stats "$OUT/stsb" 5749)"
    "$BIN" eval --checkpoint "$(last_checkpoint "$OUT/stsb")" --data "$DATA/stsb/dev.tsv"
    /usr/bin/time -v "$PY" bench/pytorch_task_heads.py stsb --epochs 3 --data "$DATA" --minilm-dir "$MODEL" 2> "$OUT/stsb-py.time"
    echo "pytorch stsb: peak RSS $(rss "$OUT/stsb-py.time")"
    ;;
  goemotions)
    ge=(--no-header --text-col 0 --label-col 1 --label-names "$DATA/goemotions/emotions.txt" --task multi_label)
    "$BIN" train --data "$DATA/goemotions/train.tsv" --val "$DATA/goemotions/dev.tsv" \
      --epochs "$EPOCHS_GE" "${ge[@]}" "${recipe[@]}" --out "$OUT/ge" > "$OUT/ge.log" 2>&1
    echo "tunebench goemotions: $(run_stats "$OUT/ge" 43410)"
    "$BIN" eval --checkpoint "$(last_checkpoint "$OUT/ge")" --data "$DATA/goemotions/test.tsv" "${ge[@]}" | head -2
    /usr/bin/time -v "$PY" bench/pytorch_task_heads.py goemotions --epochs "$EPOCHS_GE" --data "$DATA" \
      --minilm-dir "$MODEL" 2> "$OUT/ge-py.time"
    echo "pytorch goemotions: peak RSS $(rss "$OUT/ge-py.time")"
    ;;
  esac
done
echo "runs in $OUT"
