#!/usr/bin/python3
"""Baseline for bench/labeling.sh: scikit-learn TF-IDF + logistic regression (C=10, class
balanced) on the same pool and test set, labeled 50 at a time by uncertainty sampling
(least confidence) or at random, starting from the class descriptions. Prints, per number
of human labels, the share of test items above the uncertainty threshold (to humans), the
accuracy of the rest (automatic labels) and the accuracy over all test items.

usage: labeling_sklearn.py DIR DESCRIPTIONS.json [--budget 50] [--max-labels 500] [--threshold 0.5]
DIR holds pool.jsonl and test.jsonl ({"text", "class", "source"} lines) as the Go harness
exports them; DESCRIPTIONS.json maps each class to its description.
"""
import argparse
import json
import random

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("descriptions")
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--max-labels", type=int, default=500)
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    pool = load(a.dir + "/pool.jsonl")
    test = load(a.dir + "/test.jsonl")
    with open(a.descriptions) as f:
        desc = json.load(f)
    classes = sorted(desc)
    K = len(classes)
    for strategy in ("uncertainty", "random"):
        rng = random.Random(1)
        labeled = []
        print(f"\nscikit-learn TF-IDF + LogisticRegression(C=10, class_weight=balanced), {strategy} sampling, threshold {a.threshold}")
        print(f"{'HUMAN LABELS':>12}  {'TO HUMANS':>9}  {'AUTO ACCURACY':>13}  {'AUTO':>5}  {'ACC (ALL)':>9}")
        while True:
            texts = [desc[c] for c in classes] + [pool[i]["text"] for i in labeled]
            ys = classes + [pool[i]["class"] for i in labeled]
            vec = TfidfVectorizer(sublinear_tf=True)
            X = vec.fit_transform(texts)
            clf = LogisticRegression(C=10, class_weight="balanced", max_iter=2000).fit(X, ys)
            P = clf.predict_proba(vec.transform([t["text"] for t in test]))
            u = (1 - P.max(axis=1)) * K / (K - 1)
            pred = clf.classes_[P.argmax(axis=1)]
            truth = np.array([t["class"] for t in test])
            auto = u <= a.threshold
            acc = (pred[auto] == truth[auto]).mean() if auto.any() else float("nan")
            print(f"{len(labeled):>12}  {100 * (1 - auto.mean()):>8.1f}%  {100 * acc:>12.1f}%  {auto.sum():>5}  {100 * (pred == truth).mean():>8.1f}%")
            if len(labeled) >= a.max_labels:
                break
            rest = [i for i in range(len(pool)) if i not in set(labeled)]
            if not rest:
                break
            if strategy == "random":
                pick = rng.sample(rest, min(a.budget, len(rest)))
            else:
                Pp = clf.predict_proba(vec.transform([pool[i]["text"] for i in rest]))
                order = np.argsort(Pp.max(axis=1), kind="stable")
                pick = [rest[j] for j in order[: a.budget]]
            labeled += pick


if __name__ == "__main__":
    main()
