#!/usr/bin/env bash
# Where a CUDA training step spends GPU time: runs one bench case under
# Nsight Compute (kernel durations only, clocks left alone) and prints the
# kernels grouped by name, longest total first, with the wall time of the
# same steps unprofiled for comparison (wall >> kernel sum: CPU-bound).
#
#   scripts/gpu-profile.sh [BUNDLE]    # CASE=minilm:128 BATCH=32 PRECISION=bf16
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/gpu-env.sh "${1:-}"
case="${CASE:-minilm:128}" batch="${BATCH:-32}" precision="${PRECISION:-bf16}"
out="${OUT:-$root/gpu-profile-out}"
mkdir -p "$out"
args=(bench --case "$case" --batch "$batch" --device cuda --precision "$precision"
      --eval-batches 0 --predict-runs 0 --data "$sst2/train.tsv" --minilm-dir "$minilm")
say "unprofiled: 5 warm-up + 20 timed steps"
"$bin" "${args[@]}" --warmup 5 --steps 20
say "profiled: kernels of 1 warm-up + 2 steps (ncu)"
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
"$ncu" --clock-control none --metrics gpu__time_duration.sum --csv \
  "$bin" "${args[@]}" --warmup 1 --steps 2 > "$out/ncu.csv" 2> "$out/ncu.err"
"$python" - "$out/ncu.csv" <<'PY'
import csv, sys, collections
rows = list(csv.reader(open(sys.argv[1])))
start = next(i for i, r in enumerate(rows) if r[:1] == ["ID"])
head, rows = rows[start], [r for r in rows[start + 1:] if len(r) == len(rows[start])]
name_i, val_i = head.index("Kernel Name"), head.index("Metric Value")
unit_i = head.index("Metric Unit")
tot, cnt = collections.Counter(), collections.Counter()
for r in rows:
    v = float(r[val_i].replace(",", ""))
    v *= {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3}[r[unit_i]]
    k = r[name_i].split("(")[0][:60]
    tot[k] += v
    cnt[k] += 1
all_us = sum(tot.values())
print(f"{len(rows)} kernels, {all_us / 1e3:.1f} ms of kernel time over 3 steps ({all_us / 3e3:.1f} ms/step)")
for k, v in tot.most_common(30):
    print(f"{v / 1e3:9.2f} ms {100 * v / all_us:5.1f}% {cnt[k]:6d}x  {k}")
PY
