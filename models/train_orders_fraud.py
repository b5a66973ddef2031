#!/usr/bin/python3
"""Trains models/orders_fraud.json, the model `make demo` scores with.

Reproducible: run `/usr/bin/python3 models/train_orders_fraud.py` (Debian's
python3-xgboost 1.7.4, python3-numpy) and it writes the same file.

The data are synthetic orders with eight named features; the label marks
orders that a hidden rule, plus noise, calls fraudulent:
  - large orders from accounts a few days old,
  - bursts of orders in the last hour, many cards in a day,
  - a new device shipping to a country other than the IP's, at night.
Settings: binary:logistic, 60 trees, max_depth 5, eta 0.15, subsample 0.8,
hist tree method, seed 42, 200,000 orders.
"""
import os

import numpy as np
import xgboost as xgb

FEATURES = ["amount", "account_age_days", "is_new_device", "orders_1h",
            "distinct_cards_24h", "ip_country_mismatch", "hour_of_day", "coupon_used"]


def orders(n, rng):
    amount = np.round(rng.lognormal(3.6, 1.0, n), 2)
    account_age_days = np.floor(rng.exponential(400, n))
    is_new_device = (rng.random(n) < 0.12).astype(float)
    orders_1h = rng.poisson(0.4, n).astype(float)
    distinct_cards_24h = 1 + rng.poisson(0.15, n).astype(float)
    ip_country_mismatch = (rng.random(n) < 0.06).astype(float)
    hour_of_day = rng.integers(0, 24, n).astype(float)
    coupon_used = (rng.random(n) < 0.2).astype(float)
    x = np.column_stack([amount, account_age_days, is_new_device, orders_1h,
                         distinct_cards_24h, ip_country_mismatch, hour_of_day, coupon_used])
    logit = (-5.0
             + 2.2 * ((amount > 150) & (account_age_days < 7))
             + 0.9 * np.minimum(orders_1h, 5)
             + 1.1 * (distinct_cards_24h - 1)
             + 1.8 * is_new_device * ip_country_mismatch
             + 0.8 * ((hour_of_day < 5) & (is_new_device > 0))
             + 0.5 * coupon_used * (account_age_days < 2)
             + rng.normal(0, 0.5, n))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    # some features unknown for some orders (e.g. device fingerprint failed)
    x[:, 2][rng.random(n) < 0.02] = np.nan
    x[:, 5][rng.random(n) < 0.03] = np.nan
    return x.astype(np.float32), y


def main():
    rng = np.random.default_rng(42)
    x, y = orders(200_000, rng)
    d = xgb.DMatrix(x, label=y, missing=np.nan, feature_names=FEATURES)
    params = dict(objective="binary:logistic", max_depth=5, eta=0.15, subsample=0.8,
                  tree_method="hist", seed=42, nthread=1, eval_metric="auc")
    bst = xgb.train(params, d, 60)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "orders_fraud.json")
    bst.save_model(out)
    print(f"wrote {out}: {len(bst.get_dump())} trees, fraud rate {y.mean():.4f}")


if __name__ == "__main__":
    main()
