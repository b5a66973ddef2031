#!/usr/bin/python3
"""Trains the marketplace demo model (models/marketplace.json).

    psql -v out=/tmp/marketplace_train.csv -f models/marketplace_train.sql
    /usr/bin/python3 models/train_marketplace.py /tmp/marketplace_train.csv models/marketplace.json

The data: 1,000,000 orders of risk.synthetic_orders(1000000, 42) (January
2026) with the 32 features of models/marketplace_features.sql, batch path.
Trains on the orders before TEST_FROM, with the settings below, and prints
on the later ones AUC, average precision, and at the thresholds of the demo
the share of each pattern sent to review and to block.  XGBoost 1.7.4
(python3-xgboost), two threads, a fixed seed: the same data gives the same
model.
"""
import csv
import sys

import numpy as np
import xgboost as xgb
from sklearn.metrics import average_precision_score, roc_auc_score

TEST_FROM = "2026-01-22"
PARAMS = dict(objective="binary:logistic", tree_method="hist", max_depth=5, eta=0.1,
              subsample=0.8, colsample_bytree=0.8, min_child_weight=5, nthread=2, seed=42)
ROUNDS = 150
REVIEW, BLOCK = 0.3, 0.8         # the demo's risk.decision_thresholds


def read(path):
    ids, days, labels, patterns, rows = [], [], [], [], []
    with open(path) as f:
        for r in csv.reader(f):
            days.append(r[1])
            labels.append(r[2] == "t")
            patterns.append(r[3])
            rows.append([float(v) if v else np.nan for v in r[4].split(",")])
    return (np.array(days), np.array(labels, dtype=int), np.array(patterns),
            np.array(rows, dtype=np.float32))


def main(data, out):
    with open(data + ".names") as f:
        names = [line.strip() for line in f if line.strip()]
    day, y, pattern, X = read(data)
    train, test = day < TEST_FROM, day >= TEST_FROM
    booster = xgb.train(PARAMS, xgb.DMatrix(X[train], label=y[train], feature_names=names), ROUNDS)
    p = booster.predict(xgb.DMatrix(X[test], feature_names=names))
    print(f"test orders {test.sum()}: AUC {roc_auc_score(y[test], p):.5f}, "
          f"AP {average_precision_score(y[test], p):.4f}")
    for name, threshold in (("review", REVIEW), ("block", BLOCK)):
        flagged = p >= threshold
        print(f"{name} at {threshold}: {flagged.sum()} orders, precision {y[test][flagged].mean():.3f}")
        for q in sorted(set(pattern)):
            m = pattern[test] == q
            print(f"  {q:20s} {m.sum():7d} orders, {flagged[m].mean():.3f} flagged")
    booster.save_model(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
