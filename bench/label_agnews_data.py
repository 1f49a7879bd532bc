"""AG News as the labelling benchmark of issue 43 reads it.

Writes, into the folder given (default /tmp/agnews):
  pool.tsv  the 10,001-row train sample with a header (text, label)
  val.csv   the first N rows (default 2,000) of the official test set:
            description as text, the class name as label
Usage: python3 bench/label_agnews_data.py [OUT] [N]
"""
import csv
import os
import sys

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "ag_news")
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/agnews"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
os.makedirs(out, exist_ok=True)
names = [l.strip() for l in open(os.path.join(SRC, "classes.txt")) if l.strip()]

with open(os.path.join(SRC, "train_sample_10k.tsv"), newline="") as f, open(
    os.path.join(out, "pool.tsv"), "w", newline=""
) as g:
    w = csv.writer(g, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
    w.writerow(["text", "label"])
    for line in f:
        text, label = line.rstrip("\n").rsplit("\t", 1)
        w.writerow([text, label])

with open(os.path.join(SRC, "test.csv"), newline="") as f, open(
    os.path.join(out, "val.csv"), "w", newline=""
) as g:
    w = csv.writer(g)
    w.writerow(["text", "label"])
    for i, (cls, _title, desc) in enumerate(csv.reader(f)):
        if i == n:
            break
        w.writerow([desc, names[int(cls) - 1]])
print(f"wrote {out}/pool.tsv and {out}/val.csv ({n} rows)")
