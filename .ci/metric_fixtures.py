#!/usr/bin/python3
"""Reference values for the risk metrics (sql/metrics.sql), made at test time
with scikit-learn, and plain numpy where scikit-learn has no such metric.

Usage: /usr/bin/python3 .ci/metric_fixtures.py OUTDIR

Writes to OUTDIR:
  metric_rows.csv      grp, id, score, label (0/1), weight
  metric_expected.csv  grp, metric, weighted (t/f), value ("" for none)
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
    floor(before / n * buckets) + 1."""
    n, P, N = len(s), w[y].sum(), w[~y].sum()
    table = {}
    before = 0
    for v in np.unique(s)[::-1]:
        at = s == v
        b = int(np.floor(before / n * buckets)) + 1
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


def main(outdir):
    rng = np.random.default_rng(SEED)
    rows, expected, curve_rows = [], [], []
    for name, s, y in groups(rng):
        w = np.round(rng.lognormal(3, 1.2, size=len(s)), 2)
        for i in range(len(s)):
            rows.append((name, i, repr(float(s[i])), int(y[i]), repr(float(w[i]))))
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
    with open(os.path.join(outdir, "metric_curves.csv"), "w", newline="") as f:
        csv.writer(f).writerows(curve_rows)


if __name__ == "__main__":
    main(sys.argv[1])
