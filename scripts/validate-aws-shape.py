#!/usr/bin/env python3
"""Check JSON against a shape of an AWS API model, as botocore ships it.

    scripts/validate-aws-shape.py SERVICE SHAPE DOCUMENT.json [--list KEY] [--extra NAME]

SERVICE is a botocore data folder (`inspector2`, `securityhub`), SHAPE a type in
its model (`Finding`, `AwsSecurityFinding`). With `--list KEY` the document's
KEY member is a list of SHAPE (`--list findings`, `--list Findings`). Every
required member must be there, every member must be one the model defines (or
one of the `--extra` names, checked nowhere further), enums must hold one of
their values, strings must respect min/max lengths and numbers their types.
Timestamps are RFC 3339 strings or epoch numbers. Prints every problem with
its path; exits 1 when there is one. Needs the `botocore` package (PyPI).
"""
import argparse
import datetime
import glob
import gzip
import json
import os
import sys

import botocore

parser = argparse.ArgumentParser()
parser.add_argument("service")
parser.add_argument("shape")
parser.add_argument("document")
parser.add_argument("--list", dest="list_key")
parser.add_argument("--extra", action="append", default=[])
args = parser.parse_args()

data = os.path.join(os.path.dirname(botocore.__file__), "data", args.service)
versions = sorted(glob.glob(os.path.join(data, "*")))
if not versions:
    sys.exit(f"botocore has no model for {args.service}")
model_file = sorted(glob.glob(os.path.join(versions[-1], "service-2.json*")))[0]
opener = gzip.open if model_file.endswith(".gz") else open
with opener(model_file, "rt") as f:
    shapes = json.load(f)["shapes"]

problems = []


def check(value, shape_name, path):
    shape = shapes[shape_name]
    t = shape["type"]
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object ({shape_name})")
            return
        members = shape["members"]
        for req in shape.get("required", []):
            if req not in value:
                problems.append(f"{path}: missing required member {req} ({shape_name})")
        for k, v in value.items():
            if k in members:
                check(v, members[k]["shape"], f"{path}.{k}")
            elif k not in args.extra:
                problems.append(f"{path}: {k} is not a member of {shape_name}")
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list ({shape_name})")
            return
        if "max" in shape and len(value) > shape["max"]:
            problems.append(f"{path}: {len(value)} items, more than {shape['max']}")
        if "min" in shape and len(value) < shape["min"]:
            problems.append(f"{path}: {len(value)} items, fewer than {shape['min']}")
        for i, v in enumerate(value):
            check(v, shape["member"]["shape"], f"{path}[{i}]")
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map ({shape_name})")
            return
        for k, v in value.items():
            check(k, shape["key"]["shape"], f"{path}<key {k}>")
            check(v, shape["value"]["shape"], f"{path}.{k}")
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string ({shape_name}), got {value!r}")
            return
        if "enum" in shape and value not in shape["enum"]:
            problems.append(f"{path}: {value!r} is not one of {shape['enum']}")
        if "min" in shape and len(value) < shape["min"]:
            problems.append(f"{path}: shorter than {shape['min']} ({shape_name})")
        if "max" in shape and len(value) > shape["max"]:
            problems.append(f"{path}: longer than {shape['max']} ({shape_name})")
    elif t in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer ({shape_name}), got {value!r}")
    elif t in ("double", "float"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{path}: expected a number ({shape_name}), got {value!r}")
        elif "min" in shape and value < shape["min"] or "max" in shape and value > shape["max"]:
            problems.append(f"{path}: {value} outside [{shape.get('min')}, {shape.get('max')}]")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean ({shape_name})")
    elif t == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        try:
            datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"{path}: {value!r} is not an RFC 3339 timestamp")
    else:
        problems.append(f"{path}: unhandled model type {t}")


with open(args.document) as f:
    doc = json.load(f)
if args.list_key:
    items = doc.get(args.list_key)
    if not isinstance(items, list):
        sys.exit(f"{args.document}: no list {args.list_key}")
    for i, item in enumerate(items):
        check(item, args.shape, f"{args.list_key}[{i}]")
else:
    check(doc, args.shape, "$")
for p in problems[:200]:
    print(p)
if problems:
    print(f"{len(problems)} problems")
    sys.exit(1)
