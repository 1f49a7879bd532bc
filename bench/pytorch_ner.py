#!/usr/bin/env python3
"""The token-classification measurement, PyTorch side: transformers'
run_ner recipe on CoNLL-2003 English (../shared/data/conll2003, IOB1 as
distributed, converted to IOB2 as tunebench converts it), MiniLM-L6 with a
fresh BertForTokenClassification head:

  labels on the first piece of each word, -100 elsewhere (is_split_into_words,
  truncation at 128); AdamW lr 5e-5, weight decay 0, no warmup, linear decay,
  clipping 1.0 (the Trainer's defaults); batch 32, shuffled each epoch;
  test (eng.testb) scored by seqeval's default mode on first pieces.

bench/ner_compare.sh runs this beside `tunebench train`/`eval`.

    python3 bench/pytorch_ner.py [--epochs N] [--threads 2] [--seed 42]
"""
import argparse
import math
import random
import time

import torch
from seqeval.metrics import classification_report, f1_score
from transformers import AutoTokenizer, BertForTokenClassification, get_linear_schedule_with_warmup


def read_conll(path):
    sents, words, tags = [], [], []
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("-DOCSTART-"):
            if words:
                sents.append((words, tags))
                words, tags = [], []
            continue
        cols = line.split()
        words.append(cols[0])
        tags.append(cols[-1])
    if words:
        sents.append((words, tags))
    return [(w, iob1_to_iob2(t)) for w, t in sents]


def iob1_to_iob2(tags):
    out, prev = [], "O"
    for t in tags:
        if t != "O" and t.startswith("I-") and (prev == "O" or prev[2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm-dir", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="../shared/data/conll2003")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    train = read_conll(f"{args.data}/eng.train")
    test = read_conll(f"{args.data}/eng.testb")
    labels = sorted({t for _, ts in train for t in ts})
    label_id = {l: i for i, l in enumerate(labels)}
    tok = AutoTokenizer.from_pretrained(args.minilm_dir)
    model = BertForTokenClassification.from_pretrained(
        args.minilm_dir, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label_id)

    def encode(batch):
        enc = tok([w for w, _ in batch], is_split_into_words=True, truncation=True, max_length=128,
                  padding=True, return_tensors="pt")
        targets = []
        for i, (_, tags) in enumerate(batch):
            prev, row = None, []
            for w in enc.word_ids(i):
                row.append(-100 if w is None or w == prev else label_id[tags[w]])
                prev = w
            targets.append(row)
        return enc, torch.tensor(targets)

    per_epoch = math.ceil(len(train) / args.batch)
    steps = per_epoch * args.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
    sched = get_linear_schedule_with_warmup(opt, 0, steps)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        order = list(range(len(train)))
        random.shuffle(order)
        for s in range(per_epoch):
            batch = [train[i] for i in order[s * args.batch:(s + 1) * args.batch]]
            enc, target = encode(batch)
            loss = model(**enc, labels=target).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
    train_s = time.perf_counter() - t0
    model.eval()
    gold, pred = [], []
    with torch.inference_mode():
        for i in range(0, len(test), 64):
            batch = test[i:i + 64]
            enc, target = encode(batch)
            out = model(**enc).logits.argmax(-1)
            for r in range(len(batch)):
                keep = target[r] != -100
                gold.append([labels[x] for x in target[r][keep].tolist()])
                pred.append([labels[x] for x in out[r][keep].tolist()])
    speed = len(train) * args.epochs / train_s
    print(classification_report(gold, pred, digits=4))
    print(f"pytorch conll2003: test entity F1 {f1_score(gold, pred):.4f}"
          f" after {steps} steps in {train_s:.0f} s ({speed:.1f} samples/s)")


if __name__ == "__main__":
    main()
