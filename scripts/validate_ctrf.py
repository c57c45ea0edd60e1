#!/usr/bin/env python3
"""Validates CTRF JSON reports against the published CTRF JSON Schema (spec version 0.0.0).

The schema is vendored in tests/ctrf/ctrf.schema.json (its README names the source and
license); nothing is fetched. Usage: validate_ctrf.py FILE... ; exit 0 when every file is valid,
1 otherwise (each error printed with its JSON path), 2 when the schema or jsonschema is missing.
"""

import json
import pathlib
import sys

SCHEMA_PATH = pathlib.Path(__file__).resolve().parent.parent / "tests" / "ctrf" / "ctrf.schema.json"

try:
    import jsonschema

    SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
except Exception as e:  # noqa: BLE001 - any missing piece means "cannot validate here"
    print(f"cannot load the CTRF schema {SCHEMA_PATH}: {e}; pip install jsonschema", file=sys.stderr)
    sys.exit(2)

validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    for error in sorted(validator.iter_errors(report), key=lambda e: list(e.absolute_path)):
        bad += 1
        where = "/".join(str(p) for p in error.absolute_path)
        print(f"{path}: /{where}: {error.message}")
sys.exit(1 if bad else 0)
