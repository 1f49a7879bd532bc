#!/usr/bin/env python3
"""Explain latency, tunebench vs Captum, in alternating rounds: Integrated Gradients
(32 Gauss-Legendre steps, word embeddings, softmax of the predicted label)
for one ~20-token sentence on a fine-tuned MiniLM-L6, median of N.
Both are timed in process after two untimed runs: Captum here, tunebench
by `tunebench bench-explain` (median of N).

    /tmp/pyenv/bin/python bench/explain_latency.py --checkpoint DIR [--n 10] [--threads 2] [--rounds 4]
"""
import argparse
import statistics
import json
import os
import subprocess
import time

import torch
from captum.attr import LayerIntegratedGradients
from transformers import AutoModelForSequenceClassification, AutoTokenizer

SENTENCE = "a gorgeous , moving film whose quiet middle act drags a little before a fine ending"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--bin", default="target/release/tunebench")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint).eval()
    enc = tok(SENTENCE, return_tensors="pt", return_special_tokens_mask=True)
    ids, mask = enc["input_ids"], enc["attention_mask"]
    special = enc["special_tokens_mask"].bool()
    base = torch.where(special, ids, torch.full_like(ids, tok.pad_token_id))
    fwd = lambda i, m: model(input_ids=i, attention_mask=m).logits.softmax(-1)
    lig = LayerIntegratedGradients(fwd, model.base_model.embeddings.word_embeddings)
    target = int(fwd(ids, mask).argmax())

    def captum_ms():
        times = []
        for _ in range(args.n + 2):
            t0 = time.perf_counter()
            lig.attribute(ids, baselines=base, additional_forward_args=(mask,), target=target,
                          n_steps=32, method="gausslegendre")
            times.append(time.perf_counter() - t0)
        return statistics.median(times[2:]) * 1e3

    def ours_ms():
        out = subprocess.run([args.bin, "bench-explain", "--checkpoint", args.checkpoint, "--text", SENTENCE,
                              "--runs", str(args.n)], check=True, capture_output=True, text=True,
                             env={**os.environ, "RAYON_NUM_THREADS": str(args.threads)}).stdout
        ours = json.loads(out)
        assert ours["tokens"] == ids.shape[1], (ours, ids.shape)
        return ours["explain_ms_median"]

    # Rounds alternate which side goes first; this machine's speed drifts
    # within minutes, so only a round's own ratio compares like with like.
    ratios = []
    for r in range(args.rounds):
        first, second = (captum_ms, ours_ms) if r % 2 == 0 else (ours_ms, captum_ms)
        a, b = first(), second()
        theirs, ours = (a, b) if r % 2 == 0 else (b, a)
        ratios.append(theirs / ours)
        print(f"round {r + 1}: tokens {ids.shape[1]}  steps 32  tunebench {ours:.1f} ms  captum {theirs:.1f} ms  "
              f"captum/tunebench {theirs / ours:.2f}", flush=True)
    print(f"median captum/tunebench over {args.rounds} rounds: {statistics.median(ratios):.2f}")

if __name__ == "__main__":
    main()
