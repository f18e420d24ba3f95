#!/usr/bin/python3
"""How many samples fall in the consensus cluster of their known class, per rank.

    tools/rank_classes.py RESULTS LABELS.csv [--column ALL.AML --column Cell]

RESULTS is a results folder after `nmfx analyze` (its analysis.json holds each rank's consensus
clusters); LABELS.csv has one row per sample (column of X), e.g. data/esgolub_samples.csv. The known
class of a sample is its columns joined ("ALL/B-cell", "AML/-"). For each rank, clusters are matched
one-to-one to classes so that the most samples agree (all matchings are tried), and the count of
samples in the cluster matched to their class is printed, for rank k against the k most frequent
classes of each grouping: ALL/AML at k = 2, AML/B-cell/T-cell at k = 3 for Golub's data.
"""
import argparse
import csv
import itertools
import json
import os
from collections import Counter


def agreement(clusters, classes):
    names = sorted(set(classes))
    ids = sorted(set(clusters))
    best = 0
    for perm in itertools.permutations(ids, min(len(ids), len(names))):
        match = dict(zip(perm, names))
        best = max(best, sum(match.get(c) == t for c, t in zip(clusters, classes)))
    return best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results")
    p.add_argument("labels")
    p.add_argument("--column", action="append", help="label columns combined into a class (default: all but the first)")
    a = p.parse_args()
    with open(a.labels) as f:
        rows = list(csv.DictReader(f))
    columns = a.column or list(rows[0].keys())[1:]
    with open(os.path.join(a.results, "analysis.json")) as f:
        doc = json.load(f)
    print("rank  grouping                        classes  agree / samples")
    for survey in doc["surveys"]:
        for r in survey["analyses"].get("consensus", {}).get("per_rank", []):
            k, clusters = r["rank"], r["result"]["clusters"]
            for depth in range(1, len(columns) + 1):
                classes = ["/".join(row[c] for c in columns[:depth]) for row in rows]
                if len(set(classes)) != k:
                    continue
                print(f"{k:4d}  {'+'.join(columns[:depth]):30s}  {k:7d}  {agreement(clusters, classes):5d} / {len(classes)}"
                      f"   ({', '.join(f'{c}: {n}' for c, n in sorted(Counter(classes).items()))})")


if __name__ == "__main__":
    main()
