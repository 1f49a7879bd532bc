#!/usr/bin/env python3
"""Arm (c) of bench/sweep_compare.sh: Optuna's TPESampler + SuccessiveHalvingPruner
driving `tunebench train` from a Python objective, each evaluation reported.

usage: sweep_objective.py BIN OUT_DIR TRAIN VAL MODEL TRIALS [SEED]
Prints one line per trial and a summary line: best dev accuracy, wall s.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna

BIN, OUT, TRAIN, VAL, MODEL, TRIALS = sys.argv[1:7]
SEED = int(sys.argv[7]) if len(sys.argv) > 7 else 42
optuna.logging.set_verbosity(optuna.logging.WARNING)


def objective(trial):
    lr = trial.suggest_float("lr", 1e-5, 1e-3, log=True)
    warmup = trial.suggest_float("warmup_ratio", 0.0, 0.2)
    batch = trial.suggest_categorical("batch_size", [16, 32])
    wd = trial.suggest_float("weight_decay", 0.0, 0.1)
    epochs = trial.suggest_int("epochs", 1, 3)
    run = Path(OUT) / f"trial-{trial.number:03d}"
    cmd = [BIN, "train", "--data", TRAIN, "--val", VAL, "--model", MODEL, "--out", str(run),
           "--set", "max_len=64", "--set", "eval_every=20", "--set", "best_metric=accuracy",
           "--set", f"lr={lr}", "--set", f"warmup_ratio={warmup}", "--set", f"batch_size={batch}",
           "--set", f"weight_decay={wd}", "--set", f"epochs={epochs}", "--set", "tensorboard=false"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen, best = 0, None
    while True:
        done = proc.poll() is not None
        path = run / "metrics.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        for line in lines[seen:]:
            e = json.loads(line)
            if e["event"] == "eval":
                acc = e["accuracy"]
                best = acc if best is None else max(best, acc)
                trial.report(acc, e["step"])
                if trial.should_prune():
                    subprocess.run([BIN, "stop", str(run), "--no-save"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    proc.wait()
                    raise optuna.TrialPruned()
        seen = len(lines)
        if done:
            break
        time.sleep(0.2)
    if best is None:
        raise RuntimeError("no evaluation")
    return best


start = time.time()
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=SEED),
                            pruner=optuna.pruners.SuccessiveHalvingPruner())
study.optimize(objective, n_trials=int(TRIALS))
wall = time.time() - start
for t in study.trials:
    print(f"  trial {t.number:2d} {t.state.name:<8} {t.value if t.value is not None else float('nan'):.4f} {t.params}")
pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
print(f"optuna-tpe-sha  best {study.best_value*100:.2f}%  wall {wall:.0f} s  pruned {pruned}/{len(study.trials)}"
      f"  best params {study.best_params}")
