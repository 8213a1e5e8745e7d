#!/usr/bin/env python3
"""Checks Vigia's OpenAPI document against botocore's model of Inspector.

    openapi_inspector.py OPENAPI.json

For every operation the document says answers as an Inspector operation
(its operationId is the operation's name in the model), the request body's
members are the input shape's (Vigia's own extras start with `vigia`), and
those the model requires are required. FilterCriteria and
CoverageFilterCriteria declare every key of the model with the filter type
the model gives it (keys of a newer model may be declared too), each filter
type declares the model's members, and the sort fields are the model's. Prints each difference; exits 1 on any.
"""
import json
import sys

import botocore.session

doc = json.load(open(sys.argv[1]))
schemas = doc["components"]["schemas"]
model = botocore.session.get_session().get_service_model("inspector2")
problems = []


def resolve(schema):
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


checked = 0
for path, ops in doc["paths"].items():
    for method, op in ops.items():
        name = op["operationId"]
        if name not in model.operation_names:
            continue
        checked += 1
        shape = model.operation_model(name).input_shape
        body = op["requestBody"]["content"]["application/json"]["schema"]
        declared = set(body.get("properties", {}))
        lacking = set(shape.members) - declared
        if lacking:
            problems.append(f"{name}: the model's members {sorted(lacking)} are not declared")
        # Beyond the model: Vigia's own, named so.
        beyond = {m for m in declared - set(shape.members) if not m.startswith("vigia")}
        if beyond:
            problems.append(f"{name}: declares {sorted(beyond)}, not in the model")
        missing = set(shape.required_members) - set(body.get("required", []))
        if missing:
            problems.append(f"{name}: the model requires {sorted(missing)}, not required here")
        # A client may leave out what the model does not require.
        stricter = set(body.get("required", [])) - set(shape.required_members)
        if stricter:
            problems.append(f"{name}: requires {sorted(stricter)}, which the model does not")
        if body.get("additionalProperties") is not False:
            problems.append(f"{name}: the body does not refuse other members")
        # AWS's JSON protocol reads a null member as one not set: a client
        # may send its unset optional members as null.
        for member, schema in body.get("properties", {}).items():
            if member in shape.required_members:
                continue
            if not any(p.get("type") == "null" for p in schema.get("anyOf", []) + schema.get("oneOf", [])):
                problems.append(f"{name}.{member}: optional, but null is not allowed")

for criteria in ["FilterCriteria", "CoverageFilterCriteria"]:
    shape = model.shape_for(criteria)
    declared = schemas[criteria]["properties"]
    # Keys beyond this model are allowed: a newer model's, which Vigia may
    # know before the installed botocore does.
    lacking = set(shape.members) - set(declared)
    if lacking:
        problems.append(f"{criteria}: the model's keys {sorted(lacking)} are not declared")
    for key, member in shape.members.items():
        if key not in declared:
            continue
        want = member.member.name
        got = declared[key]["items"]["$ref"].rsplit("/", 1)[1]
        if got != want:
            problems.append(f"{criteria}.{key}: {got}, the model says {want}")
        filt = model.shape_for(want)
        schema = resolve(schemas[got])
        props = set(schema.get("properties", {}))
        for part in schema.get("allOf", []):
            props |= set(resolve(part).get("properties", {}))
        if set(filt.members) - props:
            problems.append(f"{got}: lacks the model's members {sorted(set(filt.members) - props)}")

# Each aggregation type's request: the model's members of its union member.
union = model.shape_for("AggregationRequest")
for variant in schemas["AggregationRequest"]["oneOf"]:
    for name, inner in variant.get("properties", {}).items():
        shape = union.members[name]
        lacking = set(shape.members) - set(inner["properties"])
        if lacking:
            problems.append(f"AggregationRequest.{name}: lacks the model's members {sorted(lacking)}")

paths = doc["paths"]
group_by = paths["/coverage/statistics/list"]["post"]["requestBody"]["content"]["application/json"]["schema"]
group_key = next(p for p in group_by["properties"]["groupBy"]["anyOf"] if "enum" in p)
lacking = set(model.shape_for("GroupKey").enum) - set(group_key["enum"])
if lacking:
    problems.append(f"ListCoverageStatistics.groupBy: lacks the model's {sorted(lacking)}")

sort = schemas["SortCriteria"]["properties"]["field"]["enum"]
if sort != model.shape_for("SortField").enum:
    problems.append(f"SortCriteria.field: {sort}, the model has {model.shape_for('SortField').enum}")
if checked < 15:
    problems.append(f"only {checked} operations are Inspector's")

for p in problems:
    print(p)
sys.exit(1 if problems else 0)
