"""The benchmark's feature rows, reproducible in SQL and in numpy.

Row id (1..N), feature j (0..29): a multiplicative hash of (id, j) scaled to
[0, 1), rounded to float32; missing (NULL) when another hash of (id, j) is
0 mod 20, i.e. 5% of values.  bench/score.sql builds the same rows in SQL.
"""
import numpy as np

NFEAT = 30
M = 1 << 32
MULT = [2654435761 + 7919 * j for j in range(NFEAT)]
ADD = [40503 * (j + 1) for j in range(NFEAT)]


def rows(n, start=1):
    ids = np.arange(start, start + n, dtype=np.int64)
    x = np.empty((n, NFEAT), dtype=np.float32)
    for j in range(NFEAT):
        h = (ids * MULT[j] + ADD[j]) % M
        x[:, j] = (h.astype(np.float64) / M).astype(np.float32)
        miss = ((ids * 97 + j * 31) % 20) == 0
        x[miss, j] = np.nan
    return x


def sql_expression():
    """The SQL that builds feature j of row id, as a real (NULL when missing)."""
    parts = []
    for j in range(NFEAT):
        parts.append(f"CASE WHEN (id * 97 + {j * 31}) % 20 = 0 THEN NULL "
                     f"ELSE (((id * {MULT[j]} + {ADD[j]}) % {M})::float8 / {M})::real END")
    return "ARRAY[" + ",\n      ".join(parts) + "]"
