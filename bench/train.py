#!/usr/bin/python3
"""The training benchmark's rows and its baseline, python3-xgboost.

  gen FILE ROWS           writes ROWS rows (30 real features with 3% NaN, a
                          label with about 2% positives, a 10% holdout flag) as
                          COPY BINARY for bench/train.sql
  train ROWS THREADS      trains on the same rows, generated again in memory:
                          DMatrix and 200 rounds of depth 6, hist, aucpr on the
                          holdout rows each round, as bench/train.sql asks
                          risk.train; prints seconds (the best of two runs)
                          and the peak memory the training added to the
                          rows in memory (bytes: the peak resident size,
                          reset before each run, less the size before it)
"""
import sys
import time

import numpy as np
import xgboost as xgb

FEATURES = 30


def rows(n):
    rng = np.random.default_rng(16)
    x = rng.normal(0, 1, (n, FEATURES)).astype(np.float32)
    x[rng.random((n, FEATURES)) < 0.03] = np.nan
    z = (-4.6 + 1.1 * np.nan_to_num(x[:, 0]) + 0.9 * np.nan_to_num(x[:, 1]) * np.nan_to_num(x[:, 2])
         - 0.7 * np.abs(np.nan_to_num(x[:, 3])) + 0.5 * np.nan_to_num(x[:, 4] > 1) + rng.normal(0, 1, n))
    y = rng.random(n) < 1 / (1 + np.exp(-z))
    holdout = rng.random(n) < 0.1
    return x, y, holdout


def gen(path, n):
    x, y, holdout = rows(n)
    cols = [("fields", ">i2")]
    for j in range(FEATURES):
        cols += [("l%d" % j, ">i4"), ("f%d" % j, ">f4")]
    cols += [("ly", ">i4"), ("y", "u1"), ("lh", ">i4"), ("h", "u1")]
    rec = np.zeros(n, dtype=np.dtype(cols))
    rec["fields"] = FEATURES + 2
    for j in range(FEATURES):
        rec["l%d" % j] = 4
        rec["f%d" % j] = x[:, j]
    rec["ly"] = 1
    rec["y"] = y
    rec["lh"] = 1
    rec["h"] = holdout
    with open(path, "wb") as f:
        f.write(b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0")
        f.write(rec.tobytes())
        f.write(b"\xff\xff")


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def train(n, threads):
    x, y, holdout = rows(n)
    best = float("inf")
    added = 0
    for _ in range(2):
        base = status("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident size
        t0 = time.perf_counter()
        dtrain = xgb.DMatrix(x[~holdout], label=y[~holdout], missing=np.nan)
        dvalid = xgb.DMatrix(x[holdout], label=y[holdout], missing=np.nan)
        xgb.train(dict(objective="binary:logistic", tree_method="hist", max_depth=6, eta=0.1,
                       nthread=threads, eval_metric="aucpr"),
                  dtrain, 200, evals=[(dvalid, "valid")], verbose_eval=False)
        best = min(best, time.perf_counter() - t0)
        added = max(added, status("VmHWM") - base)
        del dtrain, dvalid
    print(f"{best:.3f} {added}")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    else:
        train(int(sys.argv[2]), int(sys.argv[3]))
