#!/usr/bin/env python3
"""Explain latency, tunebench vs Captum, one run: Integrated Gradients
(32 Gauss-Legendre steps, word embeddings, softmax of the predicted label)
for one ~20-token sentence on a fine-tuned MiniLM-L6, median of N.
tunebench's time is `predict --explain` on N copies minus `predict` on the
same N (model load and tokenization cancel out), divided by N.

    /tmp/pyenv/bin/python bench/explain_latency.py --checkpoint DIR [--n 10] [--threads 2]
"""
import argparse
import statistics
import subprocess
import tempfile
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
    times = []
    for _ in range(args.n + 2):
        t0 = time.perf_counter()
        lig.attribute(ids, baselines=base, additional_forward_args=(mask,), target=target,
                      n_steps=32, method="gausslegendre")
        times.append(time.perf_counter() - t0)
    captum_ms = statistics.median(times[2:]) * 1e3

    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write((SENTENCE + "\n") * args.n)
        f.flush()
        def run(*extra):
            t0 = time.perf_counter()
            subprocess.run([args.bin, "predict", "--checkpoint", args.checkpoint, "--input", f.name, *extra],
                           check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0
        run()  # warm the page cache
        plain = statistics.median(run() for _ in range(3))
        explained = statistics.median(run("--explain") for _ in range(3))
    ours_ms = (explained - plain) / args.n * 1e3
    print(f"tokens {ids.shape[1]}  steps 32  tunebench {ours_ms:.1f} ms  captum {captum_ms:.1f} ms  "
          f"captum/tunebench {captum_ms / ours_ms:.2f}")


if __name__ == "__main__":
    main()
