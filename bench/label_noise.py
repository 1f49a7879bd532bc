#!/usr/bin/env python3
"""Inject seeded label noise into a CSV/TSV corpus, and score a detector.

  label_noise.py flip  IN OUT --rate 0.05 --seed 7 [--rows N]  # OUT and OUT.flipped (lines)
  label_noise.py score OUT.flipped SUSPECTS.csv       # precision / recall

Lines are 1-based file lines with the header on line 1, as tunebench reports them.
Standard library only.
"""
import argparse
import csv
import random
import sys


def read(path):
    delim = "\t" if path.endswith(".tsv") else ","
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=delim, quoting=csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL))
    return delim, rows[0], rows[1:]


def flip(args):
    delim, header, rows = read(args.input)
    if args.rows:
        rows = random.Random(args.seed + 1).sample(rows, args.rows)
    col = header.index(args.label_col)
    labels = sorted({r[col] for r in rows})
    rng = random.Random(args.seed)
    n = round(len(rows) * args.rate)
    picked = sorted(rng.sample(range(len(rows)), n))
    for i in picked:
        rows[i][col] = rng.choice([l for l in labels if l != rows[i][col]])
    with open(args.output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delim, lineterminator="\n",
                       quoting=csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL,
                       escapechar="\\" if delim == "\t" else None)
        w.writerow(header)
        w.writerows(rows)
    with open(args.output + ".flipped", "w") as f:
        f.writelines(f"{i + 2}\n" for i in picked)
    print(f"flipped {n} of {len(rows)} labels ({args.rate:.0%}, seed {args.seed}) -> {args.output}")


def score(args):
    flipped = {int(x) for x in open(args.flipped) if x.strip()}
    with open(args.suspects, newline="", encoding="utf-8") as f:
        found = {int(r["line"]) for r in csv.DictReader(f)}
    tp = len(flipped & found)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(flipped) if flipped else 0.0
    print(f"flagged {len(found)}, flipped {len(flipped)}, both {tp}: "
          f"precision {precision:.3f} recall {recall:.3f}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flip")
    f.add_argument("input")
    f.add_argument("output")
    f.add_argument("--rate", type=float, default=0.05)
    f.add_argument("--seed", type=int, default=7)
    f.add_argument("--label-col", default="label")
    f.add_argument("--rows", type=int, help="a seeded sample of this many rows first")
    s = sub.add_parser("score")
    s.add_argument("flipped")
    s.add_argument("suspects")
    args = p.parse_args()
    {"flip": flip, "score": score}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
