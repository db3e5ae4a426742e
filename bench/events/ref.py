"""scikit-learn side of bench/events: the pipeline ML-PT used, done
properly, on CSIC 2010. Fit on normalTrafficTraining, score normalTrafficTest
+ anomalousTrafficTest, RUNS times each; writes OUT_JSON for main.go.

    ref.py CSIC_DIR OUT_JSON RUNS JOBS

Parsing (counted in the timings, as flowguard's is): each file is gunzipped
and decoded as Latin-1, then cut into requests at every line feed that is
followed by "GET ", "POST " or "PUT " (CSIC requests start with
"METHOD http://localhost:8080/"; normalTrafficTest separates them with
CRLF CRLF LF, the other two files with CRLF CRLF). In a request, the head
ends at the first blank line; the first head line gives method and URL,
whatever follows the blank line (stripped) is the body. The document is
"METHOD URL BODY" with URL and body %-decoded once by
urllib.parse.unquote_plus (Latin-1); TfidfVectorizer lower-cases it.

Pipeline: TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3),
sublinear_tf=True) -> StandardScaler(with_mean=False) -> TruncatedSVD(32)
-> IsolationForest(n_estimators=100, n_jobs=JOBS), like flowguard's
featurizer (scale, then an SVD fitted on the scaled data). Score is
-score_samples (higher = more anomalous); ROC-AUC with anomalous = 1.
"""
import gzip, json, re, statistics, sys, time
from urllib.parse import unquote_plus

import numpy as np
import sklearn
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import IsolationForest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

START = re.compile(r"\n(?=(?:GET|POST|PUT) )")


def parse(path):
    with gzip.open(path, "rb") as f:
        text = f.read().decode("latin-1")
    docs = []
    for req in START.split(text):
        head, _, body = req.partition("\r\n\r\n")
        line = head.strip().split("\r\n", 1)[0]
        parts = line.split(" ")
        if len(parts) < 2:
            continue
        docs.append(parts[0] + " " + unquote_plus(parts[1], encoding="latin-1") + " " + unquote_plus(body.strip(), encoding="latin-1"))
    return docs


def pipeline(jobs):
    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
        StandardScaler(with_mean=False),
        TruncatedSVD(n_components=32, random_state=1),
        IsolationForest(n_estimators=100, n_jobs=jobs, random_state=1),
    )


def main():
    data, out, runs, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    train = data + "/normalTrafficTraining.txt.gz"
    tests = [data + "/normalTrafficTest.txt.gz", data + "/anomalousTrafficTest.txt.gz"]
    fit_s, score_s, phases = [], [], []
    for _ in range(runs):
        # pipe[:-1] shares its steps with pipe: fitting it fits them.
        t0 = time.perf_counter()
        docs = parse(train)
        t1 = time.perf_counter()
        model = pipeline(jobs)
        z = model[:-1].fit_transform(docs)
        t2 = time.perf_counter()
        model[-1].fit(z)
        t3 = time.perf_counter()
        fit_s.append(t3 - t0)
        n_fit = len(docs)

        u0 = time.perf_counter()
        normal, anom = parse(tests[0]), parse(tests[1])
        u1 = time.perf_counter()
        z = model[:-1].transform(normal + anom)
        u2 = time.perf_counter()
        score = -model[-1].score_samples(z)
        u3 = time.perf_counter()
        score_s.append(u3 - u0)
        phases.append({"fit_parse_s": t1 - t0, "fit_featurize_s": t2 - t1, "fit_iforest_s": t3 - t2,
                       "score_parse_s": u1 - u0, "score_featurize_s": u2 - u1, "score_iforest_s": u3 - u2})
        y = np.r_[np.zeros(len(normal)), np.ones(len(anom))]
        auc = roc_auc_score(y, score)
        print(f"scikit-learn run: fit {fit_s[-1]:.2f} s, score {score_s[-1]:.2f} s, ROC-AUC {auc:.4f}", flush=True)
    if (n_fit, len(normal), len(anom)) != (36000, 36000, 25065):
        sys.exit(f"parsed {n_fit}/{len(normal)}/{len(anom)} requests, want 36000/36000/25065")
    vocab = len(model.steps[0][1].vocabulary_)
    json.dump({"version": sklearn.__version__, "python": sys.version.split()[0], "jobs": jobs,
               "fit_s": fit_s, "score_s": score_s, "fit_events": n_fit, "score_events": len(normal) + len(anom),
               "auc": auc, "vocabulary": vocab, "phases": phases}, open(out, "w"), indent=1)
    print(f"scikit-learn {sklearn.__version__}: median fit {statistics.median(fit_s):.2f} s, "
          f"score {statistics.median(score_s):.2f} s, ROC-AUC {auc:.4f}, {vocab} n-grams")


if __name__ == "__main__":
    main()
