#!/usr/bin/env python3
"""The quality check of the speed issue, PyTorch side: fine-tune MiniLM-L6
on the first 8,000 SST-2 train rows (1 epoch, batch 32, max_len 128, lr 5e-5,
10% linear warmup, weight decay 0.01 off biases/LayerNorm, clipping 1.0,
dropout as configured) and print SST-2 dev accuracy. The tunebench side:

    tunebench train --data sst2-first-8000.tsv --val ../shared/data/sst2/dev.tsv \\
      --model /tmp/tunebench-models/all-MiniLM-L6-v2 --epochs 1 \\
      --set lr=5e-5 --set warmup_ratio=0.1 --set batch_size=32 --set max_len=128

    python3 bench/pytorch_sst2_finetune.py [--minilm-dir DIR] [--data DIR] [--threads 2] [--seed 42]
"""
import argparse
import math
import random
import time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup


def read(path, limit=None):
    with open(path) as f:
        next(f)
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    rows = [(t.strip(), int(y)) for t, y in rows]
    return rows[:limit] if limit else rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm-dir", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="../shared/data/sst2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.minilm_dir)
    model = BertForSequenceClassification.from_pretrained(args.minilm_dir, num_labels=2)
    train = read(f"{args.data}/train.tsv", 8000)
    dev = read(f"{args.data}/dev.tsv")
    steps = math.ceil(len(train) / 32)
    no_decay = [n for n, _ in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0},
    ], lr=5e-5)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * steps), steps)
    order = list(range(len(train)))
    random.shuffle(order)
    model.train()
    t0 = time.perf_counter()
    for s in range(steps):
        batch = [train[i] for i in order[s * 32:(s + 1) * 32]]
        enc = tok([b[0] for b in batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
        loss = model(**enc, labels=torch.tensor([b[1] for b in batch])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    train_s = time.perf_counter() - t0
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(dev), 64):
            batch = dev[i:i + 64]
            enc = tok([b[0] for b in batch], padding=True, truncation=True, max_length=128, return_tensors="pt")
            pred = model(**enc).logits.argmax(-1).tolist()
            correct += sum(int(p == b[1]) for p, b in zip(pred, batch))
    print(f"pytorch: SST-2 dev accuracy {100 * correct / len(dev):.2f}% after {steps} steps in {train_s:.0f} s")


if __name__ == "__main__":
    main()
