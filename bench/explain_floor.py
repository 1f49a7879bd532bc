#!/usr/bin/env python3
"""The matrix-product floor of one explanation on this machine: the
multiply-adds of Integrated Gradients' batched pass (forward and input
gradients of STEPS x TOKENS rows through every layer; the last layer on
[CLS] only, as tunebench runs it) timed at the best single-precision gemm
rate this machine's BLAS libraries reach on the pass's own shapes
(torch and numpy/OpenBLAS, median of 7 x 50 products each).

    /tmp/pyenv/bin/python bench/explain_floor.py --checkpoint DIR [--tokens 19] [--steps 32] [--threads 2]

The floor is what the products alone take at that rate; everything else
(softmax, LayerNorm, GELU, copies) comes on top.
"""
import argparse
import json
import os
import statistics
import time


def shapes(cfg, tokens, steps):
    """(m, k, n, count) of the pass's products, forward; the input-gradient
    products have the same multiply-adds (dX = dY . W)."""
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    rows = tokens * steps
    full = [(rows, h, 3 * h, 1), (rows, h, h, 1), (rows, h, i, 1), (rows, i, h, 1)]
    out = [(m, k, n, c * (layers - 1)) for m, k, n, c in full]
    # Last layer: keys and values of every token, the rest for [CLS] rows.
    out += [(rows, h, 2 * h, 1), (steps, h, h, 2), (steps, h, i, 1), (steps, i, h, 1)]
    return out


def rate(mm, m, k, n, make):
    a, b = make(m, k), make(k, n)
    for _ in range(10):
        mm(a, b)
    times = []
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(50):
            mm(a, b)
        times.append((time.perf_counter() - t) / 50)
    return 2 * m * k * n / statistics.median(times) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokens", type=int, default=19)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    cfg = json.load(open(os.path.join(args.checkpoint, "config.json")))
    libs = {
        "torch": (lambda a, b: a @ b, lambda r, c: torch.randn(r, c)),
        "numpy": (lambda a, b: a @ b, lambda r, c: np.random.rand(r, c).astype(np.float32)),
    }
    total_flop = 0.0
    seconds = {name: 0.0 for name in libs}
    for m, k, n, count in shapes(cfg, args.tokens, args.steps):
        flop = 2 * 2 * m * k * n * count  # forward + input gradients
        total_flop += flop
        line = f"{m:5d} x {k:5d} x {n:5d}  x{count * 2:3d}"
        for name, (mm, make) in libs.items():
            r = rate(mm, m, k, n, make)
            seconds[name] += flop / (r * 1e9)
            line += f"  {name} {r:6.1f} GFLOP/s"
        print(line)
    best = min(seconds.values())
    print(f"pass: {total_flop / 1e9:.1f} GFLOP of products; floor at this machine's gemm: "
          + ", ".join(f"{n} {s * 1e3:.0f} ms" for n, s in seconds.items())
          + f" (best {best * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
