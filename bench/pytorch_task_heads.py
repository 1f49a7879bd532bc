#!/usr/bin/env python3
"""The task-heads measurement, PyTorch side: MiniLM-L6 fine-tuned as
tunebench fine-tunes it (AdamW, lr 5e-5, batch 32, max_len 128, 10% linear
warmup, weight decay 0.01 off biases/LayerNorm, clipping 1.0, shuffled
each epoch), with transformers' `problem_type` losses:

  stsb        sentence-pair regression (MSE); prints dev Pearson/Spearman
  goemotions  multi-label (BCE with logits) over 28 labels; prints test
              micro-/macro-F1 and samples Jaccard decided at 0.5 (what
              transformers' examples do), and with the old per-label
              best-F1 thresholds tuned on dev, for comparison

bench/task_heads.sh runs this beside `tunebench train`/`eval`.

    python3 bench/pytorch_task_heads.py stsb|goemotions [--epochs N] [--threads 2] [--seed 42]
"""
import argparse
import csv
import math
import random
import time

import numpy as np
import torch
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup


def stsb(path):
    with open(path) as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    head = rows[0]
    a, b, s = head.index("sentence1"), head.index("sentence2"), head.index("score")
    return [((r[a], r[b]), float(r[s])) for r in rows[1:] if len(r) == len(head)]


def goemotions(path):
    with open(path) as f:
        return [((r[0], None), [int(x) for x in r[1].split(",")]) for r in csv.reader(f, delimiter="\t")]


def encode(tok, batch):
    first = [x[0][0] for x in batch]
    second = [x[0][1] for x in batch]
    if second[0] is None:
        return tok(first, padding=True, truncation=True, max_length=128, return_tensors="pt")
    return tok(first, second, padding=True, truncation=True, max_length=128, return_tensors="pt")


def f1(tp, fp, fn):
    return 0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def tune(truth, probs):
    grid = [round(i * 0.05, 2) for i in range(1, 20)]
    out = []
    for j in range(truth.shape[1]):
        best = (-1.0, 0.5)
        for t in grid:
            p = probs[:, j] >= t
            y = truth[:, j] > 0.5
            v = f1(int((p & y).sum()), int((p & ~y).sum()), int((~p & y).sum()))
            if v > best[0] or (v == best[0] and abs(t - 0.5) < abs(best[1] - 0.5)):
                best = (v, t)
        out.append(best[1])
    return np.array(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["stsb", "goemotions"])
    ap.add_argument("--minilm-dir", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.minilm_dir)
    if args.task == "stsb":
        train, dev = stsb(f"{args.data}/stsb/train.tsv"), stsb(f"{args.data}/stsb/dev.tsv")
        test = None
        model = BertForSequenceClassification.from_pretrained(
            args.minilm_dir, num_labels=1, problem_type="regression")
        target = lambda batch: torch.tensor([b[1] for b in batch])
    else:
        d = f"{args.data}/goemotions"
        train, dev, test = goemotions(f"{d}/train.tsv"), goemotions(f"{d}/dev.tsv"), goemotions(f"{d}/test.tsv")
        model = BertForSequenceClassification.from_pretrained(
            args.minilm_dir, num_labels=28, problem_type="multi_label_classification")

        def target(batch):
            t = torch.zeros(len(batch), 28)
            for i, b in enumerate(batch):
                t[i, b[1]] = 1.0
            return t
    per_epoch = math.ceil(len(train) / 32)
    steps = per_epoch * args.epochs
    no_decay = [n for n, _ in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0},
    ], lr=5e-5)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * steps), steps)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        order = list(range(len(train)))
        random.shuffle(order)
        for s in range(per_epoch):
            batch = [train[i] for i in order[s * 32:(s + 1) * 32]]
            loss = model(**encode(tok, batch), labels=target(batch)).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
    train_s = time.perf_counter() - t0
    model.eval()

    def outputs(rows):
        out = []
        with torch.inference_mode():
            for i in range(0, len(rows), 64):
                out.append(model(**encode(tok, rows[i:i + 64])).logits)
        return torch.cat(out).numpy()
    speed = len(train) * args.epochs / train_s
    if args.task == "stsb":
        from scipy.stats import pearsonr, spearmanr
        pred = outputs(dev)[:, 0]
        gold = np.array([b[1] for b in dev])
        print(f"pytorch stsb: dev Pearson {pearsonr(gold, pred)[0]:.4f} Spearman {spearmanr(gold, pred)[0]:.4f}"
              f" after {steps} steps in {train_s:.0f} s ({speed:.1f} samples/s)")
        return
    sig = lambda x: 1 / (1 + np.exp(-x))
    hot = lambda rows: target(rows).numpy()
    truth, test_probs = hot(test) > 0.5, sig(outputs(test))
    for name, thresholds in [("0.5", 0.5), ("per-label best-F1 on dev", tune(hot(dev), sig(outputs(dev))))]:
        pred = test_probs >= thresholds
        tp, fp, fn = (pred & truth).sum(0), (pred & ~truth).sum(0), (~pred & truth).sum(0)
        micro = f1(tp.sum(), fp.sum(), fn.sum())
        macro = np.mean([f1(a, b, c) for a, b, c in zip(tp, fp, fn)])
        union = (pred | truth).sum(1)
        jaccard = np.mean(np.where(union > 0, (pred & truth).sum(1) / np.maximum(union, 1), 0.0))
        print(f"pytorch goemotions at {name}: test micro-F1 {micro:.4f} macro-F1 {macro:.4f} Jaccard {jaccard:.4f}"
              f" after {steps} steps in {train_s:.0f} s ({speed:.1f} samples/s)")


if __name__ == "__main__":
    main()
