#!/usr/bin/env python3
"""Print tunebench / PyTorch ratios per case from two JSONL files written by
`tunebench bench` and bench/pytorch_reference.py (compare.sh, gpu-check.sh).

    python3 bench/ratios.py tunebench.jsonl pytorch.jsonl

Throughput ratios above 1 favour tunebench; latency and memory below 1.
"""
import json
import sys

COLUMNS = [("train_samples_per_s", "train/s"), ("eval_samples_per_s", "eval/s"),
           ("predict_ms_median", "predict ms"), ("peak_rss_mb", "RSS MB"),
           ("peak_device_mem_mib", "GPU MiB")]


def load(path):
    rows = (json.loads(line) for line in open(path) if line.strip())
    return {(r["model"], r.get("precision", "f32"), r["batch"], r["max_len"]): r for r in rows}


def main():
    ours, ref = load(sys.argv[1]), load(sys.argv[2])
    keys = [k for k in sorted(ours) if k in ref]
    cols = [(c, n) for c, n in COLUMNS if any(ours[k].get(c) and ref[k].get(c) for k in keys)]
    print(f"{'case':<22}" + "".join(f"{name:>28}" for _, name in cols))
    for key in keys:
        a, b = ours[key], ref[key]
        cells = "".join(
            f"{a[c]:>10.1f} /{b[c]:>8.1f} ={a[c] / b[c]:>5.2f}x" if a.get(c) and b.get(c) else f"{'-':>28}"
            for c, _ in cols)
        model, precision, batch, length = key
        print(f"{f'{model} {precision} {batch}x{length}':<22}{cells}")
    print("cells: tunebench / pytorch = ratio")


if __name__ == "__main__":
    main()
