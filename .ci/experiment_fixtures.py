#!/usr/bin/python3
"""Reference values for the experiment functions (sql/experiment.sql), made
at test time with scikit-learn and scipy, independently of the extension.

Writes into the directory given:
  experiment_rows.csv      grp, id, score_a, score_b, label (0/1, "" when not
                           labelled yet), amount
  experiment_expected.csv  grp, what, value: rows, labelled, positives, AUCs
                           (scikit-learn), DeLong's paired interval and
                           p-value (pairwise placements), recall and FPR at
                           the thresholds, McNemar's exact p-values
                           (scipy.stats.binomtest), amounts caught and
                           declined; sample ratio tests (scipy.stats.chisquare)
  experiment_drift.csv     side (reference/current), x1, x2, x3, y: rows for
                           risk.feature_drift
  experiment_drift_expected.csv  feature, csi (bins at the reference deciles)
"""
import csv
import os
import sys

import numpy as np
from scipy.stats import binomtest, chisquare, norm
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(__file__))
from metric_fixtures import psi  # noqa: E402  (the drift reference of sql/metrics.sql)

THRESHOLDS = {"main": (0.5, 0.45), "ties": (0.3, 0.3)}
SRM = [(5100, 94900, 0.05), (5000, 95000, 0.05), (480, 520, 0.5), (1, 99, 0.2)]


def groups(rng):
    n = 5000
    y = rng.random(n) < 0.04
    a = np.clip(rng.normal(0.25 + 0.4 * y, 0.2), 0, 1)
    b = np.clip(a + rng.normal(0.03 * y, 0.12), 0, 1)
    yield "main", a, b, y
    yield "ties", np.round(a, 1), np.round(b, 1), y


def placements(y, s):
    pos, neg = s[y], s[~y]
    cmp = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return cmp.mean(axis=1), cmp.mean(axis=0)


def main(out):
    rng = np.random.default_rng(20261202)
    rows, expected = [], []
    for name, a, b, y in groups(rng):
        n = len(a)
        labelled = rng.random(n) >= 0.1
        amount = np.round(rng.lognormal(3.5, 1.0, n), 2)
        for i in range(n):
            rows.append((name, i, repr(float(a[i])), repr(float(b[i])),
                         int(y[i]) if labelled[i] else "", repr(float(amount[i]))))
        ly, la, lb, lm = y[labelled], a[labelled], b[labelled], amount[labelled]
        ta, tb = THRESHOLDS[name]
        v10a, v01a = placements(ly, la)
        v10b, v01b = placements(ly, lb)
        d10, d01 = v10a - v10b, v01a - v01b
        se = np.sqrt(d10.var(ddof=1) / len(d10) + d01.var(ddof=1) / len(d01))
        auc_a, auc_b = roc_auc_score(ly, la), roc_auc_score(ly, lb)
        z = norm.ppf(0.975)
        fa, fb = la >= ta, lb >= tb
        pos, neg = ly, ~ly
        vals = {
            "rows": n, "labelled": int(labelled.sum()), "positives": int(ly.sum()),
            "auc_a": auc_a, "auc_b": auc_b, "auc_ci_low": auc_a - auc_b - z * se,
            "auc_ci_high": auc_a - auc_b + z * se, "auc_p_value": 2 * norm.sf(abs((auc_a - auc_b) / se)),
            "recall_a": fa[pos].mean(), "recall_b": fb[pos].mean(),
            "fpr_a": fa[neg].mean(), "fpr_b": fb[neg].mean(),
            "caught_amount_a": lm[pos & fa].sum(), "caught_amount_b": lm[pos & fb].sum(),
            "declined_good_amount_a": lm[neg & fa].sum(), "declined_good_amount_b": lm[neg & fb].sum(),
        }
        for cls, key in ((pos, "recall_p_value"), (neg, "fpr_p_value")):
            k = int((fa[cls] & ~fb[cls]).sum())
            m = k + int((fb[cls] & ~fa[cls]).sum())
            vals[key] = binomtest(k, m, 0.5).pvalue if m > 0 else 1.0
        expected.extend((name, k, repr(float(v))) for k, v in vals.items())
    for i, (x, y, share) in enumerate(SRM):
        stat, p = chisquare([x, y], [(x + y) * share, (x + y) * (1 - share)])
        expected.extend([("srm%d" % i, "chi_square", repr(float(stat))), ("srm%d" % i, "p_value", repr(float(p)))])
    with open(os.path.join(out, "experiment_rows.csv"), "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with open(os.path.join(out, "experiment_expected.csv"), "w", newline="") as f:
        csv.writer(f).writerows(expected)

    # drift: x1 shifts, x2 does not, x3 (a flag) flips more often; some missing
    ref = {"x1": rng.normal(0, 1, 4000), "x2": rng.normal(5, 2, 4000), "x3": (rng.random(4000) < 0.2).astype(float)}
    cur = {"x1": rng.normal(0.4, 1.2, 3000), "x2": rng.normal(5, 2, 3000), "x3": (rng.random(3000) < 0.35).astype(float)}
    for side in (ref, cur):
        side["x2"][rng.random(len(side["x2"])) < 0.05] = np.nan
    drift = []
    for label, side in (("reference", ref), ("current", cur)):
        for i in range(len(side["x1"])):
            x2 = side["x2"][i]
            drift.append((label, repr(float(side["x1"][i])), "" if np.isnan(x2) else repr(float(x2)),
                          "t" if side["x3"][i] else "f", int(side["x1"][i] > 1)))
    with open(os.path.join(out, "experiment_drift.csv"), "w", newline="") as f:
        csv.writer(f).writerows(drift)
    with open(os.path.join(out, "experiment_drift_expected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        for name in ("x1", "x2", "x3"):
            r, c = ref[name], cur[name]
            w.writerow((name, repr(psi(r[~np.isnan(r)], c[~np.isnan(c)], 10))))


if __name__ == "__main__":
    main(sys.argv[1])
