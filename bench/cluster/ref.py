"""scikit-learn side of bench/cluster: times DBSCAN and IsolationForest on
the rows flowguard uses, writes labels and timings for main.go run."""
import json, sys, time
import numpy as np
import sklearn
from sklearn.cluster import DBSCAN
from sklearn.ensemble import IsolationForest

d, eps, ms, jobs, trees = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(d + "/x.f64", dtype="<f8").reshape(-1, 9)
t = time.perf_counter()
lab = DBSCAN(eps=eps, min_samples=ms, algorithm="auto", n_jobs=jobs).fit(X).labels_
db = time.perf_counter() - t
lab.astype("<i8").tofile(d + "/sklearn_labels.i64")
t = time.perf_counter()
f = IsolationForest(n_estimators=trees, max_samples=256, n_jobs=jobs, random_state=1).fit(X)
fit = time.perf_counter() - t
t = time.perf_counter()
f.score_samples(X)
sc = time.perf_counter() - t
json.dump({"version": sklearn.__version__, "dbscan_s": db, "clusters": int(lab.max() + 1),
           "noise": int((lab == -1).sum()), "iforest_fit_s": fit, "iforest_score_s": sc,
           "iforest_score_rows": len(X)}, open(d + "/sklearn.json", "w"))
print(f"scikit-learn {sklearn.__version__}: DBSCAN {db:.2f} s, IsolationForest fit {fit:.3f} s, score {sc:.3f} s")
