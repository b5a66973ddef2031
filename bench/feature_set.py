#!/usr/bin/python3
"""numpy's time for the feature-set batch benchmark (bench/feature_set.sql):
the same 12 features of every event, on arrays in memory, with
searchsorted.  Reads the COPY BINARY file of (id, second, buyer, card,
cents), and times, best of two runs: the sorts by (entity, second, id),
then the features on the sorted arrays.  The windows are tiled as risk
tiles them (README, "Online velocity features"): a window of width w
starts at the start of the hop h(w) that holds t - w, so each window's
lower bound is floor((t - w) / h) * h; same-second events count in id
order.  A delayed window is the difference of two tiled windows.
Prints: sort ms, features ms, then each feature's weighted checksum
(sum of value * (id * 2654435761 mod 1000 + 1)), for bench/run to compare
with the database's.

Usage: /usr/bin/python3 bench/feature_set.py FILE
"""
import sys
import time

import numpy as np

HEADER = 19          # PGCOPY signature, flags, header extension length
ROW = np.dtype([("fields", ">i2")] + [x for c in ("id", "sec", "buyer", "card", "cents")
                                      for x in ((c + "_len", ">i4"), (c, ">i8"))])
HOPS = [86400, 6 * 3600, 2 * 3600, 3600, 1800, 600, 300, 60, 30, 10, 5, 1]   # seconds
DAY = 86400


def hop(width):
    """risk's tile hop of a window (velocity_tile_hop), in seconds."""
    return next((h for h in HOPS if 12 * h <= width), 1)


def features(sec, ent, cents, widths, delay):
    """Counts and sums (in cents) of each tiled window for events sorted by
    (entity, second, id): before the event, or delayed by delay seconds."""
    key = ent * (1 << 32) + sec                   # sorted, as the arrays are
    n = len(key)
    pos = np.arange(n)
    cs = np.concatenate(([0], np.cumsum(cents)))
    out = []

    def lower(width):
        h = hop(width)
        return np.searchsorted(key, ent * (1 << 32) + np.floor_divide(sec - width, h) * h, "left")

    for w in widths:
        if delay == 0:
            lo, hi = lower(w), pos
        else:
            lo, hi = lower(delay + w), lower(delay)
        out.append((hi - lo).astype(np.float64))
        out.append((cs[hi] - cs[lo]) / 100.0)
    return out


def run(rows):
    t0 = time.perf_counter()
    ob = np.lexsort((rows["id"], rows["sec"], rows["buyer"]))
    oc = np.lexsort((rows["id"], rows["sec"], rows["card"]))
    b = {c: rows[c][ob] for c in ("id", "sec", "buyer", "cents")}
    c = {k: rows[k][oc] for k in ("id", "sec", "card", "cents")}
    t1 = time.perf_counter()
    fb = features(b["sec"], b["buyer"], b["cents"], [3600, DAY, 7 * DAY], 0)
    fc = features(c["sec"], c["card"], c["cents"], [DAY, 7 * DAY, 30 * DAY], 7 * DAY)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, b["id"], fb, c["id"], fc


def main(path):
    raw = np.fromfile(path, dtype=np.uint8)
    rows = raw[HEADER:len(raw) - 2].view(ROW)
    if not np.all(rows["fields"] == 5):
        sys.exit("feature_set.py: unexpected COPY BINARY layout")
    rows = {c: rows[c].astype(np.int64) for c in ("id", "sec", "buyer", "card", "cents")}
    best_sort, best_feat = float("inf"), float("inf")
    for _ in range(2):
        s, f, bid, fb, cid, fc = run(rows)
        best_sort, best_feat = min(best_sort, s), min(best_feat, f)
    sums = []
    for ids, cols in ((bid, fb), (cid, fc)):
        w = ((ids * 2654435761) % 1000 + 1).astype(np.float64)
        sums += [float(np.sum(v * w)) for v in cols]
    print(f"{best_sort * 1000:.1f} {best_feat * 1000:.1f} " + " ".join(repr(x) for x in sums))


if __name__ == "__main__":
    main(sys.argv[1])
