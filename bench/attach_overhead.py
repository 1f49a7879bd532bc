#!/usr/bin/env python3
"""Training throughput of a run process with and without front ends attached.

Variants, run alternately (ABCABC...) on the same config:
  detached  `train --detach`, nobody attached (the run process alone)
  train     `train` in the foreground (the run process + a plain printer)
  tui       `train --detach` + `tunebench attach` in tmux, Curves pane shown
Throughput = training samples / seconds of the run's last step (evaluations
included, the same in every variant). Prints one JSON line per run and the
median per variant with its ratio to `detached`.

usage: bench/attach_overhead.py [--bin target/release/tunebench] [--rounds 3] [--epochs 6]
"""
import argparse, json, os, shutil, statistics, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_once(binary, variant, out, epochs):
    cfg = os.path.join(ROOT, "sample-data/reviews/demo.toml")
    base = [binary, "train", "--config", cfg, "--epochs", str(epochs), "--out", out]
    tmux_sock = f"tb-overhead-{os.getpid()}"
    if variant == "train":
        subprocess.run(base, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run(base + ["--detach"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        if variant == "tui":
            subprocess.run(["tmux", "-L", tmux_sock, "new-session", "-d", "-s", "tb",
                            "-x", "160", "-y", "48", f"{binary} attach {out}"], check=True)
            time.sleep(1)
            subprocess.run(["tmux", "-L", tmux_sock, "send-keys", "-t", "tb", "3"])
        while True:
            events = read_events(out)
            if events and events[-1].get("event") in ("finished", "failed"):
                break
            time.sleep(0.5)
        if variant == "tui":
            subprocess.run(["tmux", "-L", tmux_sock, "kill-server"])
    steps = [e for e in read_events(out) if e.get("event") == "step"]
    started = next(e for e in read_events(out) if e.get("event") == "started")
    samples = started["train_rows"] * epochs
    return samples / steps[-1]["elapsed_s"]


def read_events(run):
    try:
        with open(os.path.join(run, "metrics.jsonl")) as f:
            return [json.loads(l) for l in f if l.strip()]
    except FileNotFoundError:
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/tunebench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=6)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tb-overhead-")
    results = {"detached": [], "train": [], "tui": []}
    try:
        for r in range(args.rounds):
            for variant in results:
                out = os.path.join(tmp, f"{variant}-{r}")
                sps = run_once(args.bin, variant, out, args.epochs)
                results[variant].append(sps)
                print(json.dumps({"variant": variant, "round": r, "samples_per_s": round(sps, 1)}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = statistics.median(results["detached"])
    for variant, xs in results.items():
        m = statistics.median(xs)
        print(json.dumps({"variant": variant, "median_samples_per_s": round(m, 1),
                          "ratio_vs_detached": round(m / base, 3)}))


if __name__ == "__main__":
    main()
