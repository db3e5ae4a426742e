#!/usr/bin/env python3
"""Reference side of the training benchmark (bench/train/run.sh): trains
XGBoost 1.7 (tree_method=hist) or scikit-learn's RandomForestClassifier on
the CSV splits `train prepare` wrote, with the settings flowguard gets, and
records train wall time, batch prediction time (the median of
--predict-reps timings) and macro-F1 as JSON in the same fields as the Go
side."""
import argparse
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score


def load(path):
    df = pd.read_csv(path)
    y = df.pop("label").to_numpy(np.int64)
    return df.to_numpy(np.float64), y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/flowguard-train-bench/data")
    ap.add_argument("--dataset", default="cic2017")
    ap.add_argument("--model", choices=["gbdt", "rf"], default="gbdt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--eta", type=float, default=0.1)
    ap.add_argument("--lambda", dest="lam", type=float, default=1.0)
    ap.add_argument("--min-child-weight", type=float, default=1.0)
    ap.add_argument("--rep", type=int, default=0)
    ap.add_argument("--split", type=int, default=1, help="split number, recorded")
    ap.add_argument("--predict-reps", type=int, default=1,
                    help="time prediction this many times and record the median")
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    Xtr, ytr = load(f"{a.data}/{a.dataset}/train.csv")
    Xte, yte = load(f"{a.data}/{a.dataset}/test.csv")
    if a.model == "gbdt":
        import xgboost as xgb
        tool = "xgboost"
        clf = xgb.XGBClassifier(tree_method="hist", n_estimators=a.trees, max_depth=a.depth,
                                learning_rate=a.eta, reg_lambda=a.lam,
                                min_child_weight=a.min_child_weight, n_jobs=a.threads,
                                random_state=1)
    else:
        from sklearn.ensemble import RandomForestClassifier
        tool = "sklearn"
        clf = RandomForestClassifier(n_estimators=a.trees, max_features="sqrt",
                                     n_jobs=a.threads, random_state=1)
    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    c0, t0 = cpu(), time.perf_counter()
    clf.fit(Xtr, ytr)
    train_s, train_cpu = time.perf_counter() - t0, cpu() - c0
    times = []
    for _ in range(max(a.predict_reps, 1)):
        t0 = time.perf_counter()
        proba = clf.predict_proba(Xte)
        times.append(time.perf_counter() - t0)
    pred_s = float(np.median(times))
    pred = clf.classes_[np.argmax(proba, axis=1)]
    res = dict(tool=tool, model=a.model, dataset=a.dataset, rep=a.rep, split=a.split, threads=a.threads,
               trees=a.trees, train_rows=len(ytr), test_rows=len(yte), train_s=train_s, train_cpu_s=train_cpu,
               predict_s=pred_s, macro_f1=float(f1_score(yte, pred, average="macro")))
    print(f"{tool:9s} {a.model:4s} {a.dataset:11s} split {a.split} rep {a.rep}: train {train_s:.2f}s, "
          f"predict {pred_s:.3f}s, macro-F1 {res['macro_f1']:.4f}", file=sys.stderr)
    line = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    main()
