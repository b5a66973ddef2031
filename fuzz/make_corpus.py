#!/usr/bin/python3
"""Seeds for the fuzz corpus (fuzz/corpus/*): small XGBoost models saved by
libxgboost (Debian's python3-xgboost) in JSON, of each kind the reader knows,
and score summaries and velocity states in their text and binary forms are
made by fuzz/run from SQL.  Run once; the seeds are kept in the repository."""
import os
import sys

import numpy as np
import xgboost as xgb

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "model")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
x = rng.normal(size=(300, 4)).astype(np.float32)
x[rng.random(x.shape) < 0.1] = np.nan
y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(np.float32)
names = ["amount", "age", "device", "orders"]

def save(name, params, label, rounds=3, data=None, types=None):
    d = xgb.DMatrix(x if data is None else data, label=label, missing=np.nan, feature_names=names,
                    feature_types=types, enable_categorical=types is not None)
    bst = xgb.train(dict(params, max_depth=3, nthread=1, seed=1), d, rounds)
    bst.save_model(os.path.join(out, name + ".json"))


save("binary", {"objective": "binary:logistic"}, y)
save("multi", {"objective": "multi:softprob", "num_class": 3}, (y + (x[:, 3] > 0)).clip(0, 2))
save("dart", {"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3}, y)
save("regression", {"objective": "reg:squarederror"}, np.nan_to_num(x[:, 0]))
save("poisson", {"objective": "count:poisson"}, np.abs(np.nan_to_num(x[:, 1])).round())
x_cat = x.copy()
x_cat[:, 2] = rng.integers(0, 5, 300)
save("categorical", {"objective": "binary:logistic", "tree_method": "hist", "max_cat_to_onehot": 1}, y,
     data=x_cat, types=["q", "q", "c", "q"])
print("seeds in", out, file=sys.stderr)
