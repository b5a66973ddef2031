#!/usr/bin/python3
"""Reference models for risk.train (sql/train.sql), trained by python3-xgboost.

Writes into the directory given:
  train_rows.csv        8,000 rows in a shuffled order: id, x1..x5 (real, some
                        missing), cat (a category 0..7), w (a weight), y (0/1),
                        holdout (true for 20% of the rows)
  train_<case>.json     the model python3-xgboost trains for each case below, on
                        the rows risk.train reads, in risk.train's canonical
                        order (validation rows last; then label, weight, each
                        feature; ascending, missing last)
  train_predictions.csv case, id, the model's prediction of each row (float32)
  train_cases.csv       case, rounds trained, best_iteration (0-based), the
                        stopping metric's best score as xgboost printed it
  train_importance.csv  case, feature ordinal, the model's get_score() of each
                        importance type (weight, gain, cover, total_gain,
                        total_cover; 0 for a feature no tree splits on)
"""
import csv
import os
import sys

import numpy as np
import xgboost as xgb
from xgboost.callback import EarlyStopping

N = 8000
FEATURES = ["x1", "x2", "x3", "x4", "x5", "cat"]


def f32(v):
    return repr(float(np.float32(v)))


def make_rows(rng):
    x = rng.normal(0, 1, (N, 5)).astype(np.float32)
    x[rng.random((N, 5)) < 0.05] = np.nan
    cat = rng.integers(0, 8, N).astype(np.float32)
    effect = np.array([-1.0, 0.5, 0.0, 1.5, -0.5, 0.2, 2.0, -2.0])
    z = (-2.6 + 1.2 * np.nan_to_num(x[:, 0]) - 0.8 * np.nan_to_num(x[:, 1]) * np.nan_to_num(x[:, 2])
         + effect[cat.astype(int)] + rng.normal(0, 1.5, N))
    y = (rng.random(N) < 1 / (1 + np.exp(-z))).astype(np.float32)
    w = rng.uniform(0.5, 2.0, N).astype(np.float32)
    ids = np.arange(1, N + 1)
    holdout = ids % 5 == 0
    return ids, np.column_stack([x, cat]), y, w, holdout


def canonical(valid, y, w, x):
    """risk.train's order: valid, label, weight, features; ascending, NaN last."""
    keys = []
    for j in reversed(range(x.shape[1])):
        col = x[:, j]
        keys.append(np.where(np.isnan(col), 0, col))
        keys.append(np.isnan(col))
    keys += [w, y, valid]
    return np.lexsort(keys)


def train_case(name, ids, x, y, w, holdout, weighted, categorical, use_valid, params, rounds,
               early=None, balance=False):
    valid = holdout if use_valid else np.zeros(N, dtype=bool)
    wt = w if weighted else np.ones(N, dtype=np.float32)
    order = canonical(valid, y, wt, x)
    xs, ys, ws, vs = x[order], y[order], wt[order], valid[order]
    types = ["q"] * 5 + ["c"] if categorical else None

    def dm(mask):
        return xgb.DMatrix(xs[mask], label=ys[mask], weight=ws[mask] if weighted else None,
                           missing=np.nan, feature_names=FEATURES, feature_types=types,
                           enable_categorical=categorical)

    dtrain = dm(~vs)
    p = dict(objective="binary:logistic", tree_method="hist", eval_metric="aucpr")
    p.update(params)
    if balance:
        pos = float(ws[~vs][ys[~vs] == 1].astype(np.float64).sum())
        total = float(ws[~vs].astype(np.float64).sum())
        p["scale_pos_weight"] = (total - pos) / pos
    evals = [(dm(vs), "valid")] if use_valid else [(dtrain, "train")]
    callbacks = [EarlyStopping(rounds=early, save_best=True)] if early else None
    result = {}
    bst = xgb.train(p, dtrain, rounds, evals=evals, callbacks=callbacks, evals_result=result,
                    verbose_eval=False)
    trained = len(next(iter(next(iter(result.values())).values())))
    best = int(bst.attr("best_iteration")) if early else trained - 1
    best_score = bst.attr("best_score") if early else ""
    kept = bst.num_boosted_rounds()
    assert kept == best + 1, (name, kept, best)
    pred = bst.predict(xgb.DMatrix(x, missing=np.nan, feature_names=FEATURES, feature_types=types,
                                   enable_categorical=categorical))
    return bst, trained, best, best_score, pred


CASES = [
    # name, weighted, categorical, validation, params, rounds, early stopping, balance
    ("plain", False, False, False, dict(max_depth=4, eta=0.3, nthread=2), 20, None, False),
    ("early", False, False, True, dict(max_depth=5, eta=0.3, nthread=2), 300, 10, False),
    ("weighted_cat", True, True, True, dict(max_depth=4, eta=0.2, nthread=1, eval_metric=["logloss", "auc"]),
     30, None, False),
    ("balanced", False, False, False, dict(max_depth=3, eta=0.3, nthread=2, seed=7, subsample=0.8), 15, None, True),
]


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20261202)
    ids, x, y, w, holdout = make_rows(rng)
    shuffled = rng.permutation(N)
    with open(os.path.join(out, "train_rows.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        for i in shuffled:
            wr.writerow([ids[i]] + ["" if np.isnan(v) else f32(v) for v in x[i, :5]] +
                        [int(x[i, 5]), f32(w[i]), int(y[i]), "t" if holdout[i] else "f"])
    with open(os.path.join(out, "train_predictions.csv"), "w", newline="") as fp, \
            open(os.path.join(out, "train_cases.csv"), "w", newline="") as fc, \
            open(os.path.join(out, "train_importance.csv"), "w", newline="") as fi:
        wp = csv.writer(fp)
        wc = csv.writer(fc)
        wi = csv.writer(fi)
        for name, weighted, categorical, use_valid, params, rounds, early, balance in CASES:
            bst, trained, best, best_score, pred = train_case(
                name, ids, x, y, w, holdout, weighted, categorical, use_valid, params, rounds, early, balance)
            with open(os.path.join(out, "train_%s.json" % name), "wb") as fm:
                fm.write(bst.save_raw(raw_format="json"))
            wc.writerow([name, trained, best, best_score])
            types = ("weight", "gain", "cover", "total_gain", "total_cover")
            scores = {t: bst.get_score(importance_type=t) for t in types}
            for j, feature in enumerate(FEATURES):
                wi.writerow([name, j + 1] + [repr(float(scores[t].get(feature, 0.0))) for t in types])
            for i in range(N):
                wp.writerow([name, ids[i], f32(pred[i])])


if __name__ == "__main__":
    main()
