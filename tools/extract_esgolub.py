#!/usr/bin/env python3
"""Extracts esGolub (Golub et al. 1999 leukaemia data as used by Brunet et al. 2004: 5000 genes x 38
samples) from the R NMF package's data/esGolub.rda, with python3-rdata's parser only: its converter
stops at the ExpressionSet's environments, so this walks the parse tree itself.

  extract_esgolub.py ESGOLUB_RDA OUT_DIR
writes OUT_DIR/esgolub.npy (5000 x 38 float64, genes x samples, the integer expression values) and
OUT_DIR/esgolub_samples.csv (sample, ALL.AML, Cell: ALL/AML and B-cell/T-cell, "-" for AML).
"""
import sys

import numpy as np
import rdata


def children(obj):
    """Every RObject reachable in one step: value items, attributes, tag, reference, environment frame."""
    out = []
    value = obj.value
    if isinstance(value, (list, tuple)):
        out += [v for v in value if hasattr(v, "info")]
    elif hasattr(value, "info"):
        out.append(value)
    elif hasattr(value, "frame"):  # an environment: its frame (a pairlist) and enclosure
        out += [x for x in (value.frame, value.enclosure, getattr(value, "hash_table", None)) if hasattr(x, "info")]
    for x in (obj.attributes, obj.tag, obj.referenced_object):
        if x is not None and hasattr(x, "info"):
            out.append(x)
    return out


def walk(root):
    seen, stack = set(), [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(children(obj))


def pairlist(obj):
    """A tagged pairlist (LIST) as {name: RObject}."""
    out = {}
    while obj is not None and obj.info.type == rdata.parser.RObjectType.LIST:
        head, tail = obj.value
        tag = obj.tag
        while tag is not None and tag.info.type == rdata.parser.RObjectType.REF:
            tag = tag.referenced_object
        if tag is not None and tag.value is not None:
            out[tag.value.value.decode()] = head
        obj = tail
    return out


def strings(obj):
    return [None if s.value is None else s.value.decode() for s in obj.value]


def main():
    rda, out = sys.argv[1], sys.argv[2]
    root = rdata.parser.parse_file(rda).object
    matrix, frame = None, None
    for obj in walk(root):
        t = obj.info.type
        if obj.attributes is None:
            continue
        attrs = pairlist(obj.attributes)
        if t == rdata.parser.RObjectType.INT and "dim" in attrs and list(attrs["dim"].value) == [5000, 38]:
            # R stores matrices column by column.
            matrix = np.asarray(obj.value, dtype=np.float64).reshape(38, 5000).T
        if t == rdata.parser.RObjectType.VEC and "names" in attrs:
            names = strings(attrs["names"])
            if "ALL.AML" in names and "Cell" in names:
                frame = (obj, names, attrs)
    if matrix is None or frame is None:
        sys.exit(f"extract_esgolub: {rda}: no 5000 x 38 integer matrix or no sample annotations found")
    obj, names, attrs = frame

    def factor(column):
        codes = np.asarray(column.value)
        levels = strings(pairlist(column.attributes)["levels"])
        return [levels[c - 1] if c > 0 else "-" for c in codes]

    columns = dict(zip(names, obj.value))
    all_aml, cell = factor(columns["ALL.AML"]), factor(columns["Cell"])
    samples = strings(attrs["row.names"])  # e.g. ALL_19769_B-cell
    if len(all_aml) != 38 or (matrix < 0).any():
        sys.exit(f"extract_esgolub: {rda}: unexpected annotations or negative expression values")
    np.save(f"{out}/esgolub.npy", matrix)
    with open(f"{out}/esgolub_samples.csv", "w") as f:
        f.write("sample,ALL.AML,Cell\n")
        for s, a, c in zip(samples, all_aml, cell):
            f.write(f"{s},{a},{c if c and c != 'NA' else '-'}\n")
    print(f"extract_esgolub: {matrix.shape[0]} x {matrix.shape[1]} matrix, "
          f"{all_aml.count('ALL')} ALL ({cell.count('B-cell')} B-cell, {cell.count('T-cell')} T-cell), "
          f"{all_aml.count('AML')} AML")


if __name__ == "__main__":
    main()
