#!/usr/bin/env python3
"""python-reference: what the published ModelSpec standard's own validator does, over many files.

For every spec file under the given paths (recursive; *.yaml, *.yml, *.json; hidden folders skipped;
sorted, like `modelspec validate`) it does exactly what the standard's validator does per file:

    doc = yaml.safe_load(open(path))                                  # PyYAML, pure-Python SafeLoader
    errors = list(Draft202012Validator(schema).iter_errors(doc))      # jsonschema, Draft 2020-12
    + the one semantic rule: framework `vllm` requires spec.runtime.batch.maxSequenceLengthTokens

in ONE Python process, with the validator compiled ONCE, and prints one JSON report on stdout of the
same shape as `modelspec validate --format json` (path, document, valid, errors[pointer, message],
summary), so both sides of the benchmark do comparable work.

    python3 bench/baseline_validate.py [--schema FILE] [--loader safe|csafe] PATH...

--loader csafe uses yaml.CSafeLoader (libyaml) instead: NOT what the standard does; it is only an extra,
"fastest plain Python" comparison row in the benchmark.

Exit: 0 all valid, 1 any invalid, 2 usage / I-O error, 77 PyYAML or jsonschema not importable.
"""

import argparse
import json
import os
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
except ImportError as exc:  # pragma: no cover
    print(f"baseline_validate: SKIP: PyYAML and jsonschema are required ({exc})", file=sys.stderr)
    sys.exit(77)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_SCHEMA = os.path.join(REPO_ROOT, "..", "shared", "reference", "modelspec-v0.1", "modelspec.v0.1.json")
EXTS = (".yaml", ".yml", ".json")


def walk(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out += [os.path.join(root, f) for f in sorted(files) if f.endswith(EXTS)]
        else:
            out.append(p)
    return out


def vllm_violation(doc):
    try:
        if doc["spec"]["identity"]["model"]["framework"] != "vllm":
            return False
    except (KeyError, TypeError, IndexError):
        return False
    try:
        return "maxSequenceLengthTokens" not in doc["spec"]["runtime"]["batch"]
    except (KeyError, TypeError, IndexError):
        return True


def ptr(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="python-reference validator (yaml.safe_load + Draft202012Validator)")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA)
    ap.add_argument("--loader", choices=["safe", "csafe"], default="safe")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args(argv)
    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
    except OSError as exc:
        print(f"baseline_validate: cannot read schema: {exc}", file=sys.stderr)
        return 2
    validator = Draft202012Validator(schema)  # compiled once
    loader = yaml.CSafeLoader if args.loader == "csafe" else yaml.SafeLoader
    files = []
    for path in walk(args.paths):
        try:
            with open(path, encoding="utf-8") as f:
                if loader is yaml.SafeLoader:
                    doc = yaml.safe_load(f)
                else:
                    doc = yaml.load(f, Loader=loader)
        except OSError as exc:
            print(f"baseline_validate: {path}: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # noqa: BLE001 - any load failure = invalid, like the standard
            files.append({"path": path, "document": 1, "valid": False,
                          "errors": [{"code": "yaml", "pointer": "", "message": str(exc)}], "warnings": []})
            continue
        errors = [{"code": f"schema-{e.validator}", "pointer": ptr(e.absolute_path), "message": e.message}
                  for e in validator.iter_errors(doc)]
        if vllm_violation(doc):
            errors.append({"code": "vllm-requires-max-sequence-length", "pointer": "/spec/runtime/batch",
                           "message": "framework vllm requires spec.runtime.batch.maxSequenceLengthTokens"})
        files.append({"path": path, "document": 1, "valid": not errors, "errors": errors, "warnings": []})
    n_invalid = sum(1 for f in files if not f["valid"])
    summary = {"files": len(files), "documents": len(files), "valid": len(files) - n_invalid, "invalid": n_invalid,
               "errors": sum(len(f["errors"]) for f in files), "warnings": 0}
    json.dump({"files": files, "summary": summary}, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 1 if n_invalid else 0


if __name__ == "__main__":
    sys.exit(main())
