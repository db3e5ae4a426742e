#!/usr/bin/env python3
"""Checks a model of XGBoost 1.7's hist cut points against the split values
XGBoost actually uses (bench/train/README.md, "Why the GBDT macro-F1
differs"). It trains XGBoost with the bench's settings on a prepared split,
recomputes every feature's cuts from the training column, and reports the
distinct split values of the trees that are not among them.

The model: the column, as float32, summarised exactly as distinct values
with rank ranges [rmin, rmax); the summary pruned (WQSummary::SetPrune) to
the sketch's size limit, then to max_bin*8 entries, then to max_bin+1; the
cuts are the values of entries 1..max_bin-1 (x < cut goes left), then a
sentinel above the maximum. Exact only while a column fits the sketch's
buffer (2 x limit rows: 4,098 rows for cic2017, 8,194 for k8s).

    bench/train/xgbcuts.py --dataset cic2017 [--max-bin 256]
"""
import argparse

import numpy as np
import pandas as pd


def summary(col):
    v = np.sort(col[~np.isnan(col)].astype(np.float32))
    vals, cnt = np.unique(v, return_counts=True)
    rmax = np.cumsum(cnt).astype(np.float32)
    return vals, rmax - cnt.astype(np.float32), rmax, cnt.astype(np.float32)


def prune(s, maxsize):
    vals, rmin, rmax, w = s
    m = len(vals)
    if m <= maxsize:
        return s
    f = np.float32
    begin, span, div = rmax[0], f(rmin[-1] - rmax[0]), maxsize - 1
    out, i, last = [0], 1, 0
    for k in range(1, div):
        dx2 = f(2) * f(f(f(f(k) * span) / f(div)) + begin)
        while i < m - 1 and dx2 >= rmax[i + 1] + rmin[i + 1]:
            i += 1
        if i == m - 1:
            break
        if dx2 < (rmin[i] + w[i]) + (rmax[i + 1] - w[i + 1]):
            if i != last:
                out.append(i)
                last = i
        elif i + 1 != last:
            out.append(i + 1)
            last = i + 1
    if last != m - 1:
        out.append(m - 1)
    return tuple(a[out] for a in s)


def limit_size(n, max_bin):
    eps = 1.0 / (np.float32(min(max_bin, n)) * 8)
    level = 1
    while True:
        limit = min(n, int(np.ceil(level / eps)) + 1)
        if (1 << level) * limit >= n:
            return limit
        level += 1


def cuts(col, max_bin):
    s = summary(col)
    n = int((~np.isnan(col)).sum())
    if n == 0:
        return np.array([], np.float32)
    inter = min(n, max_bin * 8)
    s = prune(prune(s, limit_size(n, max_bin)), inter)
    nb = min(inter, max_bin)
    a = prune(s, nb + 1)[0]
    c = list(a[1:min(len(a), nb)])
    c.append(np.float32(a[-1] + (abs(a[-1]) + np.float32(1e-5))))
    return np.array(c, np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/flowguard-train-bench/data")
    ap.add_argument("--dataset", default="cic2017")
    ap.add_argument("--max-bin", type=int, default=256)
    ap.add_argument("--trees", type=int, default=200)
    a = ap.parse_args()
    import xgboost as xgb
    df = pd.read_csv(f"{a.data}/{a.dataset}/train.csv")
    y = df.pop("label").to_numpy(np.int64)
    X = df.to_numpy(np.float64)
    clf = xgb.XGBClassifier(tree_method="hist", n_estimators=a.trees, max_depth=6, learning_rate=0.1,
                            reg_lambda=1.0, min_child_weight=1.0, n_jobs=2, random_state=1, max_bin=a.max_bin)
    clf.fit(X, y)
    t = clf.get_booster().trees_to_dataframe()
    t = t[t.Feature != "Leaf"]
    splits = {(int(f[1:]), np.float32(v)) for f, v in zip(t.Feature, t.Split)}
    C = {}
    missing = []
    for f, v in sorted(splits):
        if f not in C:
            C[f] = cuts(X[:, f], a.max_bin)
        if not (C[f] == v).any():
            missing.append((f, float(v)))
    print(f"{a.dataset} max_bin {a.max_bin}: {len(splits)} distinct split values, "
          f"{len(missing)} not among the modelled cuts {missing[:10]}")


if __name__ == "__main__":
    main()
