"""PyTorch + transformers side of `tunebench bench --objective mlm` (issue 44):
masked-LM training steps on MiniLM-L6 (BertForMaskedLM, its head initialised
as transformers does), SST-2 sentences packed into blocks of --block pieces
as run_mlm.py's group_texts does, each batch masked by
DataCollatorForWholeWordMask (15%), AdamW (weight decay 0.01), clipping 1.0.
Prints one JSON line shaped as tunebench's bench output.

    /tmp/alenv/bin/python bench/mlm_speed.py --threads 2 --block 128 --batch 32
    target/release/tunebench bench --objective mlm --models minilm --lens 128
"""
import argparse
import csv
import json
import resource
import time

import torch
from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForWholeWordMask


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    p.add_argument("--data", default="../shared/data/sst2/train.tsv")
    p.add_argument("--block", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(a.model)
    with open(a.data, newline="") as f:
        texts = [r["sentence"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    needed = (a.warmup + a.steps) * a.batch
    # group_texts: every text with its specials, one stream, cut in blocks.
    stream, blocks = [], []
    for i in range(0, len(texts), 2048):
        for ids in tok(texts[i:i + 2048])["input_ids"]:
            stream.extend(ids)
        while len(stream) >= a.block and len(blocks) < needed:
            blocks.append(stream[:a.block])
            stream = stream[a.block:]
        if len(blocks) >= needed:
            break
    model = BertForMaskedLM.from_pretrained(a.model)
    model.train()
    collator = DataCollatorForWholeWordMask(tok, mlm_probability=0.15)
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias") and "LayerNorm" not in n]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": rest, "weight_decay": 0.0}], lr=5e-5)
    t0 = time.perf_counter()
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            t0 = time.perf_counter()
        rows = blocks[step * a.batch:(step + 1) * a.batch]
        batch = collator([{"input_ids": r} for r in rows])
        out = model(input_ids=batch["input_ids"], labels=batch["labels"])
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    secs = time.perf_counter() - t0
    samples = a.steps * a.batch
    print(json.dumps({
        "implementation": "pytorch", "model": "minilm-mlm", "batch": a.batch, "max_len": a.block,
        "threads": a.threads, "train_samples_per_s": samples / secs,
        "train_tokens_per_s": samples * a.block / secs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "transformers": __import__("transformers").__version__}))


if __name__ == "__main__":
    main()
