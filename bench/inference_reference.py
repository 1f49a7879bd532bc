#!/usr/bin/env python3
"""PyTorch and ONNX Runtime side of the inference-precision comparison
(bench/int8_compare.sh runs it beside `tunebench bench` and `tunebench
eval`): a fine-tuned BERT-family classifier directory, timed as
`tunebench bench` times it — one sentence's latency (tokenize + forward +
softmax, median of N) and evaluation samples/s on batches of 32 SST-2
sentences packed to exactly 128 tokens — plus SST-2 dev accuracy and
agreement with the f32 predictions.

    python3 bench/inference_reference.py CHECKPOINT --dev ../shared/data/sst2/dev.tsv
        [--threads 2] [--impls torch-f32,torch-bf16,torch-int8,ort-f32,ort-int8]

torch-int8 is `torch.ao.quantization.quantize_dynamic` with its defaults
(every nn.Linear, per-tensor weights, fbgemm); ort-int8 is
`onnxruntime.quantization.quantize_dynamic` with its defaults (QInt8
weights, per tensor) of the model exported to ONNX (opset 17). One JSON
line per implementation. Needs torch, transformers, onnx, onnxruntime.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from pytorch_reference import SENTENCE, packed_rows  # noqa: E402


def read_dev(path):
    with open(path) as f:
        next(f)
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--dev", required=True)
    ap.add_argument("--data", default="../shared/data/sst2/train.tsv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--impls", default="torch-f32,torch-bf16,torch-int8,ort-f32,ort-int8")
    ap.add_argument("--predict-runs", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=8)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--speed-only", action="store_true", help="skip the dev accuracy")
    args = ap.parse_args()

    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = "fbgemm"
    tok = Tokenizer.from_file(os.path.join(args.checkpoint, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    hf_tok = AutoTokenizer.from_pretrained(args.checkpoint)
    rows = packed_rows(tok, args.data, args.max_len, args.eval_batches * args.batch)
    batches = [np.array([r[0] for r in rows[i:i + args.batch]], dtype=np.int64)
               for i in range(0, len(rows), args.batch)]
    dev_texts, dev_labels = read_dev(args.dev)

    base = AutoModelForSequenceClassification.from_pretrained(args.checkpoint, dtype=torch.float32).eval()
    tmp = tempfile.mkdtemp(prefix="tb-onnx-")

    def torch_runner(model, autocast_dtype=None):
        def run(ids, mask):
            with torch.inference_mode(), torch.autocast("cpu", dtype=autocast_dtype,
                                                         enabled=autocast_dtype is not None):
                return model(input_ids=torch.from_numpy(ids),
                             attention_mask=torch.from_numpy(mask)).logits.float().numpy()
        return run

    def ort_runner(path):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]

        def run(ids, mask):
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids)
            return sess.run(["logits"], feed)[0]
        return run

    def onnx_f32():
        path = os.path.join(tmp, "model.onnx")
        if not os.path.exists(path):
            ids = torch.ones((1, 8), dtype=torch.long)
            torch.onnx.export(base, (ids, torch.ones_like(ids)), path,
                              input_names=["input_ids", "attention_mask"], output_names=["logits"],
                              dynamic_axes={"input_ids": {0: "b", 1: "l"},
                                            "attention_mask": {0: "b", 1: "l"}, "logits": {0: "b"}},
                              opset_version=17, dynamo=False)
        return path

    def make(impl):
        if impl == "torch-f32":
            return torch_runner(base)
        if impl == "torch-bf16":
            return torch_runner(base, torch.bfloat16)
        if impl == "torch-int8":
            q = torch.ao.quantization.quantize_dynamic(base, {torch.nn.Linear}, dtype=torch.qint8)
            return torch_runner(q)
        if impl == "ort-f32":
            return ort_runner(onnx_f32())
        if impl == "ort-int8":
            from onnxruntime.quantization import quantize_dynamic
            out = os.path.join(tmp, "model.int8.onnx")
            quantize_dynamic(onnx_f32(), out)
            return ort_runner(out)
        raise SystemExit(f"unknown implementation {impl}")

    f32_pred = None
    for impl in args.impls.split(","):
        run = make(impl)
        # Dev accuracy, batches of 64 sorted by length (as tunebench eval).
        order = [] if args.speed_only else sorted(range(len(dev_texts)), key=lambda i: len(dev_texts[i]))
        pred = [0] * len(dev_texts)
        for s in range(0, len(order), 64):
            idx = order[s:s + 64]
            enc = hf_tok([dev_texts[i] for i in idx], padding=True, truncation=True,
                         max_length=128, return_tensors="np")
            logits = run(enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64))
            for i, l in zip(idx, logits):
                pred[i] = int(np.argmax(l))
        acc = None if args.speed_only else sum(int(p == y) for p, y in zip(pred, dev_labels)) / len(dev_labels)
        if impl.endswith("f32") and f32_pred is None:
            f32_pred = pred
        agree = None if f32_pred is None or args.speed_only else sum(int(a == b) for a, b in zip(pred, f32_pred)) / len(pred)
        for b in batches[:2]:  # warm-up
            run(b, np.ones_like(b))
        t0 = time.perf_counter()
        for b in batches:
            run(b, np.ones_like(b))
        eval_s = time.perf_counter() - t0
        times = []
        for i in range(args.predict_runs + 5):
            t0 = time.perf_counter()
            enc = hf_tok([SENTENCE], truncation=True, max_length=args.max_len, return_tensors="np")
            logits = run(enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64))
            e = np.exp(logits - logits.max(-1, keepdims=True))
            (e / e.sum(-1, keepdims=True)).tolist()
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1e3)
        print(json.dumps({
            "implementation": impl,
            "threads": args.threads,
            "dev_accuracy": acc,
            "agreement_with_f32": agree,
            "eval_samples_per_s": len(batches) * args.batch / eval_s,
            "predict_ms_median": statistics.median(times),
            "predict_ms_p90": sorted(times)[round((len(times) - 1) * 0.9)],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }), flush=True)


if __name__ == "__main__":
    main()
