"""The labelling benchmark of issue 43 in small-text, beside
`tunebench label simulate` on the same data, model and recipe.

Protocol (as `bench/label_agnews.sh` runs tunebench): a pool with its labels
hidden, `--seed-size` random labeled rows, then `--rounds` queries of
`--query` rows; every round a fresh MiniLM fine-tune (small-text's default:
no weights carried over) of `--epochs` epochs, batch `--batch`, lr `--lr`,
`--max-len` tokens; the pool scored on a random sub-pool of `--pool-sample`
(small-text's SubsamplingQueryStrategy); accuracy on the validation rows
after every round, round 0 included.

Writes CSV rows `strategy,seed,round,labels,metric,seconds` (the simulator's
learning_curve.csv header) to --out.

    /tmp/alenv/bin/pip install small-text torch transformers scikit-learn
    python3 bench/label_agnews_data.py /tmp/agnews 1000
    /tmp/alenv/bin/python bench/label_small_text.py --pool /tmp/agnews/pool.tsv \\
        --val /tmp/agnews/val.csv --model /tmp/tunebench-models/all-MiniLM-L6-v2 \\
        --strategy breaking_ties --rounds 10 --out /tmp/agnews/small-text.csv
"""
import argparse
import csv
import time

import numpy as np
import torch
from small_text import (
    BreakingTies,
    PoolBasedActiveLearner,
    RandomSampling,
    SubsamplingQueryStrategy,
    TransformerBasedClassificationFactory,
    TransformerModelArguments,
    TransformersDataset,
)
from transformers import AutoTokenizer


def read(path, delimiter):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=delimiter))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pool", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--strategy", default="breaking_ties", choices=["breaking_ties", "random"])
    p.add_argument("--seed-size", type=int, default=25)
    p.add_argument("--query", type=int, default=25)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--pool-sample", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(int(__import__("os").environ.get("OMP_NUM_THREADS", "1")))

    texts, labels = read(a.pool, "\t")
    val_texts, val_labels = read(a.val, ",")
    names = sorted(set(labels))
    y = np.array([names.index(l) for l in labels])
    val_y = np.array([names.index(l) for l in val_labels])
    tok = AutoTokenizer.from_pretrained(a.model)
    train = TransformersDataset.from_arrays(
        texts, y, tok, max_length=a.max_len, target_labels=np.arange(len(names))
    )
    val = TransformersDataset.from_arrays(
        val_texts, val_y, tok, max_length=a.max_len, target_labels=np.arange(len(names))
    )
    out = open(a.out, "w", newline="")
    w = csv.writer(out)
    w.writerow(["strategy", "seed", "round", "labels", "metric", "seconds"])
    for seed in range(a.seeds):
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        factory = TransformerBasedClassificationFactory(
            TransformerModelArguments(a.model),
            num_classes=len(names),
            kwargs=dict(
                device="cpu",
                num_epochs=a.epochs,
                mini_batch_size=a.batch,
                lr=a.lr,
            ),
        )
        inner = BreakingTies() if a.strategy == "breaking_ties" else RandomSampling()
        strategy = SubsamplingQueryStrategy(inner, subsample_size=a.pool_sample)
        learner = PoolBasedActiveLearner(factory, strategy, train)
        first = rng.choice(len(texts), a.seed_size, replace=False)
        t0 = time.perf_counter()
        learner.initialize_data(first, y[first])
        labeled = a.seed_size
        for r in range(a.rounds + 1):
            accuracy = float((learner.classifier.predict(val) == val_y).mean())
            if r < a.rounds:
                picked = learner.query(num_samples=a.query)
                learner.update(y[picked])
            seconds = time.perf_counter() - t0
            w.writerow([a.strategy, seed, r, labeled, f"{accuracy:.4f}", f"{seconds:.1f}"])
            out.flush()
            print(f"{a.strategy} seed {seed} round {r}: {labeled} labels accuracy {accuracy:.4f} ({seconds:.1f}s)", flush=True)
            labeled += a.query
            t0 = time.perf_counter()


if __name__ == "__main__":
    main()
