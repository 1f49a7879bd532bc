#!/usr/bin/env bash
# tunebench serve vs a PyTorch + transformers + FastAPI server
# (bench/pytorch_serve.py), same checkpoint, same client (bench-serve), one
# run: req/s and p50/p90/p99 at concurrency 1, 8, 64, short and long texts.
# usage: CK=CHECKPOINT_DIR [N=300] [PY=/tmp/pyenv/bin/python] bench/serve_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/tunebench}
PY=${PY:-/tmp/pyenv/bin/python}
CK=${CK:?set CK to a fine-tuned classifier directory}
N=${N:-300}
"$BIN" serve --checkpoint "$CK" --port 18080 > /dev/null 2>&1 &
P1=$!
"$PY" bench/pytorch_serve.py --checkpoint "$CK" --port 18081 > /dev/null 2>&1 &
P2=$!
trap 'kill $P1 $P2 2>/dev/null' EXIT
for port in 18080 18081; do
  until curl -sf "http://127.0.0.1:$port/predict" -H 'Content-Type: application/json' -d '{"inputs":"warm up"}' > /dev/null; do sleep 0.5; done
done
table() {
  python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    d["who"] = sys.argv[1]
    print("%(who)-10s %(texts)-5s c=%(concurrency)-3d n=%(requests)-4d errors=%(errors)d %(req_per_s)7.1f req/s  p50 %(p50_ms)7.1f  p90 %(p90_ms)7.1f  p99 %(p99_ms)7.1f ms" % d)
' "$1"
}
"$BIN" bench-serve --url http://127.0.0.1:18080 --requests "$N" --seconds 30 | table tunebench
"$BIN" bench-serve --url http://127.0.0.1:18081 --requests "$N" --seconds 30 | table pytorch
