#!/usr/bin/python3
"""Reference data for the regression suite, made at test time with libxgboost.

Usage: /usr/bin/python3 .ci/fixtures.py OUTDIR

Writes to OUTDIR:
  features.csv     id, features as a real[] literal (missing as NULL or NaN)
  manifest.csv     model, objective, num_class, kind (value | classes), formats
  predictions.csv  model, id, value (what xgboost's predict returns, as float32 text)
  margins.csv      model, id, margin (output_margin=True; single-output models)
  contributions.csv  model, id, SHAP values (pred_contribs=True) of the first
                   CONTRIB_ROWS rows, features then bias (single-output models)
  MODEL.json / MODEL.ubj / MODEL.bin   each model in XGBoost's three formats
  importance.csv   each model's get_score() per feature and importance type
  orders.json      a small model with named features for the named-binding tests
"""
import csv
import json
import os
import sys

import numpy as np
import xgboost as xgb

ROWS = 12000
CONTRIB_ROWS = 1000                 # rows explained with pred_contribs
NFEAT = 20
SEED = 20261124


def f32(v):
    """Shortest text that reads back as the same float32."""
    return repr(float(np.float32(v))) if np.isfinite(v) else "NaN"


def make_features(rng):
    x = np.empty((ROWS, NFEAT), dtype=np.float32)
    x[:, 0:6] = rng.normal(size=(ROWS, 6))
    x[:, 6:10] = rng.integers(0, 12, size=(ROWS, 4))          # counts: ties with thresholds
    x[:, 10:13] = rng.lognormal(3, 2, size=(ROWS, 3))          # heavy-tailed amounts
    x[:, 13:16] = rng.uniform(-1000, 1000, size=(ROWS, 3))
    x[:, 16:18] = rng.integers(0, 2, size=(ROWS, 2))           # flags
    x[:, 18:20] = np.round(rng.normal(size=(ROWS, 2)), 1)      # coarse values
    missing = rng.random(x.shape) < 0.05
    x[missing] = np.nan
    # values that are no category of the categorical models' x06, x07:
    # negative, fractional, beyond the largest category
    odd = np.array([-1, -0.5, 2.5, 3.7, 11.9, 12, 13, 100, 1e6, -1e6], dtype=np.float32)
    x[:60, 6] = np.resize(odd, 60)
    x[60:120, 7] = np.resize(odd[::-1], 60)
    return x


def labels(rng, x):
    z = np.nan_to_num(x, nan=0.0).astype(np.float64)
    score = (z[:, 0] + 0.5 * z[:, 1] - 0.3 * z[:, 6] + 0.002 * z[:, 13]
             + 0.8 * z[:, 16] + np.log1p(np.abs(z[:, 10])) * 0.2)
    score = np.clip(score, -8, 8)          # odd rows (see make_features) stay finite
    noise = rng.normal(size=ROWS)
    binary = (score + noise > 0.5).astype(np.float32)
    reg = (score * 3 + noise).astype(np.float32)
    positive = np.exp(0.3 * score + 0.2 * noise).astype(np.float32)
    counts = rng.poisson(np.exp(0.3 * np.clip(score, -3, 3))).astype(np.float32)
    unit = (1 / (1 + np.exp(-score - noise))).astype(np.float32)
    multi4 = np.digitize(score + noise, [-1, 0.5, 2]).astype(np.float32)
    multi3 = np.digitize(score + noise, [0, 1.5]).astype(np.float32)
    surv = np.exp(0.2 * score + noise).astype(np.float32)
    surv[rng.random(ROWS) < 0.2] *= -1                          # censored
    return dict(binary=binary, reg=reg, positive=positive, counts=counts,
                unit=unit, multi4=multi4, multi3=multi3, surv=surv, aft=np.abs(surv))


# name, objective, label, extra params, rounds
# ("booster" dart; "categorical": x06 and x07 as categories, JSON/UBJSON only)
MODELS = [
    ("dart", "binary:logistic", "binary",
     dict(booster="dart", max_depth=5, rate_drop=0.2, skip_drop=0.3), 30),
    ("dart_reg", "reg:squarederror", "reg",
     dict(booster="dart", max_depth=4, rate_drop=0.1, one_drop=1, base_score=1.0), 25),
    ("categorical", "binary:logistic", "binary",
     dict(categorical=True, max_depth=5, tree_method="hist", max_cat_to_onehot=1), 30),
    ("categorical_onehot", "multi:softprob", "multi3",
     dict(categorical=True, max_depth=4, tree_method="hist", num_class=3), 20),
    ("bin_d3", "binary:logistic", "binary", dict(max_depth=3), 20),
    ("bin_d6", "binary:logistic", "binary", dict(max_depth=6, base_score=0.3), 100),
    ("bin_d8_hist", "binary:logistic", "binary", dict(max_depth=8, tree_method="hist"), 40),
    ("bin_deep", "binary:logistic", "binary",
     dict(max_depth=0, max_leaves=48, grow_policy="lossguide", tree_method="hist"), 30),
    ("bin_d12", "binary:logistic", "binary", dict(max_depth=12, eta=0.2), 15),
    ("logitraw", "binary:logitraw", "binary", dict(max_depth=4, base_score=0.2), 30),
    ("hinge", "binary:hinge", "binary", dict(max_depth=4), 20),
    ("reg_d6", "reg:squarederror", "reg", dict(max_depth=6, base_score=2.5), 80),
    ("reg_d4", "reg:squarederror", "reg", dict(max_depth=4), 40),
    ("reg_abs", "reg:absoluteerror", "reg", dict(max_depth=5), 30),
    ("reg_huber", "reg:pseudohubererror", "reg", dict(max_depth=5, base_score=1.0), 30),
    ("reg_sqlog", "reg:squaredlogerror", "positive", dict(max_depth=4, base_score=1.0), 30),
    ("reg_logistic", "reg:logistic", "unit", dict(max_depth=5), 30),
    ("poisson", "count:poisson", "counts", dict(max_depth=5, base_score=1.5), 40),
    ("gamma", "reg:gamma", "positive", dict(max_depth=4, base_score=2.0), 40),
    ("tweedie", "reg:tweedie", "positive", dict(max_depth=4), 40),
    ("cox", "survival:cox", "surv", dict(max_depth=3), 20),
    ("aft", "survival:aft", "aft", dict(max_depth=4, aft_loss_distribution="normal",
                                        aft_loss_distribution_scale=1.2, base_score=3.0), 30),
    ("softprob4", "multi:softprob", "multi4", dict(max_depth=5, num_class=4), 40),
    ("softmax3", "multi:softmax", "multi3", dict(max_depth=4, num_class=3), 30),
    ("rank_pairwise", "rank:pairwise", "counts", dict(max_depth=5), 30),
    ("rank_ndcg", "rank:ndcg", "counts", dict(max_depth=4), 20),
]


NAMES = [f"x{i:02d}" for i in range(NFEAT)]
CAT_TYPES = ["c" if i in (6, 7) else "q" for i in range(NFEAT)]


def dmatrix(x, categorical, label=None):
    if categorical:
        return xgb.DMatrix(x, label=label, missing=np.nan, feature_names=NAMES,
                           feature_types=CAT_TYPES, enable_categorical=True)
    return xgb.DMatrix(x, label=label, missing=np.nan, feature_names=NAMES)


def train(x, y, objective, params, rounds):
    params = dict(params)
    categorical = params.pop("categorical", False)
    xt = x
    if categorical:                       # train on valid categories only
        xt = x.copy()
        for j in (6, 7):
            col = xt[:, j]
            col[(col < 0) | (col > 11) | (col != np.floor(col))] = np.nan
    dtrain = dmatrix(xt, categorical, label=y)
    if objective.startswith("rank:"):
        dtrain.set_group([100] * (ROWS // 100))
    if objective == "survival:aft":        # intervals: some right-censored
        lower = np.abs(y) + 0.1
        upper = np.where(np.arange(len(y)) % 5 == 0, np.inf, lower * 1.5)
        dtrain.set_float_info("label_lower_bound", lower)
        dtrain.set_float_info("label_upper_bound", upper)
    p = dict(objective=objective, nthread=1, seed=1, eta=0.3)
    p.update(params)
    return xgb.train(p, dtrain, rounds), categorical


def save_all(bst, out, name, categorical):
    """Writes the model in every format it can be saved in; returns their extensions."""
    bst.save_model(os.path.join(out, name + ".json"))
    bst.save_model(os.path.join(out, name + ".ubj"))
    if categorical:                       # the old binary format has no categories
        return "json ubj"
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(bst.save_raw(raw_format="deprecated"))
    return "json ubj bin"


def orders_model(rng, out):
    """A small fraud model over named columns, for binding by name."""
    n = 4000
    amount = rng.lognormal(3.5, 1.2, n).astype(np.float32)
    age = rng.integers(0, 2000, n).astype(np.float32)
    new_device = rng.integers(0, 2, n).astype(np.float32)
    orders_1h = rng.poisson(1.0, n).astype(np.float32)
    y = ((amount > 100) & (age < 30) | (orders_1h > 3) | (new_device * (amount > 300) > 0)).astype(np.float32)
    x = np.column_stack([amount, age, new_device, orders_1h])
    x[rng.random(x.shape) < 0.03] = np.nan
    d = xgb.DMatrix(x, label=y, missing=np.nan,
                    feature_names=["amount", "account_age_days", "is_new_device", "orders_1h"])
    bst = xgb.train(dict(objective="binary:logistic", max_depth=4, nthread=1, seed=1), d, 25)
    bst.save_model(os.path.join(out, "orders.json"))
    with open(os.path.join(out, "orders.bin"), "wb") as f:
        f.write(bst.save_raw(raw_format="deprecated"))
    # a second version with a different objective for cache tests
    bst2 = xgb.train(dict(objective="binary:logistic", max_depth=2, nthread=1, seed=2), d, 5)
    bst2.save_model(os.path.join(out, "orders_v2.json"))
    # a few rows with their expected scores (some missing)
    rows = x[:200]
    pred = bst.predict(xgb.DMatrix(rows, missing=np.nan,
                                   feature_names=["amount", "account_age_days", "is_new_device", "orders_1h"]))
    pred2 = bst2.predict(xgb.DMatrix(rows, missing=np.nan,
                                     feature_names=["amount", "account_age_days", "is_new_device", "orders_1h"]))
    with open(os.path.join(out, "orders.csv"), "w", newline="") as f:
        w = csv.writer(f)
        for i, r in enumerate(rows):
            vals = ["" if np.isnan(v) else f32(v) for v in r]
            w.writerow([i] + vals + [f32(pred[i]), f32(pred2[i])])


def chain_model(template, depth, num_feature, names):
    """One tree, a chain of `depth` splits, split i on feature i: the worst case of TreeSHAP
    (depth^2 work per leaf); and num_feature names (None: none)."""
    m = json.loads(json.dumps(template))
    n = 2 * depth + 1
    left, right, parents, split, cond, hess = [], [], [], [], [], []
    for i in range(depth):            # internal node 2i: a leaf on the left, the chain on the right
        left += [2 * i + 1, -1]
        right += [2 * i + 2, -1]
    left.append(-1)
    right.append(-1)
    for node in range(n):
        parents.append(2147483647 if node == 0 else (node - 1) // 2 * 2)
        internal = node % 2 == 0 and node < n - 1
        split.append(node // 2 if internal else 0)
        cond.append(0.5 if internal else (0.01 * (node % 7) - 0.03))
        hess.append(float(n - node))
    tree = m["learner"]["gradient_booster"]["model"]["trees"][0]
    tree.update(base_weights=cond, categories=[], categories_nodes=[], categories_segments=[],
                categories_sizes=[], default_left=[0] * n, id=0, left_children=left, right_children=right,
                loss_changes=[0.0] * n, parents=parents, split_conditions=cond, split_indices=split,
                split_type=[0] * n, sum_hessian=hess)
    tree["tree_param"].update(num_feature=str(num_feature), num_nodes=str(n))
    model = m["learner"]["gradient_booster"]["model"]
    model["trees"] = [tree]
    model["tree_info"] = [0]
    model["gbtree_model_param"]["num_trees"] = "1"
    m["learner"]["learner_model_param"]["num_feature"] = str(num_feature)
    m["learner"]["feature_names"] = names or []
    m["learner"]["feature_types"] = ["float"] * num_feature if names else []
    return m


def long_running_models(out):
    """Models that take long to read or explain, for the cancel tests."""
    with open(os.path.join(out, "orders.json")) as f:
        template = json.load(f)
    with open(os.path.join(out, "chain_2000.json"), "w") as f:
        json.dump(chain_model(template, 2000, 2000, None), f)
    names = ["feature_%d" % i for i in range(100000)]
    names[-1] = names[0]              # one repeat, found at the end
    with open(os.path.join(out, "names_100000.json"), "w") as f:
        json.dump(chain_model(template, 2, 100000, names), f)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    x = make_features(rng)
    ys = labels(rng, x)

    with open(os.path.join(out, "features.csv"), "w", newline="") as f:
        w = csv.writer(f)
        for i in range(ROWS):
            cells = []
            for j, v in enumerate(x[i]):
                if np.isnan(v):
                    cells.append("NULL" if (i + j) % 2 else "NaN")
                else:
                    cells.append(f32(v))
            w.writerow([i, "{" + ",".join(cells) + "}"])

    with open(os.path.join(out, "manifest.csv"), "w", newline="") as fm, \
            open(os.path.join(out, "predictions.csv"), "w", newline="") as fp, \
            open(os.path.join(out, "margins.csv"), "w", newline="") as fg, \
            open(os.path.join(out, "contributions.csv"), "w", newline="") as fc, \
            open(os.path.join(out, "importance.csv"), "w", newline="") as fi:
        wm, wp, wg, wc, wi = csv.writer(fm), csv.writer(fp), csv.writer(fg), csv.writer(fc), csv.writer(fi)
        for name, objective, label, params, rounds in MODELS:
            bst, categorical = train(x, ys[label], objective, params, rounds)
            formats = save_all(bst, out, name, categorical)
            dall = dmatrix(x, categorical)
            pred = bst.predict(dall)
            kind = "classes" if pred.ndim == 2 else "value"
            wm.writerow([name, objective, params.get("num_class", ""), kind, formats])
            # get_score of each importance type (features no tree splits on are left out: 0)
            scores = {t: bst.get_score(importance_type=t)
                      for t in ("weight", "gain", "cover", "total_gain", "total_cover")}
            for j in range(x.shape[1]):
                key = bst.feature_names[j] if bst.feature_names else f"f{j}"
                wi.writerow([name, j + 1] + [repr(float(scores[t].get(key, 0.0)))
                                             for t in ("weight", "gain", "cover", "total_gain", "total_cover")])
            for i in range(ROWS):
                if kind == "classes":
                    wp.writerow([name, i, "{" + ",".join(f32(v) for v in pred[i]) + "}"])
                else:
                    wp.writerow([name, i, f32(pred[i])])
            if objective.startswith("multi:"):
                continue
            margin = bst.predict(dall, output_margin=True)
            for i in range(ROWS):
                wg.writerow([name, i, f32(margin[i])])
            contrib = bst.predict(dmatrix(x[:CONTRIB_ROWS], categorical), pred_contribs=True)
            for i in range(CONTRIB_ROWS):
                wc.writerow([name, i, "{" + ",".join(repr(float(v)) for v in contrib[i]) + "}"])

    orders_model(rng, out)
    long_running_models(out)


if __name__ == "__main__":
    main()
