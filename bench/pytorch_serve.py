#!/usr/bin/env python3
"""A minimal PyTorch + transformers + FastAPI server with TEI's /predict
shape: the second reference for `tunebench serve` (TEI itself cannot be
built here). One uvicorn worker, inference under torch.inference_mode, each
request run as it comes (what a hand-written service usually does).

    /tmp/pyenv/bin/pip install torch transformers fastapi uvicorn
    /tmp/pyenv/bin/python bench/pytorch_serve.py --checkpoint DIR --port 8081 [--threads 2]
    tunebench bench-serve --url http://127.0.0.1:8081
"""
import argparse

import torch
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class Req(BaseModel):
    inputs: str | list[list[str]]
    raw_scores: bool = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(args.checkpoint).eval()
    labels = model.config.id2label
    app = FastAPI()

    @app.post("/predict")
    def predict(req: Req):  # a sync route: FastAPI runs it in its thread pool
        texts = [req.inputs] if isinstance(req.inputs, str) else [t[0] for t in req.inputs]
        enc = tok(texts, padding=True, truncation=True, max_length=512, return_tensors="pt")
        with torch.inference_mode():
            logits = model(**enc).logits
        scores = logits if req.raw_scores else logits.softmax(-1)
        out = [sorted(({"label": labels[i], "score": float(s)} for i, s in enumerate(row)),
                      key=lambda x: -x["score"]) for row in scores]
        return out[0] if isinstance(req.inputs, str) else out

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
