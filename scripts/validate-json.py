#!/usr/bin/env python3
"""Validate a JSON document against one of the official schemas in ../shared/schemas.

    scripts/validate-json.py SCHEMA.json DOCUMENT.json

The CycloneDX schema refers to its companions by bare file name
(`spdx.schema.json`, `jsf-0.82.schema.json`); they are registered under those
names. Prints every error with its path and exits 1 when there is one.
Needs the `jsonschema` package (PyPI).
"""
import json
import os
import sys

import jsonschema
from referencing import Registry, Resource

schema_path, doc_path = sys.argv[1], sys.argv[2]
schema_dir = os.path.dirname(os.path.abspath(schema_path))
schema = json.load(open(schema_path))
doc = json.load(open(doc_path))
resources = []
for bare, file in [("spdx.schema.json", "cyclonedx-spdx.schema.json"), ("jsf-0.82.schema.json", "cyclonedx-jsf-0.82.schema.json")]:
    path = os.path.join(schema_dir, file)
    if os.path.exists(path):
        resources.append((bare, Resource.from_contents(json.load(open(path)))))
registry = Registry().with_resources(resources)
cls = jsonschema.validators.validator_for(schema)
validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
for e in errors[:50]:
    print(f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}")
sys.exit(1 if errors else 0)
