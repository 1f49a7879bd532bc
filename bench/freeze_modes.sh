#!/usr/bin/env bash
# Full fine-tune vs frozen encoder (linear probe) vs partly frozen vs LoRA,
# DoRA and (IA)³,
# side by side: MiniLM-L6 on the first 8,000 SST-2 train rows, 1 epoch,
# SST-2 dev. MODES picks a subset (default: all).
# Prints one line per run: mode, lr, seed, dev accuracy, trainable share,
# samples/s (median of the step events) and the run process's peak RSS.
# usage: bench/freeze_modes.sh [seeds...]   (default: 42)
#        MODES="ia3-2e-3 ia3-1e-2" IA3_LRS="2e-3 1e-2" bench/freeze_modes.sh   (an lr sweep)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/tunebench}
MODEL=${MODEL:-/tmp/tunebench-models/all-MiniLM-L6-v2}
SST2=${SST2:-../shared/data/sst2}
OUT=$(mktemp -d /tmp/tb-freeze-XXXX)
head -8001 "$SST2/train.tsv" > "$OUT/train8k.tsv"
seeds=${*:-42}
modes=${MODES:-full probe probe-5e-5 layers:3 lora lora-all dora adalora ia3 prefix}
run() { # mode freeze lr seed [extra --set ...]
  local dir="$OUT/$1-$3-$4" lrset=()
  case " $modes " in *" $1 "*) ;; *) return 0 ;; esac
  [ "$3" != auto ] && lrset=(--set "lr=$3")
  "$BIN" train --data "$OUT/train8k.tsv" --val "$SST2/dev.tsv" --model "$MODEL" \
    --epochs 1 --seed "$4" --set max_len=64 --set "freeze=$2" "${lrset[@]}" "${@:5}" --out "$dir" > "$dir.log"
  python3 - "$dir" "$1" "$3" "$4" <<'PY'
import json, statistics, sys, re
d, mode, lr, seed = sys.argv[1:]
ev = [json.loads(l) for l in open(d + "/metrics.jsonl")]
st = next(e for e in ev if e["event"] == "started")
acc = [e for e in ev if e["event"] == "eval"][-1]["accuracy"]
sps = statistics.median(e["samples_per_s"] for e in ev if e["event"] == "step")
lr_used = re.search(r"^lr = (.*)$", open(d + "/config.toml").read(), re.M)
rss = re.findall(r"peak RSS (\d+) kB", open(d + "/train.log").read())
print(f"{mode:<14} lr {lr_used.group(1) if lr_used else lr:<8} seed {seed:<3} dev acc {acc*100:.2f}%  "
      f"trainable {st.get('trainable', st['params'])/st['params']*100:5.1f}% ({st.get('trainable', st['params'])})  "
      f"{sps:6.1f} samples/s  peak RSS {int(rss[-1])//1024 if rss else '?'} MiB", flush=True)
PY
}
for seed in $seeds; do
  run full none auto "$seed"
  run probe encoder auto "$seed"
  run probe-5e-5 encoder 5e-5 "$seed"
  run layers:3 layers:3 auto "$seed"
  run lora none auto "$seed" --set peft=lora
  run lora-all none auto "$seed" --set peft=lora --set lora_targets=all-linear
  run dora none auto "$seed" --set peft=dora
  run adalora none auto "$seed" --set peft=adalora
  run ia3 none auto "$seed" --set peft=ia3
  run prefix none auto "$seed" --set peft=prefix
  for lr in ${IA3_LRS:-}; do run "ia3-$lr" none "$lr" "$seed" --set peft=ia3; done
done
rm -rf "$OUT"
