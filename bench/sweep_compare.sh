#!/usr/bin/env bash
# Hyperparameter search, three arms side by side on one machine, one trial
# budget: (a) tunebench sweep, TPE + ASHA; (m) TPE + median (the defaults); (b) tunebench
# sweep, random sampling, no pruning; (c) Optuna's TPESampler +
# SuccessiveHalvingPruner driving `tunebench train` (bench/sweep_objective.py).
# Task: paraphrase-MiniLM-L3 on the first ROWS SST-2 train rows, SST-2 dev.
# Space: lr log 1e-5..1e-3, warmup 0..0.2, batch {16, 32}, weight_decay
# 0..0.1, epochs 1..3; evaluation every 20 steps; score: best dev accuracy.
# usage: [ARMS='a m b c'] [SEED=42] bench/sweep_compare.sh [TRIALS] [ROWS]   (default 16, 2000)
# Needs: python3 with optuna (arm c), the models of ../shared/tools/get-models.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/target/release/tunebench}
MODEL=${MODEL:-/tmp/tunebench-models/paraphrase-MiniLM-L3-v2}
SST2=${SST2:-$PWD/../shared/data/sst2}
PY=${PY:-python3}
TRIALS=${1:-16}
ROWS=${2:-2000}
ARMS=${ARMS:-a m b c}
SEED=${SEED:-42}
OUT=${OUT:-$(mktemp -d /tmp/tb-sweep-XXXX)}
head -$((ROWS + 1)) "$SST2/train.tsv" > "$OUT/train.tsv"
cat > "$OUT/base.toml" <<TOML
model = "$MODEL"
train_file = "$OUT/train.tsv"
val_file = "$SST2/dev.tsv"
max_len = 64
eval_every = 20
tensorboard = false

[search]
trials = $TRIALS
metric = "accuracy"
seed = $SEED
lr = { log_uniform = [1e-5, 1e-3] }
warmup_ratio = { uniform = [0.0, 0.2] }
batch_size = { choice = [16, 32] }
weight_decay = { uniform = [0.0, 0.1] }
epochs = { int = [1, 3] }
TOML
arm() { # name, extra --set...
  local name=$1
  shift
  local t0
  t0=$(date +%s.%N)
  "$BIN" sweep --config "$OUT/base.toml" --out "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1
  local t1
  t1=$(date +%s.%N)
  "$PY" - "$OUT/$name" "$name" "$t0" "$t1" <<'PY'
import json, statistics, sys
from datetime import datetime
d, name, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
logs = [json.loads(l) for l in open(d + "/study.journal")]
start, end, state, value = {}, {}, {}, {}
for l in logs:
    if l["op_code"] == 4:
        start[len(start)] = datetime.fromisoformat(l["datetime_start"]).timestamp()
    if l["op_code"] == 6:
        state[l["trial_id"]] = l["state"]
        end[l["trial_id"]] = datetime.fromisoformat(l["datetime_complete"]).timestamp()
        if l["values"]:
            value[l["trial_id"]] = l["values"][0]
best = max(v for t, v in value.items() if state[t] == 1)
gaps = [start[t + 1] - end[t] for t in range(len(start) - 1) if t in end]
pruned = sum(1 for s in state.values() if s == 2)
print(f"{name:<14} best {best*100:.2f}%  wall {t1 - t0:.0f} s  pruned {pruned}/{len(start)}  "
      f"sweep gap between trials: median {statistics.median(gaps):.3f} s", flush=True)
PY
}
for a in $ARMS; do
  case $a in
  a) arm tpe-asha --set 'search.pruner=asha' ;;
  m) arm tpe-median ;;
  b) arm random-none --set 'search.sampler=random' --set 'search.pruner=none' ;;
  c) "$PY" bench/sweep_objective.py "$BIN" "$OUT/optuna" "$OUT/train.tsv" "$SST2/dev.tsv" "$MODEL" "$TRIALS" "$SEED" | tail -1 ;;
  esac
done
echo "runs in $OUT"
