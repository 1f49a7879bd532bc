#!/usr/bin/env python3
"""PyTorch + transformers side of `tunebench bench`: the same cases, data,
packing, batch, length, optimizer and thread count, one JSON line per case.
Run by hand (not in CI); bench/compare.sh runs both and prints the ratios.

    python3 bench/pytorch_reference.py [--models tiny,mini,minilm] [--lens 64,128]
        [--threads 2] [--data ../shared/data/sst2/train.tsv]
        [--minilm-dir /tmp/tunebench-models/all-MiniLM-L6-v2]
        [--device cpu|cuda] [--precision f32|bf16|f16]

On CUDA, bf16/f16 is PyTorch's standard mixed precision (f32 weights and
AdamW state, torch.autocast for the forward, GradScaler for f16), the scheme
tunebench uses; eager mode, transformers' default (sdpa) attention.

Needs torch, transformers and tokenizers. Every case runs in its own process
(peak RSS is per case, as in tunebench).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SHAPES = {"tiny": (2, 128, 2), "mini": (4, 256, 4)}  # layers, hidden, heads (BERT-tiny/mini)
SENTENCE = "a gripping , beautifully acted story that never loses its nerve"


def packed_rows(tok, data, max_len, count):
    """SST-2 sentences packed to exactly max_len ids, as tunebench::bench does."""
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    rows, buf, label = [], [], None
    with open(data) as f:
        next(f)
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    texts = [l[0].strip() for l in lines]
    raw = [l[1].strip() for l in lines]
    names = sorted(set(raw), key=lambda n: (0, int(n)) if n.lstrip("-").isdigit() else (1, n))
    ids = [names.index(r) for r in raw]
    while True:  # large batches can need more text than the file has
        before = len(rows)
        for start in range(0, len(texts), 512):
            encs = tok.encode_batch(texts[start:start + 512], add_special_tokens=False)
            for enc, y in zip(encs, ids[start:start + 512]):
                if label is None:
                    label = y
                buf.extend(enc.ids)
                if len(buf) >= max_len - 2:
                    rows.append(([cls] + buf[:max_len - 2] + [sep], label))
                    buf, label = [], None
                    if len(rows) == count:
                        return rows
        if len(rows) == before:
            raise SystemExit(f"not enough text for one row of {max_len} tokens")


def run_case(model_name, max_len, args):
    import torch
    from tokenizers import Tokenizer
    from transformers import BertConfig, BertForSequenceClassification, AutoTokenizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    amp_dtype = {"f32": None, "bf16": torch.bfloat16, "f16": torch.float16}[args.precision]

    def autocast():
        return torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def device_mem_mib():
        if not cuda:
            return None
        free, total = torch.cuda.mem_get_info()
        return (total - free) / 2**20
    tok = Tokenizer.from_file(os.path.join(args.minilm_dir, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    if model_name == "minilm":
        # f32 master weights whatever the file holds (transformers 5 keeps
        # the checkpoint's dtype by default).
        model = BertForSequenceClassification.from_pretrained(
            args.minilm_dir, num_labels=2, dtype=torch.float32)
    else:
        layers, hidden, heads = SHAPES[model_name]
        cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, intermediate_size=4 * hidden, num_labels=2)
        model = BertForSequenceClassification(cfg)
    model.to(dev)
    train_batches = args.warmup + args.steps
    rows = packed_rows(tok, args.data, max_len, (train_batches + args.eval_batches) * args.batch)
    batches = []
    for i in range(0, len(rows), args.batch):
        chunk = rows[i:i + args.batch]
        ids = torch.tensor([r[0] for r in chunk], device=dev)
        batches.append((ids, torch.ones_like(ids), torch.tensor([r[1] for r in chunk], device=dev)))

    no_decay = [n for n, _ in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    groups = [
        {"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=2e-5, betas=(0.9, 0.999), eps=1e-8)
    scaler = torch.amp.GradScaler(dev.type, enabled=args.precision == "f16")
    model.train()
    peak_mem = None
    t0 = time.perf_counter()
    for i, (ids, mask, labels) in enumerate(batches[:train_batches]):
        if i == args.warmup:
            sync()
            t0 = time.perf_counter()
        with autocast():
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        if cuda:
            peak_mem = max(peak_mem or 0.0, device_mem_mib())
    sync()
    train_s = time.perf_counter() - t0
    if cuda:
        peak_mem = max(peak_mem or 0.0, device_mem_mib())

    model.eval()
    eval_batches = batches[train_batches:]
    t0 = time.perf_counter()
    with torch.inference_mode(), autocast():
        for ids, mask, _ in eval_batches:
            model(input_ids=ids, attention_mask=mask).logits.tolist()
    eval_s = time.perf_counter() - t0

    hf_tok = AutoTokenizer.from_pretrained(args.minilm_dir)
    times = []
    with torch.inference_mode(), autocast():
        for i in range(args.predict_runs + 5):
            t0 = time.perf_counter()
            enc = hf_tok([SENTENCE], return_tensors="pt", truncation=True, max_length=max_len).to(dev)
            model(**enc).logits.softmax(-1).tolist()
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    samples = args.steps * args.batch
    return {
        "implementation": "pytorch",
        "model": model_name,
        "batch": args.batch,
        "max_len": max_len,
        "threads": args.threads,
        "device": torch.cuda.get_device_name(dev) if cuda else "cpu",
        "precision": args.precision,
        "train_samples_per_s": samples / train_s,
        "train_tokens_per_s": samples * max_len / train_s,
        "eval_samples_per_s": len(eval_batches) * args.batch / eval_s,
        "predict_ms_median": times[len(times) // 2],
        "predict_ms_p90": times[round((len(times) - 1) * 0.9)],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "peak_device_mem_mib": peak_mem,
        "torch_max_allocated_mib": torch.cuda.max_memory_allocated(dev) / 2**20 if cuda else None,
        "torch": torch.__version__,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="tiny,mini,minilm")
    ap.add_argument("--lens", default="64,128")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="../shared/data/sst2/train.tsv")
    ap.add_argument("--minilm-dir", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--eval-batches", type=int, default=8)
    ap.add_argument("--predict-runs", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16", "f16"])
    ap.add_argument("--case")
    args = ap.parse_args()
    if args.case:
        model, length = args.case.split(":")
        print(json.dumps(run_case(model, int(length), args)), flush=True)
        return
    for model in args.models.split(","):
        for length in args.lens.split(","):
            cmd = [sys.executable, __file__, "--case", f"{model}:{length}"] + [
                a for kv in [("--batch", args.batch), ("--threads", args.threads), ("--data", args.data),
                             ("--minilm-dir", args.minilm_dir), ("--warmup", args.warmup),
                             ("--steps", args.steps), ("--device", args.device),
                             ("--precision", args.precision)] for a in (kv[0], str(kv[1]))]
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM="false")
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                print(f"case {model}:{length} failed: {out.stderr.strip()[-500:]}", file=sys.stderr)
            else:
                print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
