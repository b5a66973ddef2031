#!/usr/bin/python3
"""Benchmark helper (run with Debian's /usr/bin/python3).

  model.py train OUTDIR      trains the benchmark model: binary:logistic,
                             100 trees of depth 6 over 30 features -> OUTDIR/bench.json
  model.py sql               prints the SQL expression of the feature array
  model.py batch OUTDIR N    times libxgboost's batch predict (one call, one
                             thread) over rows 1..N; prints microseconds per row
                             and checks a few values against OUTDIR/sample.csv
"""
import csv
import os
import sys
import time

import numpy as np
import xgboost as xgb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features  # noqa: E402


def train(out):
    x = features.rows(200000, start=5_000_001)    # not the scored rows
    z = np.nan_to_num(x, nan=0.5)
    logit = 3 * (z[:, 0] - 0.5) + 2 * (z[:, 1] * z[:, 2] - 0.25) - 1.5 * (z[:, 3] > 0.9) + z[:, 4:10].sum(axis=1) - 3
    rng = np.random.default_rng(7)
    y = (rng.random(len(z)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    d = xgb.DMatrix(x, label=y, missing=np.nan, feature_names=[f"f{j:02d}" for j in range(features.NFEAT)])
    bst = xgb.train(dict(objective="binary:logistic", max_depth=6, eta=0.1, nthread=2,
                         tree_method="hist", seed=1), d, 100)
    bst.save_model(os.path.join(out, "bench.json"))


def batch(out, n):
    bst = xgb.Booster(model_file=os.path.join(out, "bench.json"))
    bst.set_param({"nthread": 1})
    x = features.rows(n)
    bst.inplace_predict(x[:1000])                    # warm up
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        pred = bst.inplace_predict(x)
        best = min(best, time.perf_counter() - t0)
    # the same rows scored in SQL must give the same values
    with open(os.path.join(out, "sample.csv")) as f:
        for row_id, value in csv.reader(f):
            if np.float32(value) != pred[int(row_id) - 1]:
                sys.exit(f"row {row_id}: SQL {value} != libxgboost {pred[int(row_id) - 1]}")
    print(f"{best * 1e6 / n:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2])
    elif sys.argv[1] == "sql":
        print(features.sql_expression())
    else:
        batch(sys.argv[2], int(sys.argv[3]))
