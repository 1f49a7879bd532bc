#!/usr/bin/env python3
"""The PEFT issue's recipe in PyTorch + peft, for side-by-side runs with
bench/freeze_modes.sh: MiniLM-L6 on the first 8,000 SST-2 train rows,
1 epoch, batch 32, max_len 64, 10% linear warmup, AdamW (weight decay 0.01
off biases/LayerNorm), clipping 1.0, dropout 0.1 — and tunebench's default
learning rate per mode (full 5e-5, LoRA 2e-3, frozen encoder 1e-3).

Modes: full; lora (r 8, alpha 16, dropout 0.1, query,value; classifier and
pooler train in full, as tunebench's LoRA runs); lora-all (every linear of
the encoder layers); dora (lora with use_dora); adalora (init_r 12 →
target_r 8, update_and_allocate after every step); ia3 (peft's BERT defaults);
prefix (20 virtual tokens, no MLP; transformers < 5 only);
probe (encoder frozen; pooler and classifier train).
The text is tokenized once before training (as tunebench does), so the
step time is forward + backward + optimizer.

Prints the line format of freeze_modes.sh (samples/s = median over steps;
peak RSS of this process):
    /tmp/pyenv/bin/python bench/pytorch_peft_sst2.py --mode lora --seed 42
"""
import argparse
import math
import random
import resource
import statistics
import time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup

from pytorch_sst2_finetune import read  # the same GLUE TSV reader

DEFAULT_LR = {"full": 5e-5, "lora": 2e-3, "lora-all": 2e-3, "dora": 2e-3, "adalora": 2e-3, "ia3": 1e-2,
              "prefix": 5e-3,
              "probe": 1e-3}
ALL_LINEAR = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


def build(mode, model_dir, total_steps):
    model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2)
    if mode in ("lora", "lora-all", "dora"):
        from peft import LoraConfig, get_peft_model
        targets = ALL_LINEAR if mode == "lora-all" else ["query", "value"]
        cfg = LoraConfig(task_type="SEQ_CLS", r=8, lora_alpha=16, lora_dropout=0.1,
                         use_dora=mode == "dora",
                         target_modules=targets, modules_to_save=["classifier", "pooler"])
        model = get_peft_model(model, cfg)
    elif mode == "adalora":
        from peft import AdaLoraConfig, get_peft_model
        # tunebench's defaults: peft's schedule (tinit 0, tfinal 0, deltaT 1),
        # init_r 12 → target_r 8, lora_alpha 16, dropout 0.1, query,value.
        cfg = AdaLoraConfig(task_type="SEQ_CLS", init_r=12, target_r=8, lora_alpha=16,
                            lora_dropout=0.1, total_step=total_steps,
                            target_modules=["query", "value"],
                            modules_to_save=["classifier", "pooler"])
        model = get_peft_model(model, cfg)
    elif mode == "prefix":
        # Needs transformers < 5 (past_key_values into BERT): run this mode
        # with a venv holding transformers 4.57.
        from peft import PrefixTuningConfig, get_peft_model
        model = get_peft_model(model, PrefixTuningConfig(
            task_type="SEQ_CLS", num_virtual_tokens=20, modules_to_save=["classifier", "pooler"]))
    elif mode == "ia3":
        from peft import IA3Config, get_peft_model
        # peft's BERT defaults: key, value, output.dense (feed-forward).
        model = get_peft_model(model, IA3Config(task_type="SEQ_CLS",
                                                modules_to_save=["classifier", "pooler"]))
    elif mode == "probe":
        for n, p in model.named_parameters():
            p.requires_grad = n.startswith(("bert.pooler", "classifier"))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=sorted(DEFAULT_LR), default="lora")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--minilm-dir", default="/tmp/tunebench-models/all-MiniLM-L6-v2")
    ap.add_argument("--data", default="../shared/data/sst2")
    ap.add_argument("--rows", type=int, default=8000)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--no-eval", action="store_true", help="speed only")
    args = ap.parse_args()
    lr = args.lr or DEFAULT_LR[args.mode]
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    tok = AutoTokenizer.from_pretrained(args.minilm_dir)
    model = build(args.mode, args.minilm_dir, math.ceil(min(args.rows, 67349) / 32))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    train = read(f"{args.data}/train.tsv", args.rows)
    dev = read(f"{args.data}/dev.tsv")
    encode = lambda rows: tok([r[0] for r in rows], truncation=True, max_length=args.max_len)["input_ids"]
    train_ids, dev_ids = encode(train), encode(dev)
    steps = math.ceil(len(train) / 32)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n
    opt = torch.optim.AdamW([
        {"params": [p for n, p in params if not no_decay(n)], "weight_decay": 0.01},
        {"params": [p for n, p in params if no_decay(n)], "weight_decay": 0.0},
    ], lr=lr)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * steps), steps)
    order = list(range(len(train)))
    random.shuffle(order)
    pad = lambda ids: tok.pad({"input_ids": ids}, return_tensors="pt")
    model.train()
    rates = []
    for s in range(steps):
        idx = order[s * 32:(s + 1) * 32]
        enc = pad([train_ids[i] for i in idx])
        t0 = time.perf_counter()
        loss = model(**enc, labels=torch.tensor([train[i][1] for i in idx])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        opt.step()
        sched.step()
        if args.mode == "adalora":
            # peft's documented call, after the update and before zero_grad.
            model.base_model.update_and_allocate(s + 1)
        opt.zero_grad(set_to_none=True)
        rates.append(len(idx) / (time.perf_counter() - t0))
    acc = float("nan")
    if not args.no_eval:
        model.eval()
        correct = 0
        with torch.inference_mode():
            for i in range(0, len(dev), 64):
                enc = pad(dev_ids[i:i + 64])
                pred = model(**enc).logits.argmax(-1).tolist()
                correct += sum(int(p == r[1]) for p, r in zip(pred, dev[i:i + 64]))
        acc = 100 * correct / len(dev)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"torch-{args.mode:<8} lr {lr:<8g} seed {args.seed:<3} dev acc {acc:.2f}%  "
          f"trainable {trainable / total * 100:5.1f}% ({trainable})  "
          f"{statistics.median(rates):6.1f} samples/s  peak RSS {rss} MiB", flush=True)


if __name__ == "__main__":
    main()
