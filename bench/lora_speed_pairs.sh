#!/usr/bin/env bash
# Adapter training speed, tunebench vs PyTorch + peft, interleaved A/B pairs
# on the first ROWS SST-2 rows (default 2000; batch 32, max_len 64, r 8,
# query,value): median samples/s over the steps of each run.
# METHOD: lora (default), dora, adalora, ia3 (peft's BERT targets) or
# prefix (20 virtual tokens; PY must have transformers < 5 for peft's side).
# usage: [ROWS=2000] [PAIRS=2] [TARGETS=query,value] [METHOD=lora] bench/lora_speed_pairs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/tunebench}
PY=${PY:-/tmp/pyenv/bin/python}
MODEL=${MODEL:-/tmp/tunebench-models/all-MiniLM-L6-v2}
SST2=${SST2:-../shared/data/sst2}
ROWS=${ROWS:-2000}
TARGETS=${TARGETS:-query,value}
OUT=$(mktemp -d /tmp/tb-lora-XXXX)
trap 'rm -rf "$OUT"' EXIT
head -$((ROWS + 1)) "$SST2/train.tsv" > "$OUT/train.tsv"
head -101 "$SST2/dev.tsv" > "$OUT/dev.tsv"
METHOD=${METHOD:-lora}
mode=$METHOD; [ "$TARGETS" = all-linear ] && [ "$METHOD" = lora ] && mode=lora-all
ours() {
  "$BIN" train --data "$OUT/train.tsv" --val "$OUT/dev.tsv" --model "$MODEL" --epochs 1 \
    --set max_len=64 --set "peft=$METHOD" --set "lora_targets=$TARGETS" --out "$OUT/run$1" > /dev/null
  python3 -c '
import json, statistics, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print("%.1f" % statistics.median(e["samples_per_s"] for e in ev if e["event"] == "step"))
' "$OUT/run$1/metrics.jsonl"
}
theirs() {
  "$PY" bench/pytorch_peft_sst2.py --mode "$mode" --rows "$ROWS" --no-eval 2>/dev/null |
    grep torch- | awk '{printf "%.1f\n", $(NF-5)}'
}
# The order alternates between pairs, so a machine that speeds up or
# slows down during the benchmark does not favour either side.
for i in $(seq "${PAIRS:-2}"); do
  if [ $((i % 2)) -eq 1 ]; then a=$(ours "$i"); b=$(theirs); else b=$(theirs); a=$(ours "$i"); fi
  echo "$a $b" >> "$OUT/pairs"
  printf "pair %d  tunebench %-9s %6.1f  pytorch %6.1f samples/s  ratio %.2f\n" "$i" "$mode" "$a" "$b" "$(python3 -c "print($a / $b)")"
done
python3 -c '
import statistics, sys
r = [float(a) / float(b) for a, b in (l.split() for l in open(sys.argv[1]))]
print("median ratio %.2f over %d pairs (min %.2f, max %.2f)" % (statistics.median(r), len(r), min(r), max(r)))
' "$OUT/pairs"
