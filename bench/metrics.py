#!/usr/bin/python3
"""scikit-learn's roc_auc_score on the rows bench/metrics.sql wrote (COPY
BINARY of score float8, label boolean), timed on arrays already in memory:
the best of two runs.  Prints: milliseconds and the AUC.

Usage: /usr/bin/python3 bench/metrics.py FILE
"""
import sys
import time

import numpy as np
from sklearn.metrics import roc_auc_score

HEADER = 19          # PGCOPY signature, flags, header extension length
ROW = np.dtype([("fields", ">i2"), ("len1", ">i4"), ("score", ">f8"), ("len2", ">i4"), ("label", "u1")])


def main(path):
    raw = np.fromfile(path, dtype=np.uint8)
    rows = raw[HEADER:len(raw) - 2].view(ROW)          # the trailer is two bytes
    if not (np.all(rows["fields"] == 2) and np.all(rows["len1"] == 8) and np.all(rows["len2"] == 1)):
        sys.exit("metrics.py: unexpected COPY BINARY layout (NULLs?)")
    score = rows["score"].astype(np.float64)
    label = rows["label"].astype(np.int64)
    best, auc = float("inf"), None
    for _ in range(2):
        t0 = time.perf_counter()
        auc = roc_auc_score(label, score)
        best = min(best, time.perf_counter() - t0)
    print(f"{best * 1000:.1f} {auc!r}")


if __name__ == "__main__":
    main(sys.argv[1])
