#!/usr/bin/python3
"""Reference values for the risk metrics (sql/metrics.sql), made at test time
with scikit-learn, and plain numpy where scikit-learn has no such metric.

Usage: /usr/bin/python3 .ci/metric_fixtures.py OUTDIR

Writes to OUTDIR:
  metric_rows.csv      grp, id, score, label (0/1), weight
  metric_expected.csv  grp, metric, weighted (t/f), value ("" for none)
  metric_pairs.csv     grp, id, score_b (a challenger's score of the same rows)
  metric_compare.csv   grp, what, value: DeLong's interval of AUC (95% and
                       90%) and test of score against score_b, by direct
                       pairwise counting; two-proportion z-tests
  metric_drift.csv     case, value, actual (t/f): samples for PSI
  metric_drift_expected.csv  case, bins, psi, by the reference quantiles
  metric_categories.csv  category, actual (t/f): a categorical feature, for
                       CSI (its value in metric_compare.csv)
  metric_curves.csv    grp, weighted, curve, i (1-based), then the curve's
                       columns (threshold, fpr, tpr for roc; threshold,
                       precision, recall for pr; every column of
                       risk.gains_bucket and risk.calibration_bin), padded
                       to 10 with ""

Groups: coarse (scores on a 0.01 grid: many ties), fine (continuous),
extreme (exact 0 and 1, and scores within 1e-12 of them: log loss clips),
rare (0.5% positives, like fraud), single (negatives only: rank metrics are
none).  Weights are amounts in cents, heavy-tailed.
"""
import csv
import os
import sys

import numpy as np
from sklearn import metrics as M
from scipy.stats import norm
from sklearn.calibration import calibration_curve

SEED = 20261124
THRESHOLD = 0.5
MAX_FPR = 0.05
TOP = 0.1
BUCKETS = 10
BINS = 10


def groups(rng):
    n = 6000
    fine = rng.beta(2, 5, size=n)
    yield "coarse", np.round(fine, 2), rng.random(n) < np.round(fine, 2) * 0.9
    yield "fine", fine, rng.random(n) < fine
    ext = rng.choice([0.0, 1.0, 1e-12, 1 - 1e-12, 0.5, 0.25], size=n)
    yield "extreme", ext, rng.random(n) < np.clip(ext, 0.1, 0.9)
    rare = rng.beta(1, 30, size=n)
    yield "rare", rare, rng.random(n) < rare * 0.15
    yield "single", fine[:500], np.zeros(500, dtype=bool)


def ks(y, s, w):
    fpr, tpr, _ = M.roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    return float(np.max(np.abs(tpr - fpr)))


def recall_at_fpr(y, s, w, alpha):
    fpr, tpr, _ = M.roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    return float(np.max(tpr[fpr <= alpha]))     # the first point (nothing flagged) has fpr 0


def capture(y, s, w, top):
    """Positives' weight in the top fraction of rows, a tied group across
    the cut counted in proportion."""
    quota = top * len(s)
    taken = caught = 0.0
    for v in np.unique(s)[::-1]:
        at = s == v
        n = float(at.sum())
        part = min(1.0, (quota - taken) / n)
        if part <= 0:
            break
        caught += part * float(w[at & y].sum())
        taken += part * n
    return caught / float(w[y].sum())


def references(y, s, w):
    """metric -> value, for weights w (all ones: unweighted)."""
    yi = y.astype(int)
    flagged = (s >= THRESHOLD).astype(int)
    out = {
        "log_loss": M.log_loss(yi, s, sample_weight=w, labels=[0, 1]),
        "brier": M.brier_score_loss(yi, s, sample_weight=w),
        "accuracy": M.accuracy_score(yi, flagged, sample_weight=w),
    }
    out["precision"] = (M.precision_score(yi, flagged, sample_weight=w, zero_division=0)
                        if flagged.sum() else None)
    out["recall"] = M.recall_score(yi, flagged, sample_weight=w) if yi.sum() else None
    out["f1"] = M.f1_score(yi, flagged, sample_weight=w) if yi.sum() + flagged.sum() else None
    if yi.min() == yi.max():
        for m in ("auc", "gini", "average_precision", "ks", "recall_at_fpr", "capture_rate", "lift"):
            out[m] = None
        return out
    out["auc"] = M.roc_auc_score(yi, s, sample_weight=w)
    out["gini"] = 2 * out["auc"] - 1
    out["average_precision"] = M.average_precision_score(yi, s, sample_weight=w)
    out["ks"] = ks(yi, s, w)
    out["recall_at_fpr"] = recall_at_fpr(yi, s, w, MAX_FPR)
    out["capture_rate"] = capture(y, s, w, TOP)
    out["lift"] = out["capture_rate"] / TOP
    return out


def roc(y, s, w):
    """scikit-learn's ROC curve, every distinct score, from (+Infinity, 0, 0)."""
    fpr, tpr, thr = M.roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    thr = thr.astype(float)
    thr[0] = np.inf             # scikit-learn 1.2 writes max + 1 there
    return zip(thr, fpr, tpr)


def pr(y, s, w):
    """scikit-learn's precision-recall curve from the highest threshold down,
    without its closing point (recall 0, precision 1, no threshold)."""
    precision, recall, thr = M.precision_recall_curve(y, s, sample_weight=w)
    return zip(thr[::-1], precision[-2::-1], recall[-2::-1])


def gains(y, s, w, buckets):
    """Rows ranked by score, cut into equal row counts, ties kept together:
    a distinct score starting after `before` rows goes to bucket
    floor(before * buckets / n) + 1 (in integers)."""
    n, P, N = len(s), w[y].sum(), w[~y].sum()
    table = {}
    before = 0
    for v in np.unique(s)[::-1]:
        at = s == v
        b = before * buckets // n + 1
        t = table.setdefault(b, dict(lo=v, hi=v, rows=0, pos=0.0, neg=0.0, end=0))
        t["lo"] = v
        t["rows"] += int(at.sum())
        t["pos"] += float(w[at & y].sum())
        t["neg"] += float(w[at & ~y].sum())
        before += int(at.sum())
        t["end"] = before
    out, cp, cn = [], 0.0, 0.0
    for b in sorted(table):
        t = table[b]
        cp += t["pos"]
        cn += t["neg"]
        population = t["end"] / n
        out.append((b, t["lo"], t["hi"], t["rows"], t["pos"], t["pos"] / (t["pos"] + t["neg"]),
                    population, cp / P, cp / P / population, abs(cp / P - cn / N)))
    return out


def calibration(y, s, w, bins):
    """scikit-learn's calibration_curve (uniform bins) where it applies
    (mean score and positive rate without weights), numpy's bincount for
    the rest, on the same bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], s)
    rows = np.bincount(ids, minlength=bins)
    wsum = np.bincount(ids, weights=w, minlength=bins)
    pos = np.bincount(ids, weights=w * y, minlength=bins)
    mean = np.bincount(ids, weights=w * s, minlength=bins)
    full = rows > 0
    rate, pred = pos[full] / wsum[full], mean[full] / wsum[full]
    if np.all(w == 1):
        rate, pred = calibration_curve(y, s, n_bins=bins, strategy="uniform")
    return [(b + 1, edges[b], edges[b + 1], rows[b], pos[b], p, r)
            for b, p, r in zip(np.flatnonzero(full), pred, rate)]


def curves(y, s, w):
    """curve -> list of rows."""
    out = {"calibration": calibration(y, s, w, BINS)}
    if y.min() != y.max():
        out["roc"] = list(roc(y, s, w))
        out["pr"] = list(pr(y, s, w))
        out["gains"] = gains(y, s, w, BUCKETS)
    return out


def placements(y, s):
    """DeLong's placements by direct pairwise counting: for each positive the
    share of negatives it outranks, for each negative the share of positives
    that outrank it, ties one half."""
    pos, neg = s[y], s[~y]
    cmp = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return cmp.mean(axis=1), cmp.mean(axis=0)


def delong(y, s, s_b, levels=(0.95, 0.90)):
    v10, v01 = placements(y, s)
    auc = v10.mean()
    se = np.sqrt(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))
    out = {"auc": auc, "se": se}
    for level in levels:
        z = norm.ppf(0.5 + level / 2)
        out["lower_%g" % level] = max(auc - z * se, 0)
        out["upper_%g" % level] = min(auc + z * se, 1)
    w10, w01 = placements(y, s_b)
    d10, d01 = v10 - w10, v01 - w01
    se_d = np.sqrt(d10.var(ddof=1) / len(d10) + d01.var(ddof=1) / len(d01))
    out["auc_b"] = w10.mean()
    out["diff_se"] = se_d
    out["z"] = (auc - w10.mean()) / se_d
    out["p"] = 2 * norm.sf(abs(out["z"]))
    return out


PROPORTIONS = [(30, 1000, 45, 1000), (120, 5000, 100, 5200), (0, 10, 3, 10), (7, 7, 1, 9)]


def proportion_test(x1, n1, x2, n2):
    p = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return z, 2 * norm.sf(abs(z))


def drift_cases(rng):
    """case -> (reference, actual): a shift, ties (edges merge), the same
    distribution, actual values outside the reference range."""
    yield "shift", rng.beta(2, 5, 5000), rng.beta(2.6, 5, 3000)
    yield "ties", rng.integers(0, 6, 4000).astype(float), rng.integers(0, 8, 2500).astype(float)
    yield "same", rng.normal(0, 1, 4000), rng.normal(0, 1, 4000)
    yield "outside", rng.uniform(0, 1, 2000), rng.uniform(0.5, 1.5, 2000)


def psi(ref, act, bins, eps=0.0001):
    """Bins at the reference quantiles: edge k is the value at rank
    ceil(k n / bins) of the sorted reference; repeated edges merge; a bin
    holds (lower, upper]."""
    r = np.sort(ref)
    n = len(r)
    edges = np.unique([r[max(int(np.ceil(k * n / bins)), 1) - 1] for k in range(1, bins)])
    e = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
    a = np.bincount(np.searchsorted(edges, act, side="left"), minlength=len(edges) + 1) / len(act)
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    return float(np.sum((a - e) * np.log(a / e)))


def csi_categories(rng):
    """Categories of a feature (payment method, say) on each side, one only
    in the actual rows and one only in the reference."""
    ref = rng.choice(["card", "wallet", "cod", "bnpl", "gift"], size=3000, p=[0.5, 0.3, 0.1, 0.07, 0.03])
    act = rng.choice(["card", "wallet", "cod", "bnpl", "crypto"], size=2000, p=[0.4, 0.35, 0.1, 0.1, 0.05])
    return ref, act


def csi(ref, act, eps=0.0001):
    cats = sorted(set(ref) | set(act))
    e = np.array([np.mean(ref == c) for c in cats])
    a = np.array([np.mean(act == c) for c in cats])
    e, a = np.maximum(e, eps), np.maximum(a, eps)
    return float(np.sum((a - e) * np.log(a / e)))


def main(outdir):
    rng = np.random.default_rng(SEED)
    other = np.random.default_rng(SEED + 1)     # the groups draw from rng alone
    rows, expected, curve_rows, pairs, compare = [], [], [], [], []
    for name, s, y in groups(rng):
        w = np.round(rng.lognormal(3, 1.2, size=len(s)), 2)
        for i in range(len(s)):
            rows.append((name, i, repr(float(s[i])), int(y[i]), repr(float(w[i]))))
        s_b = np.clip(s + other.normal(0, 0.08, len(s)), 0, 1).round(3)
        pairs.extend((name, i, repr(float(s_b[i]))) for i in range(len(s)))
        if y.min() != y.max():
            compare.extend((name, what, repr(float(v))) for what, v in delong(y, s, s_b).items())
        for weighted, wt in (("f", np.ones(len(s))), ("t", w)):
            for metric, value in references(y, s, wt).items():
                expected.append((name, metric, weighted, "" if value is None else repr(float(value))))
            for curve, points in curves(y, s, wt).items():
                for i, point in enumerate(points, 1):
                    values = tuple(repr(float(x)) for x in point)
                    curve_rows.append((name, weighted, curve, i) + values + ("",) * (10 - len(values)))
    with open(os.path.join(outdir, "metric_rows.csv"), "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with open(os.path.join(outdir, "metric_expected.csv"), "w", newline="") as f:
        csv.writer(f).writerows(expected)
    for i, (x1, n1, x2, n2) in enumerate(PROPORTIONS):
        z, p = proportion_test(x1, n1, x2, n2)
        compare.extend([("prop%d" % i, "z", repr(float(z))), ("prop%d" % i, "p", repr(float(p)))])
    drift, drift_expected = [], []
    for case, ref, act in drift_cases(other):
        drift.extend((case, repr(float(v)), "f") for v in ref)
        drift.extend((case, repr(float(v)), "t") for v in act)
        for bins in (10, 4):
            drift_expected.append((case, bins, repr(psi(ref, act, bins))))
    ref, act = csi_categories(other)
    categories = [(c, "f") for c in ref] + [(c, "t") for c in act]
    compare.append(("categories", "csi", repr(csi(ref, act))))
    for name, data in (("metric_categories.csv", categories), ("metric_pairs.csv", pairs), ("metric_compare.csv", compare),
                       ("metric_drift.csv", drift), ("metric_drift_expected.csv", drift_expected)):
        with open(os.path.join(outdir, name), "w", newline="") as f:
            csv.writer(f).writerows(data)
    with open(os.path.join(outdir, "metric_curves.csv"), "w", newline="") as f:
        csv.writer(f).writerows(curve_rows)


if __name__ == "__main__":
    main(sys.argv[1])
