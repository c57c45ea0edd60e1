#!/usr/bin/env python3
"""Compatibility corpus: `modelspec validate` versus the published ModelSpec v0.1 standard.

What it does
------------
1. Reads the published standard (default: ../shared/reference/modelspec-v0.1/ relative to the
   repository root; override with --reference DIR): `modelspec.v0.1.json` (JSON Schema 2020-12)
   and `examples/*.yaml` (nine examples). Nothing is copied into the repository.
2. Generates a deterministic corpus (seeded, --seed) of well over 300 mutated variants of those
   examples into a temporary directory (--keep DIR keeps it, as DIR/corpus plus DIR/manifest.json).
   Two kinds of mutations are mixed:
     * structural: done on the parsed data, then dumped with yaml.safe_dump(sort_keys=False)
       (missing required properties at every level, unknown properties at every object level,
       free maps with string / non-string values, every property set to every other type,
       numeric boundaries, huge ints, inf/nan, enum/const variants, empty/odd root documents, ...);
     * textual: done on the YAML text (original example text, or a dump of it) so that YAML 1.1
       scalar typing is exercised (yes/no/on/off, 0x1F, 017, 08, 1_000, 1:30, 1e3, .inf, dates,
       explicit tags, anchors/aliases/merge keys, typed mapping keys, flow style, quoted keys,
       comments, CRLF, BOM, tabs, invalid UTF-8, directives, ...).
3. Judges every variant with an independent oracle that mirrors the standard's own validator
   (paralleliq/modelspec tooling/validator/validate.py): the file is read with
   Path.read_text(encoding="utf-8") (strict UTF-8, universal newlines, a BOM kept as U+FEFF), loaded with
   `yaml.safe_load` (`json.loads` for *.json files, as the standard does) and checked with
   `jsonschema.Draft202012Validator(published_schema)`. Any exception while reading or loading
   (UnicodeDecodeError, YAMLError, ValueError, KeyError, ...) means "invalid". A stream with more than
   one document is skipped (never written to the corpus). The standard's semantic "vllm" rule is NOT
   part of the oracle unless --vllm-rule is given (variants where it would fire are annotated).
4. Runs our CLI ONCE over the whole corpus directory:
       modelspec validate --no-lint --format json <corpus-dir>
   and compares the verdict of every file (a file is valid iff all its document entries are valid;
   a file missing from the output counts as a disagreement). It also checks a few output-contract
   properties (exit code, summary counts, entry shape, hidden folders / non-spec files not walked).
5. Prints `compat: N variants, A agree, D disagree` and, for every disagreement, the file name, the
   mutation, both verdicts, the Python errors and ours, and the YAML text.

Mutation families (see Generator.gen_*): remove-required, unknown-property, freemap, type-swap, root,
numbers, enum-const, valid, text-token (about 300 raw scalar spellings substituted for string, integer,
number, boolean, free-map and enum values, block and flow style), text-requote, object-token,
text-key (typed / quoted / explicit / tagged keys), document (empty, comments only, scalars, lists,
directives, markers), format (JSON-as-YAML, flow style, CRLF, CR, BOM, quoted keys, comments, tabs,
invalid UTF-8, control characters, ...), json-file (*.json files, judged with json.loads like the
standard), tabs, anchors, edge (merge-key semantics, flow quirks, key-length limits, deep nesting, big
numbers, block scalars, directives, surrogates, UTF-16, ...). The corpus also holds decoys the CLI must
not walk: a hidden folder and files with other extensions.

Intentional, documented divergences (never generated here)
----------------------------------------------------------
* Duplicate mapping keys: PyYAML silently keeps the last value; modelspec rejects the document.
* Multi-document streams (`---` separating several documents): the standard's validator
  (yaml.safe_load) fails on them; modelspec validates each document separately.
The corpus therefore never contains either (a generated stream that turns out to hold more than
one document is dropped and counted as "skipped").

Exit status
-----------
  0   every variant agrees (and the output contract holds)
  1   at least one disagreement or output-contract violation
  2   harness error (binary missing or not executable, bad arguments, the CLI gave no JSON even when
      run on single files). If the one run over the directory prints no JSON, compat.py re-runs the
      CLI once per file to find the culprit(s); those files are reported as disagreements (exit 1).
  77  skipped: the reference directory is absent, or PyYAML / jsonschema are not importable
      (77 is the conventional "skipped" status of automake / meson test harnesses).

Usage
-----
  python3 scripts/compat/compat.py                       # binary: $MODELSPEC_BIN or target/release/modelspec
  python3 scripts/compat/compat.py --bin path/to/modelspec --keep /tmp/compat
  python3 scripts/compat/compat.py --oracle-only         # generator + oracle self-check, no binary needed
  python3 scripts/compat/compat.py --list                # list variants with oracle verdicts

Only the standard library plus `yaml` (PyYAML) and `jsonschema` are used.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

EXIT_OK, EXIT_DISAGREE, EXIT_HARNESS, EXIT_SKIP = 0, 1, 2, 77

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_REFERENCE = os.path.join(REPO_ROOT, "..", "shared", "reference", "modelspec-v0.1")
DEFAULT_BIN = os.path.join(REPO_ROOT, "target", "release", "modelspec")
DEFAULT_SEED = 20260401

try:  # the two third-party modules the standard's own validator uses
    import yaml
    import jsonschema  # noqa: F401 - importability is part of the skip check
    from jsonschema import Draft202012Validator
except ImportError as _exc:  # pragma: no cover - depends on the environment
    yaml = None
    _IMPORT_ERROR = _exc
else:
    _IMPORT_ERROR = None


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

def skip(msg: str) -> "None":
    print(f"compat: SKIP: {msg}", file=sys.stderr)
    sys.exit(EXIT_SKIP)


def dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def jp_escape(part) -> str:
    if isinstance(part, bool) or part is None:  # render YAML-typed keys the way YAML spells them
        part = {True: "true", False: "false", None: "null"}[part]
    elif isinstance(part, (datetime.date, datetime.datetime)):
        part = part.isoformat()
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(path) -> str:
    return "".join("/" + jp_escape(p) for p in path)


def get_in(data, path):
    for p in path:
        data = data[p]
    return data


def set_in(data, path, value):
    get_in(data, path[:-1])[path[-1]] = value


def del_in(data, path):
    del get_in(data, path[:-1])[path[-1]]


def dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "<root>"


def schema_at(schema, path):
    """Sub-schema for a data path (properties / items / additionalProperties only)."""
    s = schema
    for p in path:
        if s is None:
            return None
        if isinstance(p, int):
            s = s.get("items")
        elif p in s.get("properties", {}):
            s = s["properties"][p]
        elif isinstance(s.get("additionalProperties"), dict):
            s = s["additionalProperties"]
        else:
            return None
    return s


def walk(schema, data, path=()):
    """Yield (path, subschema, value) for every node of `data` that the schema describes."""
    yield path, schema, data
    if isinstance(data, dict) and schema.get("type") == "object":
        for k, v in data.items():
            sub = schema.get("properties", {}).get(k)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                yield from walk(sub, v, path + (k,))
    elif isinstance(data, list) and schema.get("type") == "array" and "items" in schema:
        for i, v in enumerate(data):
            yield from walk(schema["items"], v, path + (i,))


# --------------------------------------------------------------------------------------------
# the oracle: what the standard's validator does
# --------------------------------------------------------------------------------------------

class Oracle:
    def __init__(self, schema, vllm_rule=False, json_loader="json"):
        self.validator = Draft202012Validator(schema)
        self.vllm_rule = vllm_rule
        self.json_loader = json_loader

    @staticmethod
    def vllm_violation(doc) -> bool:
        """framework: vllm requires spec.runtime.batch.maxSequenceLengthTokens."""
        try:
            fw = doc["spec"]["identity"]["model"]["framework"]
        except (KeyError, TypeError, IndexError):
            return False
        if fw != "vllm":
            return False
        try:
            batch = doc["spec"]["runtime"]["batch"]
            return not (isinstance(batch, dict) and "maxSequenceLengthTokens" in batch)
        except (KeyError, TypeError, IndexError):
            return True

    def load(self, raw: bytes, ext: str):
        """Load a file the way the standard's validator (tooling/validator/validate.py) does:
        Path.read_text(encoding="utf-8") -- strict UTF-8, universal newlines, a BOM is kept as U+FEFF --
        then json.loads for *.json and yaml.safe_load for everything else."""
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        if ext.lower() == ".json" and self.json_loader == "json":
            return json.loads(text)
        return yaml.safe_load(text)

    def judge(self, raw: bytes, ext: str = ".yaml"):
        """Return dict(verdict='valid'|'invalid'|'skip', errors=[(pointer, message)], note=str)."""
        try:
            doc = self.load(raw, ext)
        except yaml.composer.ComposerError as exc:
            if "expected a single document" in str(exc):
                return {"verdict": "skip", "errors": [], "note": "multi-document stream"}
            return {"verdict": "invalid", "errors": [("", f"load: {type(exc).__name__}: {one_line(exc)}")], "note": ""}
        except Exception as exc:  # noqa: BLE001 - any load failure = invalid, like the standard
            return {"verdict": "invalid", "errors": [("", f"load: {type(exc).__name__}: {one_line(exc)}")], "note": ""}
        try:
            errs = []
            for e in self.validator.iter_errors(doc):
                base = list(e.absolute_path)
                ptrs = [pointer(base)]
                if e.validator == "required":
                    m = re.match(r"^'(.*)' is a required property$", e.message)
                    if m:
                        ptrs.append(pointer(base + [m.group(1)]))
                elif e.validator == "additionalProperties" and isinstance(e.instance, dict):
                    allowed = set(e.schema.get("properties", {}))
                    ptrs += [pointer(base + [k]) for k in e.instance if k not in allowed]
                errs.append((ptrs[0], e.message, ptrs))
        except Exception as exc:  # noqa: BLE001 - e.g. recursion in a pathological document
            return {"verdict": "skip", "errors": [], "note": f"oracle crashed: {type(exc).__name__}: {one_line(exc)}"}
        note = ""
        if self.vllm_violation(doc):
            if self.vllm_rule:
                errs.append(("/spec/runtime/batch", "vllm rule: framework vllm requires "
                             "spec.runtime.batch.maxSequenceLengthTokens", ["/spec/runtime/batch"]))
            elif not errs:
                note = "schema-valid, but the standard's vllm rule would reject it"
        return {"verdict": "invalid" if errs else "valid",
                "errors": [(p, m) for p, m, *_ in errs],
                "pointers": sorted({q for *_, ps in errs for q in ps}),
                "note": note}


def one_line(exc) -> str:
    s = " ".join(str(exc).split())
    return s if len(s) <= 300 else s[:297] + "..."


# --------------------------------------------------------------------------------------------
# text helpers (locating nodes in YAML text with PyYAML's composer)
# --------------------------------------------------------------------------------------------

def compose(text):
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _node(root, path, want_key=False):
    node, key = root, None
    for p in path:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == p:
                    node, key = v, k
                    break
            else:
                return None
        elif isinstance(node, yaml.SequenceNode):
            if not isinstance(p, int) or p >= len(node.value):
                return None
            node, key = node.value[p], None
        else:
            return None
    return key if want_key else node


def replace_value(text: str, path, token: str):
    """Replace the (scalar) value at `path` in YAML `text` by the raw `token`."""
    root = compose(text)
    n = _node(root, path)
    if n is None or not isinstance(n, yaml.ScalarNode):
        return None
    a, b = n.start_mark.index, n.end_mark.index
    if a == b:  # empty scalar
        return None
    if "\n" in token:  # multi-line token (block scalar): indent continuation lines below the key
        k = _node(root, path, want_key=True)
        ind = " " * ((k.start_mark.column if k is not None else n.start_mark.column) + 2)
        first, *rest = token.split("\n")
        token = "\n".join([first] + [ind + r if r else r for r in rest]).rstrip(" ")
        if token.endswith("\n") and text[b:b + 1] == "\n":
            token = token[:-1]
    return text[:a] + token + text[b:]


def replace_key(text: str, path, token: str):
    k = _node(compose(text), path, want_key=True)
    if k is None:
        return None
    return text[:k.start_mark.index] + token + text[k.end_mark.index:]


def insert_entry(text: str, map_path, key_tok: str, val_tok: str):
    """Insert `key_tok: val_tok` as first entry of the mapping at map_path (block or flow)."""
    m = _node(compose(text), map_path)
    if not isinstance(m, yaml.MappingNode) or not m.value:
        return None
    first_key = m.value[0][0]
    idx = first_key.start_mark.index
    if m.flow_style:
        return text[:idx] + f"{key_tok}: {val_tok}, " + text[idx:]
    col = first_key.start_mark.column
    line_start = text.rfind("\n", 0, idx) + 1
    if text[line_start:idx].strip() not in ("", "-"):
        return None
    ins = " " * col + f"{key_tok}: {val_tok}\n"
    if text[line_start:idx].strip() == "-":  # first key shares the line with the sequence dash
        return text[:idx] + f"{key_tok}: {val_tok}\n" + " " * col + text[idx:]
    return text[:line_start] + ins + text[line_start:]


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------

class Variant:
    __slots__ = ("name", "family", "desc", "raw", "ext", "subdir", "oracle", "expect")

    def __init__(self, family, desc, raw, ext=".yaml"):
        self.family, self.desc, self.ext = family, desc, ext
        self.raw = raw.encode("utf-8") if isinstance(raw, str) else raw
        self.name = self.subdir = None
        self.oracle = None
        self.expect = None  # hand-written expectation (self-check in --oracle-only)


# YAML 1.1 / 1.2 scalar spellings (plain unless noted). Order matters only for determinism.
SCALAR_TOKENS = [
    "yes", "no", "on", "off", "Yes", "NO", "No", "ON", "Off", "y", "n", "Y", "N",
    "true", "false", "True", "False", "TRUE", "tRUE",
    "~", "null", "Null", "NULL", "nULL", "",
    "0x1F", "0x1f", "0X1F", "0o17", "017", "08", "09", "0b101", "0B101", "1_000", "1__0", "_1", "1_",
    "1:30", "-1:30", "1:60", "190:20:30.15", "+12", "-0", "+0", "00", "0", "1", "-1", "0001",
    "1e3", "1E3", "1e+3", "1.5e3", "1.0e+3", "1.0E+3", "1.0e3", "1.e3", "6.8523015e+5",
    ".5", "-.5", "+.5", "1.", "1.0", "2.0", "-1.0", "0.1_0", "1_0.5",
    ".inf", "-.Inf", "+.inf", ".INF", ".Inf", "inf", "-inf", ".NaN", ".nan", ".NAN", "nan", "NaN",
    "1.0e+400", "123456789012345678901234567890", "9223372036854775807", "9223372036854775808",
    "18446744073709551616", "-9223372036854775809",
    "2024-01-01", "2024-1-1", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
    "2002-12-14", "2024-01-01T10:00:00Z", "2024-13-45", "2024-02-30",
    "0b_", "0x_", "0_", "=", "<<",
    "! 123", "! yes", "!!str 123", "!!str yes", '!!int "42"', "!!int 0x1F", "!!float 3", "!!float 1e3",
    "!!bool yes", "!!bool maybe", "!!null x", "!!null", "!!binary aGVsbG8=", "!custom x", "!!int abc",
    "!!timestamp 2024-01-01", "!<tag:yaml.org,2002:str> 12", "!!str", "!!map {}", "!!seq []",
    "!!set {a}", "!!omap [a: 1]", "!!pairs [a: 1]", "!!python/tuple [1]",
    "'123'", '"123"', "'true'", '"true"', "'yes'", '"null"', "''", '""', "'~'", "'1e3'", "'0x1F'",
    '"\\x41bc"', '"\\u00e9t\\u00e9"', '"\\N"', '"\\/"', '"\\q"', '"a\\tb"', "'it''s'", '"unterminated',
    "&anc 8", "*undefined", "[8]", "{a: 8}", "[]", "{}", "|\n8\n", ">-\n8\n", "|-\ntext\nmore\n", "|\n 8\n", "|2\n   8\n", ">\n8\n\n", "\n8",
    "x # comment", "x#nocomment", "a b c", "hello: world", "- 8", "@at", "`tick", "%pct", "?", ":",
    "-", "- ", "?x", ":x", "x:y", "-x", "#", "http://a:8000/x", "é", "ünïcödé", "😀",
    # more YAML 1.1 / PyYAML corner cases
    "._", "._e+1", "1:30.5", "0:30.", "-0.0", "+0.0", "0.0", "1.0e-400", "-1.0e-400", "0.9999999999999999999",
    "1.00000000000000001", "65535.000000000001", "65535.00000000001", "6.5535e+4", "6.5535E+4",
    "1000000000000000000000.0", "1" * 1000, "0x", "0b", "+0x1F", "-0b101", "+017", "0_7", "0__", "1_0:30",
    "0b1_0", "0x_1F", "1_000_000", "1.5E-3", "1.5e-3",
    "!!int 0o17", '!!int ""', "!!int 1:30", "!!int 1_000", "!!float 1e3", "!!float inf", "!!float nan",
    "!!float .5", "!!float 0x1F", "!!bool TRUE", "!!bool on", "!!bool 1", "!!str ~", "!!str ''",
    "!!timestamp 2024-1-1", "!!timestamp x", "!!binary zz", "!!null ''", "!<tag:yaml.org,2002:int> 5",
    "!<tag:yaml.org,2002:bool> yes", "!<!> 5", "!", "!!", "! a", "!a!b c", "!%41 x",
    "0000-01-01", "2023-02-29", "2024-02-29", "9999-12-31", "2024-01-01T24:00:00", "2024-01-01T10:00:60",
    "2024-01-01 10:00:00 +99", "2024-1-1T1:02:03", "2024-01-01t10:00:00.1234567Z", "2024-01-01 10:00:00 -12:30",
    "2024-01-01T10:00:00", "2024-01-01   10:00:00",
    '"\\ud83d\\ude00"', '"\\ud800"', '"\\U00110000"', '"\\U0001F600"', '"\\0"', "\"\\'\"",
    '"\\e\\a\\v\\_\\L\\P"', '"\\x4"', '"\\u12"', '"a\\\tb"', '"\\ "', '"a"# c', "'a'#c", ",x", "]x", "}x",
    "x]", "x}", "'a' b", '"a" b', "a :b", "a#b", "&", "*", "yEs", "nO", "oN", "Off ", "TRUE ",
    "a\x7fb", "a\x0cb", "a\ufffeb", "a\x80b", "a\x0bb", "a\x1bb", "a\u2028b", "a\u2029b", "\u00a0x", "x\u00a0",
    "\u3000x", "a\ufeffb", "\U0001F600",
    "1:3", "0:30", "1:03:05", "1:30:", "12:60", "-0:30.5", "+1:30", "00:30.5", "1::30",
    "2024-01-01T10:00:00.5+05:30", "2024-01-01 10:00", "2024-01-01T10:00Z", "2024-01-01T10:00:00 Z",
    "1e-3", "1.e-3", "1._5", ".1e+1", "+.1", "-.1e+1", "+1.5", "1.5.", "1..5", "1.5_e+1", "1.5e+1_0",
    "0o", "0xG", "0b2", "-0x1F", "+0b1", "00017", "08_", "-_1", "0x1F_", "0b1__1",
]

# (path, base-example) targets for textual token substitution, by kind
TEXT_TARGETS = {
    "string": [
        (("metadata", "name"), "00"),
        (("spec", "identity", "model", "family"), "01"),
        (("spec", "runtime", "accelerator", "vendor"), "04"),
        (("spec", "identity", "model", "id"), "03"),
        (("metadata", "version"), "08"),
        (("spec", "pipeline", "dependencies", 0, "id"), "06"),
        (("spec", "operations", "serving", "readinessProbe", "path"), "02"),
        (("spec", "governance", "compliance", "pii", "policy"), "07"),
        (("spec", "operations", "observability", "logging", "level"), "05"),
        (("spec", "runtime", "accelerator", "type"), "00"),
        (("spec", "identity", "model", "precision"), "01"),
        (("spec", "identity", "model", "artifacts", "modelUri"), "01"),
    ],
    "integer": [
        (("spec", "runtime", "accelerator", "count"), "00"),
        (("spec", "operations", "serving", "port"), "02"),
        (("spec", "runtime", "batch", "maxBatchSize"), "03"),
        (("spec", "operations", "scaling", "minReplicas"), "04"),
        (("spec", "governance", "compliance", "retention", "logsDays"), "07"),
        (("spec", "operations", "serving", "timeoutSeconds"), "08"),
        (("spec", "runtime", "resources", "cpuCores"), "08"),
        (("spec", "operations", "serving", "livenessProbe", "timeoutSeconds"), "02"),
    ],
    "number": [
        (("spec", "operations", "scaling", "targetLatencyMsP95"), "04"),
        (("spec", "pipeline", "dependencies", 0, "interface", "maxLatencyMs"), "06"),
        (("spec", "runtime", "resources", "memoryGb"), "08"),
        (("spec", "operations", "scaling", "targetRps"), "08"),
    ],
    "boolean": [
        (("spec", "operations", "observability", "metrics", "enabled"), "05"),
        (("spec", "pipeline", "dependencies", 1, "required"), "06"),
        (("spec", "governance", "compliance", "pii", "allowed"), "07"),
    ],
    "freemap": [
        (("metadata", "labels", "runtime"), "02"),
        (("spec", "runtime", "environment", "variables", "TOKENIZER_PARALLELISM"), "08"),
        (("metadata", "annotations", "owner"), "08"),
        (("metadata", "labels", "pattern"), "06"),
    ],
    "enum": [
        (("spec", "operations", "serving", "protocol"), "02"),
        (("spec", "pipeline", "dependencies", 0, "role"), "06"),
        (("apiVersion",), "00"),
        (("kind",), "01"),
    ],
}

KEY_TOKENS = [
    "1", "0", "-1", "1.5", "0x1F", "017", "08", "1e3", "yes", "no", "on", "off", "true", "False", "y",
    "null", "~", "Null", "2024-01-01", "2001-12-14t21:59:43.10-05:00", ".inf", ".nan", '"quoted"',
    "'single'", '"1"', '"yes"', "'null'", '""', "a b", "x-y.z/w", "ключ", "'<<'", "=", "!!str 1",
    '!!int "5"', "!!binary aGVsbG8=", "!!null x", "? explicit", "[a, b]", "{a: b}", "<<", "!custom k",
    "&k anchored", "*undefined", "1:30", "0b101", "1_000", "!!float 2",
]


class Generator:
    def __init__(self, reference, seed):
        self.rng = random.Random(seed)
        with open(os.path.join(reference, "modelspec.v0.1.json"), encoding="utf-8") as f:
            self.schema = json.load(f)
        exdir = os.path.join(reference, "examples")
        self.examples = {}  # "00" -> (filename, text, data)
        for fn in sorted(os.listdir(exdir)):
            if fn.endswith((".yaml", ".yml")):
                with open(os.path.join(exdir, fn), encoding="utf-8") as f:
                    text = f.read()
                self.examples[fn[:2]] = (fn, text, yaml.safe_load(text))
        self.kitchen = self._kitchen()
        self.variants: list[Variant] = []

    # a valid document that contains every object the schema defines
    def _kitchen(self):
        k = copy.deepcopy(self.examples["08"][2])
        ops = k["spec"]["operations"]
        ops["scaling"]["strategy"] = "reactive"
        ops["scaling"]["warmPool"] = {"size": 1, "strategy": "always-on"}
        ops["observability"]["metrics"].update(provider="prometheus", port=9090)
        pipe = k["spec"]["pipeline"]
        pipe["preprocess"] = {"steps": [{"name": "tokenize", "type": "tokenizer", "enabled": True}]}
        pipe["postprocess"] = {"steps": [{"name": "detokenize", "type": "detokenizer", "enabled": False},
                                         {"name": "safety", "type": "filter"}]}
        gov = k["spec"]["governance"]
        gov["compliance"]["governance"] = {"changeApproval": "required", "owner": "ml-platform"}
        gov["cost"] = {"targetCostPer1kTokensUsd": 0.002,
                       "pricingHints": {"cloudProvider": "aws", "instanceType": "p4d.24xlarge",
                                        "spotAllowed": False}}
        return k

    def bases(self):
        """(label, data) pairs: the nine examples plus the kitchen-sink document."""
        out = [(f"{key}", d) for key, (_fn, _t, d) in self.examples.items()]
        out.append(("kitchen", self.kitchen))
        return out

    def add(self, family, desc, raw, ext=".yaml"):
        self.variants.append(Variant(family, desc, raw, ext))

    def add_data(self, family, desc, data, **kw):
        self.add(family, desc, dump(data), **kw)

    # ---------------------------------------------------------------- structural families
    def gen_remove_required(self):
        seen = {}
        for label, data in self.bases():
            for path, sch, val in walk(self.schema, data):
                if isinstance(val, dict) and sch.get("required"):
                    for req in sch["required"]:
                        if req in val:
                            seen.setdefault((tuple(p if not isinstance(p, int) else 0 for p in path), req), []).append(
                                (label, data, path))
        for (spath, req), cands in seen.items():
            picks = cands if len(cands) <= 2 else self.rng.sample(cands, 2)
            for label, data, path in picks:
                d = copy.deepcopy(data)
                del get_in(d, path)[req]
                self.add_data("remove-required", f"remove required {dotted(path + (req,))} (base {label})", d)
        # everything but one required property removed from accelerator; empty objects
        for path in [("spec", "runtime", "accelerator"), ("spec", "identity", "model"), ("metadata",),
                     ("spec", "identity"), ("spec", "runtime"), ("spec",)]:
            d = copy.deepcopy(self.examples["00"][2])
            set_in(d, path, {})
            self.add_data("remove-required", f"{dotted(path)} is an empty mapping (base 00)", d)
        d = copy.deepcopy(self.kitchen)
        d["spec"]["pipeline"]["dependencies"].append({})
        self.add_data("remove-required", "empty dependency item {} (kitchen)", d)
        d = copy.deepcopy(self.kitchen)
        d["spec"]["pipeline"]["preprocess"]["steps"].append({})
        self.add_data("remove-required", "empty preprocess step {} (kitchen)", d)

    def gen_unknown_props(self):
        unknown_names = ["unknownField", "x-extension", "Count", "apiversion", "spec", "name ", "", "$ref"]
        i = 0
        for path, sch, val in walk(self.schema, self.kitchen):
            if isinstance(val, dict) and sch.get("additionalProperties") is False:
                names = ["unknownField", unknown_names[1 + i % (len(unknown_names) - 1)]]
                i += 1
                for nm in names:
                    if nm in val:
                        continue
                    d = copy.deepcopy(self.kitchen)
                    get_in(d, path)[nm] = self.rng.choice(["x", 1, True, None, ["a"], {"a": "b"}])
                    self.add_data("unknown-property", f"add unknown property {nm!r} at {dotted(path)} (kitchen)", d)
        # free maps: arbitrary keys allowed, values must be strings
        freemaps = [("metadata", "labels"), ("metadata", "annotations"), ("spec", "runtime", "environment", "variables")]
        values = [("string", "some value"), ("empty string", ""), ("numeric string", "8"), ("bool-like string", "yes"),
                  ("int", 8), ("zero", 0), ("float", 1.5), ("bool", True), ("false", False), ("null", None),
                  ("list", ["a"]), ("empty list", []), ("map", {"a": "b"}), ("empty map", {}),
                  ("date", datetime.date(2024, 1, 1)), ("inf", float("inf"))]
        for mp in freemaps:
            for vdesc, v in values:
                d = copy.deepcopy(self.kitchen)
                get_in(d, mp)["arbitrary.key/with-chars_1"] = v
                self.add_data("freemap", f"{dotted(mp)}['arbitrary.key/with-chars_1'] = {vdesc} {v!r}", d)
            for keyname in ["UPPER_CASE", "with space", "ünïcode", "", "1", "a" * 200]:
                d = copy.deepcopy(self.kitchen)
                get_in(d, mp)[keyname] = "v"
                self.add_data("freemap", f"{dotted(mp)}[{keyname[:20]!r}] = 'v' (string key)", d)
            for kdesc, key in [("int key 1", 1), ("bool key True", True), ("null key", None), ("float key", 1.5),
                               ("date key", datetime.date(2024, 1, 1))]:
                d = copy.deepcopy(self.kitchen)
                get_in(d, mp)[key] = "v"
                self.add_data("freemap", f"{dotted(mp)} gets {kdesc} with string value", d)
            # free map replaced by empty map / list / scalar
            for vdesc, v in [("empty map", {}), ("list", ["a=b"]), ("string", "a=b"), ("null", None)]:
                d = copy.deepcopy(self.kitchen)
                set_in(d, mp, v)
                self.add_data("freemap", f"{dotted(mp)} = {vdesc}", d)

    TYPE_VALUES = [("string", "x"), ("integer", 7), ("float", 1.5), ("bool", True), ("null", None),
                   ("list", ["a"]), ("map", {"a": "b"})]

    def gen_type_swaps(self):
        for path, sch, val in walk(self.schema, self.kitchen):
            if not path:
                continue
            t = sch.get("type")
            if path[-2:-1] and isinstance(schema_at(self.schema, path[:-1]).get("additionalProperties"), dict):
                continue  # free-map entries are covered elsewhere
            if t in ("object", "array"):
                choices = [tv for tv in self.TYPE_VALUES if not (t == "object" and tv[0] == "map")
                           and not (t == "array" and tv[0] == "list")]
                picks = self.rng.sample(choices, 3)
                if t == "array":
                    picks.append(("map", {"a": "b"}))
                    picks.append(("empty list", []))
            else:
                picks = []
                for name, v in self.TYPE_VALUES:
                    if t == "string" and name == "string":
                        continue
                    if t == "boolean" and name == "bool":
                        continue
                    if t == "integer" and name == "integer":
                        continue
                    if t == "number" and name in ("integer", "float"):
                        continue
                    picks.append((name, v))
                if t == "string":
                    picks += [("int-looking string", "8")]
                if t in ("integer", "number"):
                    picks += [("integer as string", "8"), ("float as string", "1.5")]
                if t == "boolean":
                    picks += [("'true' string", "true"), ("int 1", 1), ("int 0", 0)]
            for name, v in picks:
                d = copy.deepcopy(self.kitchen)
                set_in(d, path, copy.deepcopy(v))
                self.add_data("type-swap", f"{dotted(path)} ({t}) = {name} {v!r} (kitchen)", d)
        # array items of the wrong type
        for ap in [("spec", "pipeline", "dependencies"), ("spec", "pipeline", "preprocess", "steps")]:
            for name, v in [("string item", "embedder"), ("null item", None), ("list item", [{"id": "a"}]),
                            ("int item", 1)]:
                d = copy.deepcopy(self.kitchen)
                get_in(d, ap).append(v)
                self.add_data("type-swap", f"{dotted(ap)} gets a {name} (kitchen)", d)
        # the root itself
        for name, v in [("string", "ModelSpec"), ("list", [self.examples["00"][2]]), ("int", 1), ("bool", True),
                        ("empty map", {}), ("empty list", [])]:
            self.add_data("root", f"root document is a {name}", v)

    def gen_numbers(self):
        big = [("10**30", 10 ** 30), ("-10**30", -10 ** 30), ("2**63-1", 2 ** 63 - 1), ("2**63", 2 ** 63),
               ("2**64", 2 ** 64), ("-2**63", -2 ** 63), ("-2**63-1", -2 ** 63 - 1), ("2**53+1", 2 ** 53 + 1)]
        specials = [("inf", float("inf")), ("-inf", float("-inf")), ("nan", float("nan")), ("1e300", 1e300),
                    ("-0.0", -0.0), ("2.0", 2.0), ("1.5", 1.5), ("-0.5", -0.5), ("0.5", 0.5), ("1e-300", 1e-300),
                    ("65535.0", 65535.0), ("1000.0", 1000.0)]
        for path, sch, val in walk(self.schema, self.kitchen):
            t = sch.get("type")
            if t not in ("integer", "number"):
                continue
            vals = []
            lo, hi = sch.get("minimum"), sch.get("maximum")
            if lo is not None:
                vals += [(f"minimum {lo}", lo), (f"minimum-1 {lo - 1}", lo - 1), (f"minimum+1 {lo + 1}", lo + 1)]
            if hi is not None:
                vals += [(f"maximum {hi}", hi), (f"maximum+1 {hi + 1}", hi + 1)]
            vals += self.rng.sample(big, 3) + self.rng.sample(specials, 6)
            if hi is not None:
                vals += [("65535.0", 65535.0), ("65535.5", 65535.5)]
            seen = set()
            for name, v in vals:
                key = repr(v)
                if key in seen:
                    continue
                seen.add(key)
                d = copy.deepcopy(self.kitchen)
                set_in(d, path, v)
                self.add_data("numbers", f"{dotted(path)} ({t}, min={lo}, max={hi}) = {name} (kitchen)", d)

    def gen_enums(self):
        consts = {
            ("apiVersion",): ["piqc.ai/v1alpha2", "piqc.ai/v1", "PIQC.ai/v1alpha1", "piqc.ai/v1alpha1 ",
                              " piqc.ai/v1alpha1", "v1alpha1", "", "piqc.ai/v1Alpha1", "modelspec/v0.1"],
            ("kind",): ["modelspec", "MODELSPEC", "Modelspec", "ModelSpecs", "Deployment", "", "ModelSpec\n"],
            ("spec", "operations", "serving", "protocol"): ["HTTP", "Http", "https", "grpcs", "GRPC", "", "http ",
                                                            "tcp", "http/2"],
            ("spec", "operations", "scaling", "strategy"): ["Reactive", "REACTIVE", "auto", "", "predictive ",
                                                            "Manual", "scheduled"],
            ("spec", "pipeline", "dependencies", 0, "role"): ["Input", "GUARDRAIL", "retriever", "", "embedder",
                                                              "post-process", "postProcess"],
        }
        for path, bad in consts.items():
            for v in bad:
                d = copy.deepcopy(self.kitchen)
                set_in(d, path, v)
                self.add_data("enum-const", f"{dotted(path)} = {v!r} (kitchen)", d)
        good = {("spec", "operations", "serving", "protocol"): ["grpc", "http"],
                ("spec", "operations", "scaling", "strategy"): ["predictive", "manual", "reactive"],
                ("spec", "pipeline", "dependencies", 0, "role"): ["input", "guardrail", "reranker", "postprocess",
                                                                  "custom"]}
        for path, vs in good.items():
            for v in vs:
                d = copy.deepcopy(self.kitchen)
                set_in(d, path, v)
                self.add_data("enum-const", f"{dotted(path)} = {v!r} (valid enum value, kitchen)", d)

    def gen_valid_variants(self):
        """Valid documents (keeps the corpus balanced and exercises the happy path)."""
        # optional properties removed one at a time from the kitchen sink
        for path, sch, val in walk(self.schema, self.kitchen):
            if len(path) < 2 or isinstance(path[-1], int):
                continue
            parent_s = schema_at(self.schema, path[:-1])
            if path[-1] in parent_s.get("required", []) or not isinstance(parent_s.get("additionalProperties"), bool):
                continue
            if path[-1] in ("batch", "maxSequenceLengthTokens"):
                continue  # would trip the vllm rule (kitchen uses framework: vllm)
            if True:
                d = copy.deepcopy(self.kitchen)
                del_in(d, path)
                self.add_data("valid", f"remove optional {dotted(path)} (kitchen)", d)
        # strings that PyYAML dumps plain but a YAML 1.2 parser might type as non-strings
        tricky = ["1e3", "1E3", "1e+3", "1.5e3", "0o17", "0o7", "08", "09", "-.5", "+.5", "2024-1-1",
                  "1:60", "_1", "0x", "0b", "0b2", "0xG", "1__", "y", "n", "Y", "N", "tRUE", "nULL", "inf", "-inf",
                  "nan", "NaN", "Infinity", ".Inf5", "12e", "1.2.3", "+", "-", "0.", "-0.", "+1e3"]
        strpaths = [p for p, s, v in walk(self.schema, self.kitchen)
                    if s.get("type") == "string" and "enum" not in s and "const" not in s and p[-1] != "framework"]
        for i, t in enumerate(tricky):
            p = strpaths[(i * 7) % len(strpaths)]
            d = copy.deepcopy(self.kitchen)
            set_in(d, p, t)
            self.add_data("valid", f"string field {dotted(p)} = {t!r} (safe_dump writes it plain)", d)
        # odd but valid strings
        odd = ["", " ", "  leading and trailing  ", "é ü ñ 中文 😀", "a\tb", "line1\nline2", "line1\n\nline3\n",
               "x" * 300 + " folded " * 20, "#notacomment", "key: value", "- item", "[x]", "{x}", "'quoted'",
               '"dq"', "\\backslash", "%percent", "@at", "`backtick", "!bang", "&amp", "*star", "|pipe", ">gt",
               "?q", "null", "~", "true", "yes", "123", "1.5", ".inf", "=", "<<", "2024-01-01", "\u0085nel",
               "\u2028ls", "\ufeffbom-inside", "\x7fdel", "tab\tinside", "trailing space "]
        for i, t in enumerate(odd):
            p = strpaths[(i * 5 + 3) % len(strpaths)]
            d = copy.deepcopy(self.kitchen)
            set_in(d, p, t)
            self.add_data("valid", f"string field {dotted(p)} = {t[:40]!r} (odd but valid string)", d)
        # key order shuffled, optional blocks from one example merged into another
        for label, data in self.bases():
            d = self._shuffled(data)
            self.add_data("valid", f"keys shuffled at every level (base {label})", d)
        for label, data in self.bases():
            self.add_data("valid", f"unmodified data re-dumped with safe_dump (base {label})", data)
        # numbers that are valid
        for path, v in [(("spec", "runtime", "accelerator", "count"), 2.0),
                        (("spec", "operations", "serving", "port"), 65535),
                        (("spec", "operations", "serving", "port"), 1),
                        (("spec", "runtime", "resources", "memoryGb"), 0),
                        (("spec", "runtime", "resources", "memoryGb"), 0.25),
                        (("spec", "runtime", "accelerator", "count"), 10 ** 30),
                        (("spec", "operations", "scaling", "targetRps"), float("inf")),
                        (("spec", "operations", "scaling", "targetRps"), float("nan")),
                        (("spec", "governance", "compliance", "retention", "logsDays"), -0.0),
                        (("spec", "governance", "cost", "targetCostPer1kTokensUsd"), 1e-9)]:
            d = copy.deepcopy(self.kitchen)
            set_in(d, path, v)
            self.add_data("valid", f"{dotted(path)} = {v!r} (kitchen)", d)

    def _shuffled(self, data):
        if isinstance(data, dict):
            items = list(data.items())
            self.rng.shuffle(items)
            return {k: self._shuffled(v) for k, v in items}
        if isinstance(data, list):
            return [self._shuffled(v) for v in data]
        return data

    # ---------------------------------------------------------------- textual families
    def gen_text_tokens(self):
        ex = {k: t for k, (_fn, t, _d) in self.examples.items()}
        flowy = {k: yaml.safe_dump(d, sort_keys=False, default_flow_style=None, width=4096)
                 for k, (_fn, _t, d) in self.examples.items()}
        kinds = ["string", "integer"]
        rot = ["number", "boolean", "freemap", "enum"]
        counters = {k: 0 for k in TEXT_TARGETS}
        for ti, tok in enumerate(SCALAR_TOKENS):
            for kind in kinds + [rot[ti % len(rot)]]:
                targets = TEXT_TARGETS[kind]
                path, base = targets[counters[kind] % len(targets)]
                counters[kind] += 1
                style = "block" if (ti + counters[kind]) % 4 else "flow"
                src = ex[base] if style == "block" else flowy[base]
                out = replace_value(src, path, tok)
                if out is None and style == "flow":
                    style, out = "block", replace_value(ex[base], path, tok)
                if out is None:
                    continue
                self.add("text-token", f"{kind} field {dotted(path)} <- `{tok}` ({style} style, base {base})", out)

    OBJECT_TOKENS = ["!!map {}", "!!omap []", "!!pairs []", "!!set {}", "!!seq []", "!!map", "{}", "[]", "~", "''",
                     "! {}", "!custom {}", "!!str {}", "!!python/dict {}", "yes", "0x1F", "{a}", "[a]", "!!omap [a: b]",
                     "!!pairs [a: b]", "!!set {a}", "&x {}", "!!binary aGVsbG8="]
    OBJECT_TARGETS = [(("metadata", "labels"), "02"), (("spec", "runtime", "batch"), "03"),
                      (("spec", "pipeline", "dependencies"), "06"), (("spec", "operations", "scaling"), "04"),
                      (("metadata", "annotations"), "08"), (("spec", "identity", "model", "artifacts"), "01"),
                      (("spec", "governance", "compliance", "pii"), "07"),
                      (("spec", "operations", "observability", "tracing"), "05")]

    def gen_object_tokens(self):
        """Raw tokens in place of whole mappings / sequences (explicit tags, empty collections, ...)."""
        for i, tok in enumerate(self.OBJECT_TOKENS):
            picks = [self.OBJECT_TARGETS[(2 * i + j) % len(self.OBJECT_TARGETS)] for j in range(2)]
            if self.OBJECT_TARGETS[2] not in picks:
                picks.append(self.OBJECT_TARGETS[2])  # always also the array-valued dependencies
            for path, base in picks:
                text = self.examples[base][1]
                n = _node(compose(text), path)
                k = _node(compose(text), path, want_key=True)
                if n is None or k is None:
                    continue
                # replace from just after "key:" to the end of the collection node
                colon = text.index(":", k.end_mark.index) + 1
                end = n.end_mark.index
                out = text[:colon] + " " + tok + "\n" + text[end:].lstrip(" ")
                self.add("object-token", f"{dotted(path)} ({schema_at(self.schema, path).get('type')}) <- `{tok}` "
                                         f"(base {base})", out)
        # explicit tags on mappings / sequences that keep their content
        t06 = self.examples["06"][1]
        for tag in ["!!map", "!", "!!omap", "!!set", "!custom", "!!seq"]:
            self.add("object-token", f"metadata mapping tagged `{tag}` (content kept)",
                     t06.replace("metadata:\n", f"metadata: {tag}\n", 1))
        for tag in ["!!seq", "!", "!!omap", "!!pairs", "!!set", "!!map"]:
            self.add("object-token", f"dependencies sequence tagged `{tag}` (content kept)",
                     t06.replace("    dependencies:\n", f"    dependencies: {tag}\n", 1))
        t00 = self.examples["00"][1]
        for desc, new in [("block-scalar key `? |-` resolving to 'count'", "      ? |-\n        count\n      : 1"),
                          ("block-scalar key `? |` resolving to 'count\\n'", "      ? |\n        count\n      : 1"),
                          ("folded key `? >-`", "      ? >-\n        count\n      : 1"),
                          ("explicit key and explicit value on separate lines", "      ?\n        count\n      :\n        1"),
                          ("!!str-tagged value 1 for count", "      count: !!str 1"),
                          ("!!int-tagged quoted value for count", '      count: !!int "1"'),
                          ("verbatim int tag on count", "      count: !<tag:yaml.org,2002:int> '1'")]:
            self.add("object-token", desc + " (base 00)",
                     re.sub(r"      count: 1[^\n]*", lambda _m: new, t00, count=1))

    def gen_text_requote(self):
        """Re-spell plain string scalars of the original texts (quotes, tags): all still valid."""
        forms = [("single-quoted", lambda v: "'" + v.replace("'", "''") + "'"),
                 ("double-quoted", lambda v: json.dumps(v)),
                 ("!!str-tagged", lambda v: "!!str " + v),
                 ("double-quoted with \\x escapes", lambda v: '"' + "".join(f"\\x{ord(c):02x}" if ord(c) < 128 else c
                                                                      for c in v) + '"'),
                 ("non-specific tag '! '", lambda v: "! " + v)]
        i = 0
        for key, (fn, text, data) in self.examples.items():
            for path, sch, val in walk(self.schema, data):
                if sch.get("type") != "string" or not isinstance(val, str):
                    continue
                n = _node(compose(text), path)
                if n is None or n.style is not None:
                    continue
                name, f = forms[i % len(forms)]
                i += 1
                if name.startswith("non-specific") and re.fullmatch(r"[-+0-9.:_eExXoObB]+", val):
                    name, f = forms[0]  # `! 8` resolves to an int in PyYAML; keep this family valid
                out = replace_value(text, path, f(val))
                if out is not None:
                    self.add("text-requote", f"{dotted(path)} = {val!r} written {name} ({fn})", out)
                    self.variants[-1].expect = "valid"

    def gen_text_keys(self):
        ex = {k: t for k, (_fn, t, _d) in self.examples.items()}
        flow02 = yaml.safe_dump(self.examples["08"][2], sort_keys=False, default_flow_style=None, width=4096)
        maps = [(("metadata", "labels"), ex["02"], "labels, block, base 02"),
                (("metadata", "annotations"), ex["08"], "annotations, block, base 08"),
                (("spec", "runtime", "environment", "variables"), flow02, "environment.variables, flow, base 08"),
                (("metadata", "labels"), ex["06"], "labels, block, base 06")]
        for i, tok in enumerate(KEY_TOKENS):
            mp, src, where = maps[i % len(maps)]
            out = insert_entry(src, mp, tok, "some-value")
            if out is not None:
                self.add("text-key", f"key `{tok}` with a string value in {where}", out)
            if i % 3 == 0:
                mp, src, where = maps[(i + 1) % len(maps)]
                out = insert_entry(src, mp, tok, "8")
                if out is not None:
                    self.add("text-key", f"key `{tok}` with an int value 8 in {where}", out)
        # typed keys in schema objects (additionalProperties: false)
        for tok in ["yes", "1", "null", "~", "true", "on", "'name2'", "2024-01-01", "1.5", "<<", "!!str x"]:
            out = insert_entry(ex["00"], ("metadata",), tok, "1")
            self.add("text-key", f"metadata gets key `{tok}: 1` (base 00)", out)
        self.add("text-key", "metadata: {name: x, yes: 1} (flow, base 00)",
                 ex["00"].replace("metadata:\n  name: minimal-llm   # Human-friendly identifier for this spec",
                                  "metadata: {name: x, yes: 1}"))
        self.add("text-key", "labels: {1: a} (flow, base 00)",
                 ex["00"].replace("metadata:\n  name: minimal-llm", "metadata:\n  labels: {1: a}\n  name: minimal-llm"))
        self.add("text-key", "labels: {1: a, '1': b} -- int and string keys that collide once stringified "
                             "(NOT a YAML duplicate)",
                 ex["00"].replace("metadata:\n  name: minimal-llm",
                                  "metadata:\n  labels: {1: a, '1': b}\n  name: minimal-llm"))
        self.add("text-key", "labels: {true: a, 'yes': b} -- bool and string keys that collide once stringified",
                 ex["00"].replace("metadata:\n  name: minimal-llm",
                                  "metadata:\n  labels: {yes: a, 'yes': b}\n  name: minimal-llm"))
        # quoted / explicit forms of schema keys
        for desc, old, new in [
            ("double-quoted key \"count\"", "      count: 1", '      "count": 1'),
            ("single-quoted key 'vendor'", "      vendor: nvidia", "      'vendor': nvidia"),
            ("explicit key ? count", "      count: 1", "      ? count\n      : 1"),
            ("escaped key \"\\x63ount\"", "      count: 1", '      "\\x63ount": 1'),
            ("key with trailing space 'count '", "      count: 1", "      'count ': 1"),
            ("key with different case Count", "      count: 1", "      Count: 1"),
            ("!!str tagged key", "      count: 1", "      !!str count: 1"),
            ("non-specific tagged key ! count", "      count: 1", "      ! count: 1"),
            ("anchored key &k count", "      count: 1", "      &k count: 1"),
            ("explicit key ? vendor with value on next line", "      vendor: nvidia", "      ? vendor\n      :\n        nvidia"),
            ("flow seq as key [count]", "      count: 1", "      [count]: 1"),
            ("key 'count' with value on the next line", "      count: 1", "      count:\n        1"),
            ("key followed by space before colon", "      count: 1", "      count : 1"),
            ("key without space after colon (count:1)", "      count: 1", "      count:1"),
        ]:
            src = ex["00"]
            old_re = re.escape(old) + r"[^\n]*"
            out, n = re.subn(old_re, lambda _m: new, src, count=1)
            if n:
                self.add("text-key", f"{desc} (base 00)", out)

    def gen_documents(self):
        ex00 = self.examples["00"][1]
        docs = [
            ("empty file", ""), ("only newlines", "\n\n\n"), ("only spaces", "   \n"),
            ("only a comment", "# only a comment\n"), ("only comments", "# c1\n# c2\n\n# c3"),
            ("bare document marker", "---\n"), ("document marker with comment", "--- # nothing\n"),
            ("explicit null", "null\n"), ("tilde", "~\n"), ("bare scalar", "ModelSpec\n"), ("bare int", "42\n"),
            ("bare bool", "true\n"), ("quoted scalar", '"apiVersion: piqc.ai/v1alpha1"\n'),
            ("block list", "- apiVersion\n- kind\n"), ("flow list", "[]\n"), ("flow map", "{}\n"),
            ("block scalar root", "|\n  apiVersion: piqc.ai/v1alpha1\n"), ("document end only", "...\n"),
            ("list of the minimal example", "- " + ex00.replace("\n", "\n  ") + "\n"),
            ("explicit start + minimal", "---\n" + ex00),
            ("explicit start + end + minimal", "---\n" + ex00 + "\n...\n"),
            ("minimal + document end", ex00 + "\n...\n"),
            ("minimal + document end + comment", ex00 + "\n...\n# trailing comment\n"),
            ("%YAML 1.1 directive", "%YAML 1.1\n---\n" + ex00),
            ("%YAML 1.2 directive", "%YAML 1.2\n---\n" + ex00),
            ("%YAML 1.2 directive + yes in a string field",
             "%YAML 1.2\n---\n" + ex00.replace("vendor: nvidia", "vendor: yes")),
            ("%YAML 2.0 directive", "%YAML 2.0\n---\n" + ex00),
            ("%TAG directive", "%TAG !e! tag:example.com,2000:\n---\n" + ex00),
            ("directive without ---", "%YAML 1.1\n" + ex00),
            ("--- !!map root tag", "--- !!map\n" + ex00),
            ("--- !!str root tag on a mapping", "--- !!str\n" + ex00),
            ("--- !!omap root", "--- !!omap\n- apiVersion: piqc.ai/v1alpha1\n- kind: ModelSpec\n"),
            ("root anchor", "--- &root\n" + ex00),
            ("--- with inline flow document", "--- " + json.dumps(self.examples["00"][2]) + "\n"),
        ]
        for desc, text in docs:
            self.add("document", desc, text)

    def gen_formatting(self):
        for key, (fn, text, data) in self.examples.items():
            self.add("format", f"original example text verbatim ({fn})", text)
            self.add("format", f"JSON text (json.dumps indent=2) in a .yaml file ({fn})", json.dumps(data, indent=2))
            self.add("format", f"JSON text, one line ({fn})", json.dumps(data))
            self.add("format", f"flow style, safe_dump(default_flow_style=True) ({fn})",
                     yaml.safe_dump(data, sort_keys=False, default_flow_style=True))
            self.add("format", f"CRLF line endings ({fn})", text.replace("\n", "\r\n"))
            self.add("format", f"UTF-8 BOM ({fn})", "\ufeff" + text)
            self.add("format", f"BOM + CRLF ({fn})", "\ufeff" + text.replace("\n", "\r\n"))
            self.add("format", f"all keys double-quoted ({fn})",
                     re.sub(r"^(\s*(?:- )?)([A-Za-z_][\w.-]*):", r'\1"\2":', text, flags=re.M))
            self.add("format", f"all keys single-quoted ({fn})",
                     re.sub(r"^(\s*(?:- )?)([A-Za-z_][\w.-]*):", r"\1'\2':", text, flags=re.M))
            self.add("format", f"comment lines between all lines, comment with tab inside ({fn})",
                     "# head\t comment\n" + "\n".join(l + "\n#\tc" if l.strip() else l for l in text.split("\n")))
            self.add("format", f"4-space indentation ({fn})", yaml.safe_dump(data, sort_keys=False, indent=4))
            if key in ("00", "04", "08"):
                self.add("format", f"lone CR line endings ({fn})", text.replace("\n", "\r"))
                self.add("format", f"trailing spaces on every line ({fn})", text.replace("\n", "   \n"))
                self.add("format", f"tab after a value before a comment ({fn})", text.replace("   #", "\t#", 1))
                self.add("format", f"tab-indented line ({fn})", text.replace("\n  ", "\n\t", 1))
                self.add("format", f"tab between key colon and value ({fn})",
                         re.sub(r"(\n\s+\w+): (\S)", r"\1:\t\2", text, count=1))
                self.add("format", f"blank line containing only a tab ({fn})", text.replace("\n\n", "\n\t\n", 1))
                self.add("format", f"invalid UTF-8 byte in a comment ({fn})",
                         (text.replace("#", "# \udce9 ", 1) if "#" in text else text + "\n# \udce9\n")
                         .encode("utf-8", "surrogateescape"))
                self.add("format", f"NUL character in a comment ({fn})", text + "\n# a\x00b\n")
                self.add("format", f"BEL control character in a comment ({fn})", text + "\n# a\x07b\n")
                self.add("format", f"NEL (U+0085) inside a plain value ({fn})",
                         text.replace("kind: ModelSpec", "kind: ModelSpec\u0085x"))
                self.add("format", f"LINE SEPARATOR (U+2028) at end of a value line ({fn})",
                         text.replace("kind: ModelSpec", "kind: ModelSpec\u2028"))
                self.add("format", f"BOM in the middle of the file ({fn})", text.replace("\nspec:", "\n\ufeffspec:"))
                self.add("format", f"no trailing newline and many trailing newlines ({fn})", text.rstrip("\n") + "\n\n\n\n")
        # JSON files (.json extension): only where json.loads and yaml.safe_load agree (checked later)
        for label, data in self.bases():
            self.add("json-file", f"JSON file (.json) of base {label}", json.dumps(data, indent=1), ext=".json")
        for desc, mut in [("count is a string", (("spec", "runtime", "accelerator", "count"), "1")),
                          ("unknown property", (("spec", "bogus"), 1)),
                          ("port above maximum", (("spec", "operations", "serving", "port"), 70000)),
                          ("count is 2.0", (("spec", "runtime", "accelerator", "count"), 2.0)),
                          ("count is true", (("spec", "runtime", "accelerator", "count"), True))]:
            d = copy.deepcopy(self.kitchen)
            set_in(d, mut[0], mut[1])
            self.add("json-file", f"JSON file (.json): {desc}", json.dumps(d, indent=2), ext=".json")
        self.add("json-file", "JSON file (.json) with a syntax error (trailing comma)", '{"apiVersion": "x",}\n',
                 ext=".json")
        kj = json.dumps(self.kitchen, indent=2)

        def jrep(old, new, count=1):
            assert old in kj, old
            return kj.replace(old, new, count)
        for desc, text in [
            ("NaN literal for targetRps (number)", jrep('"targetRps": 50', '"targetRps": NaN')),
            ("Infinity literal for memoryGb", jrep('"memoryGb": 128', '"memoryGb": Infinity')),
            ("-Infinity literal for memoryGb (minimum 0)", jrep('"memoryGb": 128', '"memoryGb": -Infinity')),
            ("count 1e3 (JSON number 1000.0)", jrep('"count": 4', '"count": 1e3')),
            ("count 1E400 (overflows to inf)", jrep('"count": 4', '"count": 1E400')),
            ("memoryGb 1E400 (overflows to inf)", jrep('"memoryGb": 128', '"memoryGb": 1E400')),
            ("count 1.0", jrep('"count": 4', '"count": 1.0')),
            ("count 4.5", jrep('"count": 4', '"count": 4.5')),
            ("count 10**30", jrep('"count": 4', '"count": ' + str(10 ** 30))),
            ("logsDays -0", jrep('"logsDays": 30', '"logsDays": -0')),
            ("logsDays -0.0", jrep('"logsDays": 30', '"logsDays": -0.0')),
            ("count with a leading zero (01)", jrep('"count": 4', '"count": 04')),
            ("count +4", jrep('"count": 4', '"count": +4')),
            ("memoryGb .5", jrep('"memoryGb": 128', '"memoryGb": .5')),
            ("count 0x4", jrep('"count": 4', '"count": 0x4')),
            ("count true", jrep('"count": 4', '"count": true')),
            ("count \"4\"", jrep('"count": 4', '"count": "4"')),
            ("UTF-8 BOM before the JSON text", "\ufeff" + kj),
            ("// comment in JSON", "// comment\n" + kj),
            ("single-quoted JSON string", jrep('"vendor": "nvidia"', "'vendor': 'nvidia'")),
            ("trailing comma in an object", jrep('"count": 4', '"count": 4,')),
            ("raw tab inside a JSON string", jrep('"vendor": "nvidia"', '"vendor": "nv\tidia"')),
            ("escaped \\t inside a JSON string", jrep('"vendor": "nvidia"', '"vendor": "nv\\tidia"')),
            ("lone surrogate escape in a JSON string", jrep('"vendor": "nvidia"', '"vendor": "\\ud800"')),
            ("\\u0000 escape in a JSON string", jrep('"vendor": "nvidia"', '"vendor": "nv\\u0000idia"')),
            ("yes as a JSON string value (stays a string)", jrep('"vendor": "nvidia"', '"vendor": "yes"')),
            ("JSON indented with tabs", json.dumps(self.kitchen, indent="\t")),
            ("JSON with CRLF line endings", kj.replace("\n", "\r\n")),
            ("JSON top-level array", "[" + kj + "]"),
            ("JSON null", "null"),
            ("JSON whitespace only", "  \n"),
            ("JSON string", '"ModelSpec"'),
            ("YAML block text in a .json file", self.examples["00"][1]),
            ("YAML flow text (unquoted keys) in a .json file", yaml.safe_dump(self.kitchen, default_flow_style=True)),
            ("JSON with non-string value in labels", jrep('"team": "ml-platform"', '"team": 1')),
            ("JSON labels value nested 3000 levels", jrep('"team": "ml-platform"', '"team": ' + "[" * 3000 + "]" * 3000)),
        ]:
            self.add("json-file", f"JSON file (.json): {desc}", text, ext=".json")
        self.add("json-file", "JSON file (.json): empty", "", ext=".json")
        # tabs where YAML allows them
        t08 = self.examples["08"][1]
        desc_line = "description: Production chat LLM for customer support"
        self.add("tabs", "literal tab inside a double-quoted value (08)",
                 t08.replace(desc_line, 'description: "Production\tchat LLM"'))
        self.add("tabs", "literal tab inside a single-quoted value (08)",
                 t08.replace(desc_line, "description: 'Production\tchat LLM'"))
        self.add("tabs", "tab inside a block scalar (08)",
                 t08.replace(desc_line, "description: |\n    Production\tchat\n    LLM"))
        self.add("tabs", "tab inside a plain value (08)",
                 t08.replace(desc_line, "description: Production\tchat LLM"))
        self.add("tabs", "tab after a flow-sequence comma (dependencies given as flow sequence)",
                 self.examples["00"][1].replace("  name: minimal-llm", "  labels: {a: b}\n  name: minimal-llm") + 
                 "\n  pipeline:\n    dependencies: [{id: a, role: input},\t{id: b, role: custom}]\n")
        self.add("tabs", "tab after a flow-sequence comma, sequence spread over lines",
                 self.examples["00"][1] + "\n  pipeline:\n    dependencies: [{id: a, role: input},\n\t{id: b, role: custom}]\n")
        self.add("tabs", "tab in flow mapping after comma (labels)",
                 self.examples["00"][1].replace("  name: minimal-llm", "  labels: {a: b,\tc: d}\n  name: minimal-llm"))
        self.add("tabs", "tab in comment-only line (08)", t08.replace("\nspec:", "\n#\tcomment\nspec:"))
        self.add("tabs", "tab inside a trailing comment (00)",
                 self.examples["00"][1].replace("# GPU vendor", "# GPU\tvendor"))
        self.add("tabs", "double-quoted value with \\t escape (00)",
                 self.examples["00"][1].replace("type: a10 ", 'type: "a\\t10"'))
        # long lines / multi-line plain scalars
        self.add("format", "multi-line plain scalar (description continues on next line)",
                 t08.replace("description: Production chat LLM for customer support",
                             "description: Production chat LLM\n    for customer support"))
        self.add("format", "multi-line double-quoted scalar with escaped line break",
                 t08.replace("description: Production chat LLM for customer support",
                             'description: "Production chat LLM \\\n    for customer support"'))
        self.add("format", "folded block scalar description",
                 t08.replace("description: Production chat LLM for customer support",
                             "description: >\n    Production chat LLM\n    for customer support\n"))
        self.add("format", "block scalar with keep indicator and indentation indicator",
                 t08.replace("description: Production chat LLM for customer support",
                             "description: |2+\n      indented\n\n"))
        self.add("format", "under-indented continuation (invalid)",
                 t08.replace("description: Production chat LLM for customer support",
                             "description: Production chat LLM\nfor customer support"))
        self.add("format", "wrong indentation of a nested key (invalid)",
                 self.examples["00"][1].replace("      family: llama", "     family: llama"))

    def gen_anchors(self):
        t00, t08 = self.examples["00"][1], self.examples["08"][1]
        cases = [
            ("scalar anchor on vendor reused as type", True,
             t00.replace("vendor: nvidia", "vendor: &v nvidia").replace("type: a10 ", "type: *v ")),
            ("readinessProbe anchored, livenessProbe is an alias", True,
             t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n").replace(
                 "      livenessProbe:\n        path: /healthz/live\n        timeoutSeconds: 5\n",
                 "      livenessProbe: *probe\n")),
            ("merge key with override (<<: *probe, path: ...)", True,
             t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n").replace(
                 "      livenessProbe:\n        path: /healthz/live\n        timeoutSeconds: 5\n",
                 "      livenessProbe:\n        <<: *probe\n        path: /healthz/live\n")),
            ("merge key written after the overriding key", True,
             t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n").replace(
                 "      livenessProbe:\n        path: /healthz/live\n        timeoutSeconds: 5\n",
                 "      livenessProbe:\n        path: /healthz/live\n        <<: *probe\n")),
            ("merge of a list of mappings (<<: [*a, *b])", True,
             t08.replace("  labels:\n", "  labels: &lab\n").replace(
                 "  annotations:\n    owner: ml-platform-team\n    supportChannel: \"#support-ml\"\n",
                 "  annotations:\n    <<: [*lab, {extra: x}]\n    owner: ml-platform-team\n")),
            ("flow merge in labels", True,
             t08.replace("  labels:\n", "  labels: &lab\n").replace(
                 "  annotations:\n    owner: ml-platform-team\n    supportChannel: \"#support-ml\"\n",
                 "  annotations: {<<: *lab, owner: x}\n")),
            ("dependency item built by merge supplying required id/role", True,
             t08.replace("      - id: input-guardrail\n", "      - &dep\n        id: input-guardrail\n").replace(
                 "      - id: output-guardrail\n        role: guardrail\n",
                 "      - <<: *dep\n        id: output-guardrail\n")),
            ("alias to a whole mapping used twice (labels -> annotations)", True,
             t08.replace("  labels:\n", "  labels: &lab\n").replace(
                 "  annotations:\n    owner: ml-platform-team\n    supportChannel: \"#support-ml\"\n",
                 "  annotations: *lab\n")),
            ("anchor name containing '.' (PyYAML allows only [A-Za-z0-9_-])", False,
             t00.replace("vendor: nvidia", "vendor: &a.b-c_1 nvidia").replace("type: a10 ", "type: *a.b-c_1 ")),
            ("quoted '<<' key in labels is a plain string key", True,
             t00.replace("  name: minimal-llm", "  labels: {'<<': x}\n  name: minimal-llm")),
            ("merge of a scalar (<<: *v)", False,
             t00.replace("vendor: nvidia", "vendor: &v nvidia").replace(
                 "  name: minimal-llm", "  name: minimal-llm").replace(
                 "      count: 1 ", "      count: 1\n    x:\n      <<: *v\n")),
            ("plain << key with a scalar value in labels", False,
             t00.replace("  name: minimal-llm", "  labels:\n    <<: x\n  name: minimal-llm")),
            ("merge of a list containing a scalar", False,
             t08.replace("  labels:\n", "  labels: &lab\n").replace(
                 "  annotations:\n    owner: ml-platform-team\n",
                 "  annotations:\n    <<: [*lab, x]\n    owner: ml-platform-team\n")),
            ("undefined alias", False, t00.replace("type: a10 ", "type: *nothere ")),
            ("alias used before its anchor", False,
             t00.replace("vendor: nvidia", "vendor: *v").replace("type: a10 ", "type: &v a10 ")),
            ("alias of a mapping into an integer field", False,
             t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n").replace(
                 "      maxConcurrency: 32", "      maxConcurrency: *probe")),
            ("alias of a string into an integer field", False,
             t00.replace("vendor: nvidia", "vendor: &v nvidia").replace("count: 1 ", "count: *v ")),
            ("merge brings unknown keys into accelerator", False,
             t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n").replace(
                 "      count: 4 ", "      count: 4\n      <<: *probe\n      ")),
            ("recursive alias in labels (labels: &l {a: *l})", False,
             t00.replace("  name: minimal-llm", "  labels: &l {a: *l}\n  name: minimal-llm")),
            ("recursive sequence alias", False,
             t00.replace("  name: minimal-llm", "  labels: {a: &s [*s]}\n  name: minimal-llm")),
            ("merge key in a sequence item (not a mapping)", False,
             t08.replace("      - id: input-guardrail\n", "      - &dep\n        id: input-guardrail\n").replace(
                 "      - id: output-guardrail\n", "      - *dep\n      - <<\n      - id: output-guardrail\n")),
            ("many aliases of one scalar (300 labels)", True,
             t00.replace("  name: minimal-llm", "  labels:\n    k0: &v val\n" + "".join(
                 f"    k{i}: *v\n" for i in range(1, 300)) + "  name: minimal-llm")),
            ("nested alias expansion (billion-laughs-lite) in labels", False,
             t00.replace("  name: minimal-llm", "  labels:\n    a: &a [x, x, x, x, x, x, x, x]\n"
                                                "    b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                                                "    c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n"
                                                "    d: [*c, *c, *c, *c, *c, *c, *c, *c]\n  name: minimal-llm")),
            ("anchor on a sequence reused for postprocess steps", True,
             dump(self.kitchen).replace("    preprocess:\n      steps:\n", "    preprocess:\n      steps: &st\n")
             .replace("    postprocess:\n      steps:\n      - name: detokenize\n        type: detokenizer\n"
                      "        enabled: false\n      - name: safety\n        type: filter\n",
                      "    postprocess:\n      steps: *st\n")),
        ]
        for desc, expect, text in cases:
            self.add("anchors", desc, text)
            self.variants[-1].expect = "valid" if expect else "invalid"

    def gen_edges(self):
        """Hand-written YAML corner cases on the original texts (merge semantics, flow quirks, limits...)."""
        t00, t06, t08 = self.examples["00"][1], self.examples["06"][1], self.examples["08"][1]
        acc00 = ("    accelerator:\n      vendor: nvidia            # GPU vendor\n      type: a10                 # GPU model\n"
                 "      count: 1                  # Number of GPUs required")
        assert acc00 in t00
        rt = "  runtime:\n" + acc00

        def acc(body):  # replace the accelerator block of example 00
            return t00.replace(acc00, body)

        lab = lambda body: t00.replace("  name: minimal-llm", body + "\n  name: minimal-llm")  # noqa: E731
        probe = t08.replace("      readinessProbe:\n", "      readinessProbe: &probe\n")
        base_acc = "    accelerator: &acc {vendor: nvidia, type: a10, count: 1}"
        cases = [
            # merge-key semantics
            ("merge precedence: <<: [*a, *b], the first mapping wins (count 1 over 0)",
             t00.replace("  name: minimal-llm", "  name: minimal-llm\n  labels: {}\n").replace(acc00,
                 "    accelerator:\n      <<: [{count: 1}, {count: 0, vendor: nvidia}]\n      type: a10")),
            ("merge precedence: <<: [*b, *a], the first mapping wins (count 0 over 1)",
             t00.replace(acc00, "    accelerator:\n      <<: [{count: 0}, {count: 1, vendor: nvidia}]\n      type: a10")),
            ("merge with an inline mapping (<<: {vendor: nvidia, type: a10})",
             acc("    accelerator:\n      <<: {vendor: nvidia, type: a10}\n      count: 2")),
            ("merge is shallow: a local nested mapping replaces the merged one entirely (accelerator loses vendor/type)",
             t00.replace(rt, "  runtime:\n    <<: {accelerator: {vendor: nvidia, type: a10, count: 1}}\n"
                             "    accelerator: {count: 2}")),
            ("merge at runtime level supplying the whole accelerator",
             t00.replace(rt, "  runtime:\n    <<: {accelerator: {vendor: nvidia, type: a10, count: 1}}\n"
                             "    batch: {maxBatchSize: 2}")),
            ("merge of null (<<: ~)", acc("    accelerator:\n      <<: ~\n      vendor: nvidia\n      type: a10\n      count: 1")),
            ("merge of an empty list (<<: [])", acc("    accelerator:\n      <<: []\n      vendor: nvidia\n      type: a10\n      count: 1")),
            ("merge of an empty mapping (<<: {})", acc("    accelerator:\n      <<: {}\n      vendor: nvidia\n      type: a10\n      count: 1")),
            ("merge key overridden locally by an invalid value (count: 0)",
             acc("    accelerator:\n      <<: {vendor: nvidia, type: a10, count: 1}\n      count: 0")),
            ("anchored flow accelerator (no merge)", acc(base_acc)),
            ("merged value is invalid (count 0) and not overridden",
             acc("    accelerator:\n      <<: {vendor: nvidia, type: a10, count: 0}")),
            ("merged value invalid (count 0) but overridden locally (count 1)",
             acc("    accelerator:\n      <<: {vendor: nvidia, type: a10, count: 0}\n      count: 1")),
            ("quoted '<<' key in accelerator is an ordinary (unknown) key",
             acc("    accelerator:\n      '<<': {vendor: nvidia}\n      vendor: nvidia\n      type: a10\n      count: 1")),
            ("!!merge tagged << key", acc("    accelerator:\n      !!merge <<: {vendor: nvidia}\n      type: a10\n      count: 1")),
            ("!!str tagged << key (literal key)", acc("    accelerator:\n      !!str <<: {vendor: nvidia}\n      vendor: nvidia\n      type: a10\n      count: 1")),
            ("merge in a flow mapping", acc("    accelerator: {<<: {vendor: nvidia, type: a10}, count: 1}")),
            ("merge of an alias to the readinessProbe into livenessProbe plus override",
             probe.replace("        path: /healthz/live\n", "        <<: *probe\n        path: /healthz/live\n")),
            ("merge of a list of inline mappings (<<: [{vendor}, {type}])",
             lab("  labels: &l {a: b}").replace(acc00, "    accelerator:\n      <<: [{vendor: nvidia}, {type: a10}]\n      count: 1")),
            ("merge of an alias to a list of mappings (<<: *seq)",
             t00 + "\n  pipeline:\n    dependencies: &deps\n      - {id: a, role: input}\n"
                   "    preprocess:\n      steps:\n        - name: x\n          type: y\n"
                   "          <<: *deps\n"),
            ("alias used as a mapping key (*k : value)",
             t06.replace("      - id: embedder\n", "      - &idkey id: embedder\n").replace(
                 "      - id: reranker\n", "      - *idkey : reranker\n")),
            ("anchor on a key and on its value",
             t00.replace("      vendor: nvidia ", "      &k vendor: &v nvidia ")),
            # flow-style quirks
            ("flow mapping without space after colon {count:1} (PyYAML: key 'count:1')",
             acc("    accelerator: {vendor: nvidia, type: a10, count:1}")),
            ('flow mapping JSON-style {"count":1}', acc('    accelerator: {"vendor":"nvidia","type":"a10","count":1}')),
            ("flow mapping with a trailing comma", acc("    accelerator: {vendor: nvidia, type: a10, count: 1,}")),
            ("flow mapping with an implicit-null entry {vendor, ...}", acc("    accelerator: {vendor, type: a10, count: 1}")),
            ("flow mapping continued on a line at column 0",
             acc("    accelerator: {vendor: nvidia,\ntype: a10, count: 1}")),
            ("flow mapping continued on a less-indented line",
             acc("    accelerator: {vendor: nvidia,\n  type: a10,\n count: 1}")),
            ("flow mapping spread over lines, properly indented",
             acc("    accelerator: {\n      vendor: nvidia,\n      type: a10,\n      count: 1\n    }")),
            ("flow mapping with explicit key {? vendor : nvidia}", acc("    accelerator: {? vendor : nvidia, type: a10, count: 1}")),
            ("flow mapping with empty entry {,}", acc("    accelerator: {vendor: nvidia, , type: a10, count: 1}")),
            ("single-pair mappings inside a flow sequence ([name: x, ...])",
             t00 + "\n  pipeline:\n    preprocess:\n      steps: [name: tok]\n"),
            ("flow sequence of flow mappings with a trailing comma",
             t00 + "\n  pipeline:\n    preprocess:\n      steps: [{name: tok, type: tokenizer},]\n"),
            ("flow sequence element a plain multi-word scalar with ': ' inside",
             t00 + "\n  pipeline:\n    preprocess:\n      steps: [{name: a: b, type: t}]\n"),
            ("quoted scalar immediately followed by # (no space)", t00.replace("vendor: nvidia ", 'vendor: "nvidia"#x ')),
            # sequences / indentation
            ("sequence dash alone on its line, mapping on the next",
             t06.replace("      - id: embedder\n", "      -\n        id: embedder\n")),
            ("several spaces after the sequence dash",
             t00 + "\n  pipeline:\n    dependencies:\n      -   id: a\n          role: input\n      -    id: b\n"
                   "           role: custom\n"),
            ("indentless sequence under dependencies", t06.replace("\n      - id:", "\n    - id:").replace(
                "\n        ", "\n      ")),
            ("sequence item less indented than its siblings (invalid)",
             t06.replace("      - id: reranker", "     - id: reranker")),
            ("empty value for labels (null)", lab("  labels:")),
            ("empty value for pipeline (null)", t00 + "\n  pipeline:\n"),
            ("empty flow sequence of dependencies", t00 + "\n  pipeline:\n    dependencies: []\n"),
            ("explicit empty key in labels (? with no key)", lab("  labels:\n    ? \n    : v")),
            ("explicit key with a long (1100 char) name in labels", lab("  labels:\n    ? " + "k" * 1100 + "\n    : v")),
            ("implicit plain key of 1100 chars in labels", lab("  labels:\n    " + "k" * 1100 + ": v")),
            ("implicit double-quoted key of 1100 chars in labels", lab('  labels:\n    "' + "k" * 1100 + '": v')),
            ("implicit plain key of 1000 chars in labels", lab("  labels:\n    " + "k" * 1000 + ": v")),
            ("multi-line double-quoted key", lab('  labels:\n    "a\n    b": v')),
            ("plain value of 200,000 chars", lab("  labels:\n    big: " + "x" * 200000)),
            ("description of ~1 MiB in a block scalar", t08.replace(
                "description: Production chat LLM for customer support",
                "description: |\n" + ("    " + "lorem ipsum dolor sit amet " * 4 + "\n") * 9000)),
            ("3000 aliases of a 1000-char string (3 MB after expansion)", lab(
                "  labels:\n    k0: &v " + "y" * 1000 + "\n" + "".join(f"    k{i}: *v\n" for i in range(1, 3000)))),
            ("labels value nested 200 levels deep", lab("  labels:\n    deep: " + "[" * 200 + "]" * 200)),
            ("labels value nested 3000 levels deep", lab("  labels:\n    deep: " + "[" * 3000 + "]" * 3000)),
            ("labels: nested flow mapping 100 levels deep", lab("  labels: " + "{a: " * 100 + "b" + "}" * 100)),
            ("count is a 1000-digit integer", t00.replace("count: 1 ", "count: " + "9" * 1000 + " ")),
            ("port is a 1000-digit integer", self.examples["02"][1].replace("port: 8000", "port: " + "9" * 1000)),
            ("targetLatencyMsP95 is a 1000-digit integer", self.examples["04"][1].replace(
                "targetLatencyMsP95: 350", "targetLatencyMsP95: " + "9" * 1000)),
            ("minReplicas is a negative 1000-digit integer", self.examples["04"][1].replace(
                "minReplicas: 1", "minReplicas: -" + "9" * 1000)),
            # block scalars
            ("block scalar |+ keep at the very end of the file without newline",
             t00 + "\n  pipeline:\n    preprocess:\n      steps:\n      - name: |+\n          tok\n        type: t"),
            ("block scalar with indentation indicator |1", t00.replace("vendor: nvidia ", "vendor: |1\n        nvidia\n      #")),
            ("block scalar with indentation indicator |0 (invalid)", t00.replace("vendor: nvidia ", "vendor: |0\n        nvidia\n      #")),
            ("block scalar with leading blank lines", t00.replace("vendor: nvidia ", "vendor: >\n\n\n        nvidia\n      #")),
            ("block scalar header followed by a comment", t00.replace("vendor: nvidia ", "vendor: | # the vendor\n        nvidia\n      #")),
            ("empty block scalar for a required string", t00.replace("vendor: nvidia ", "vendor: |\n      #")),
            ("block scalar with CRLF line endings", t08.replace(
                "description: Production chat LLM for customer support",
                "description: |\n    line one\n    line two").replace("\n", "\r\n")),
            ("multi-line double-quoted string with CRLF", t08.replace(
                "description: Production chat LLM for customer support",
                'description: "line one\n    line two"').replace("\n", "\r\n")),
            ("multi-line single-quoted string with blank line", t08.replace(
                "description: Production chat LLM for customer support",
                "description: 'line one\n\n    line two'")),
            ("plain multi-line value with a comment line in between (invalid)", t08.replace(
                "description: Production chat LLM for customer support",
                "description: Production chat\n    # comment\n    LLM")),
            # directives / document markers
            ("BOM then %YAML directive", "\ufeff%YAML 1.1\n---\n" + t00),
            ("two %YAML directives (invalid)", "%YAML 1.1\n%YAML 1.1\n---\n" + t00),
            ("unknown directive %FOO", "%FOO bar baz\n---\n" + t00),
            ("%TAG redefining !! then !!int on a string field", "%TAG !! tag:example.com,2000:\n---\n" +
             t00.replace("vendor: nvidia ", "vendor: !!int x ")),
            ("%TAG !e! = yaml.org then !e!int on count", "%TAG !e! tag:yaml.org,2002:\n---\n" +
             t00.replace("count: 1 ", 'count: !e!int "1" ')),
            ("comment between --- and the content", "--- # start\n# more\n" + t00),
            ("document end marker then comments only", t00 + "\n...\n# bye\n"),
            ("--- inside a block scalar is content", t08.replace(
                "description: Production chat LLM for customer support", "description: |\n    ---\n    text")),
            ("... at column 0 inside a quoted string (invalid)", t08.replace(
                "description: Production chat LLM for customer support", 'description: "a\n...\n  b"')),
            # special characters
            ("raw NUL in a quoted value", t00.replace("vendor: nvidia ", 'vendor: "nv\x00idia" ')),
            ("escaped NUL \\0 in a quoted value", t00.replace("vendor: nvidia ", 'vendor: "nv\\0idia" ')),
            ("lone surrogate escape in labels value", lab('  labels: {a: "\\udc80"}')),
            ("surrogate-pair escapes in labels value", lab('  labels: {a: "\\ud83d\\ude00"}')),
            ("astral character raw in a key", lab("  labels: {\U0001F600: v}")),
            ("private-use character", lab("  labels: {a: \ue000}")),
            ("UTF-16 LE file with BOM", ("\ufeff" + t00).encode("utf-16-le")),
            ("UTF-8 file declared by BOM, with Latin-1 byte in a value",
             ("\ufeff" + t00.replace("nvidia", "nv\udce9dia", 1)).encode("utf-8", "surrogateescape")),
            ("overlong UTF-8 encoding of '/'", t00.encode().replace(b"name: minimal-llm", b"name: a\xc0\xafb")),
        ]
        for desc, text in cases:
            ext = ".json" if "in a .json file" in desc else ".yaml"
            self.add("edge", desc, text, ext=ext)

    def gen_syntax_noise(self, count=600):
        """Random character-level edits of the example texts: inserted, deleted and replaced
        indicators, quotes, brackets, tabs, line breaks, BOMs, line separators. This is where two
        YAML parsers part ways on syntax (PyYAML is YAML 1.1, ours is a YAML 1.2 parser made to
        read like 1.1), so it probes the parser rather than the schema. Variants with duplicate
        keys (which PyYAML silently accepts and we reject on purpose) are left out."""
        pieces = [" ", ":", "-", "\n", '"', "'", "#", "[", "]", "{", "}", ",", "?", "&a ", "*a", "!", "|",
                  ">", "  ", "\t", "~", "%", "@", "`", "\\", ".", "0", "x", "- ", ": ", "? ", "---\n",
                  "...\n", "\r\n", "\u2028", "\ufeff", "\u00e9", "<<: ", "=", "!!str ", "&b ", "*b"]
        texts = [t for (_fn, t, _d) in self.examples.values()]
        made = 0
        while made < count:
            text = self.rng.choice(texts)
            for _ in range(self.rng.randint(1, 5)):
                pos = self.rng.randrange(len(text))
                op = self.rng.random()
                if op < 0.45:
                    text = text[:pos] + self.rng.choice(pieces) + text[pos:]
                elif op < 0.65:
                    text = text[:pos] + text[pos + self.rng.randint(1, 4):]
                else:
                    text = text[:pos] + self.rng.choice(pieces) + text[pos + 1:]
            if has_duplicate_keys(text):
                continue
            self.add("syntax-noise", f"random character edits of an example (#{made})", text)
            made += 1

    def generate(self):
        self.gen_remove_required()
        self.gen_unknown_props()
        self.gen_type_swaps()
        self.gen_numbers()
        self.gen_enums()
        self.gen_valid_variants()
        self.gen_text_tokens()
        self.gen_text_requote()
        self.gen_object_tokens()
        self.gen_text_keys()
        self.gen_documents()
        self.gen_formatting()
        self.gen_anchors()
        self.gen_edges()
        self.gen_syntax_noise()
        return self.variants


def has_duplicate_keys(text):
    """Whether any mapping in the text repeats a scalar key (by its resolved value)."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except Exception:  # noqa: BLE001 - unparsable text has no duplicates to speak of
        return False
    stack = [n for n in nodes if n is not None]
    seen_ids = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_ids:
            continue
        seen_ids.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys = [(k.tag, k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
            if len(keys) != len(set(keys)):
                return True
            stack.extend(v for _, v in node.value)
            stack.extend(k for k, _ in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return False


# --------------------------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------------------------

def build_corpus(gen: Generator, oracle: Oracle, rng: random.Random):
    """Judge, de-duplicate and name the variants. Returns (kept, skipped)."""
    kept, skipped, seen = [], [], set()
    for v in gen.generate():
        h = hashlib.sha256(v.raw + v.ext.encode()).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        v.oracle = oracle.judge(v.raw, v.ext)
        if v.oracle["verdict"] == "skip":
            skipped.append(v)
            continue
        kept.append(v)
    for i, v in enumerate(kept):
        slug = re.sub(r"[^a-z0-9]+", "-", v.family.lower()).strip("-")
        ext = v.ext
        if ext == ".yaml" and rng.random() < 0.1:
            ext = ".yml"
        v.ext = ext
        r = rng.random()
        v.subdir = "" if r < 0.85 else ("nested" if r < 0.95 else os.path.join("nested", "deeper"))
        v.name = f"v{i:04d}-{slug}{ext}"
    return kept, skipped


def write_corpus(root: str, variants):
    os.makedirs(root, exist_ok=True)
    for v in variants:
        d = os.path.join(root, v.subdir)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, v.name), "wb") as f:
            f.write(v.raw)
    # decoys the CLI must NOT walk: a hidden folder and non-spec extensions
    os.makedirs(os.path.join(root, ".hidden"), exist_ok=True)
    with open(os.path.join(root, ".hidden", "decoy-hidden.yaml"), "w") as f:
        f.write("this: is not a modelspec\n")
    with open(os.path.join(root, "nested", "decoy-notes.txt") if os.path.isdir(os.path.join(root, "nested"))
              else os.path.join(root, "decoy-notes.txt"), "w") as f:
        f.write("not: yaml-extension\n")
    with open(os.path.join(root, "decoy.yaml.bak"), "w") as f:
        f.write("not: yaml-extension\n")


# --------------------------------------------------------------------------------------------
# running the CLI and comparing
# --------------------------------------------------------------------------------------------

def run_cli(binary, workdir, corpus_name, timeout=900):
    cmd = [binary, "validate", "--no-lint", "--format", "json", corpus_name]
    p = subprocess.run(cmd, cwd=workdir, capture_output=True, timeout=timeout)
    return cmd, p


def norm_rel(path: str, corpus_name: str, workdir: str) -> str:
    p = path.replace("\\", "/")
    if os.path.isabs(p):
        p = os.path.relpath(p, workdir).replace("\\", "/")
    if p.startswith("./"):
        p = p[2:]
    if p.startswith(corpus_name + "/"):
        p = p[len(corpus_name) + 1:]
    return p


def check_contract(out: dict, rc: int, expect_files: int, any_invalid: bool):
    problems = []
    if not isinstance(out, dict) or "files" not in out or "summary" not in out:
        return ["top-level object lacks 'files' or 'summary'"]
    files, summary = out["files"], out["summary"]
    if not isinstance(files, list):
        return ["'files' is not a list"]
    exp_rc = 1 if any(not e.get("valid") for e in files) else 0
    if rc != exp_rc:
        problems.append(f"exit status {rc}, expected {exp_rc} for this output")
    paths = {e.get("path") for e in files}
    want = {"files": len(paths), "documents": len(files),
            "valid": sum(1 for e in files if e.get("valid") is True),
            "invalid": sum(1 for e in files if e.get("valid") is False),
            "errors": sum(len(e.get("errors") or []) for e in files),
            "warnings": sum(len(e.get("warnings") or []) for e in files)}
    for k, v in want.items():
        if summary.get(k) != v:
            problems.append(f"summary.{k} = {summary.get(k)!r}, but the files list gives {v}")
    if len(paths) != expect_files:
        problems.append(f"{len(paths)} distinct paths reported, {expect_files} spec files in the corpus")
    bad_shape = 0
    for e in files:
        ok = (isinstance(e.get("path"), str) and isinstance(e.get("document"), int) and e["document"] >= 1
              and isinstance(e.get("valid"), bool) and isinstance(e.get("errors"), list)
              and isinstance(e.get("warnings"), list))
        if ok:
            ok = (e["valid"] == (len(e["errors"]) == 0))
        for err in (e.get("errors") or []) + (e.get("warnings") or []):
            if not (isinstance(err, dict) and isinstance(err.get("code"), str) and err["code"]
                    and isinstance(err.get("pointer"), str) and (err["pointer"] == "" or err["pointer"].startswith("/"))
                    and isinstance(err.get("message"), str)
                    and (err.get("line") is None or isinstance(err.get("line"), int))
                    and (err.get("column") is None or isinstance(err.get("column"), int))):
                ok = False
        if not ok:
            bad_shape += 1
            if bad_shape <= 5:
                problems.append(f"malformed entry (or valid != no-errors): {json.dumps(e)[:400]}")
    if bad_shape > 5:
        problems.append(f"... {bad_shape} malformed entries in all")
    if any(e.get("warnings") for e in files):
        n = sum(1 for e in files if e.get("warnings"))
        problems.append(f"{n} entries carry warnings although --no-lint was given")
    return problems


def show_text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
    special = any(c in text for c in "\r\t\ufeff\x00\x07\x85\u2028") or "\\x" in text and raw != text.encode()
    lines = text.split("\n")
    out = []
    for i, l in enumerate(lines, 1):
        shown = ascii(l)[1:-1] if special or any(ord(c) < 32 and c != "\n" for c in l) else l
        out.append(f"    {i:4d} | {shown}")
    if special:
        out.insert(0, "    (special characters shown escaped: \\r CR, \\t TAB, \\ufeff BOM, ...)")
    if not text:
        out = ["    (empty file)"]
    return "\n".join(out)


def related(p, q) -> bool:
    return p == q or p.startswith(q + "/") or q.startswith(p + "/") or p == "" or q == ""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Exit status: 0 all agree, 1 disagreement, 2 harness error, 77 skipped.")
    ap.add_argument("--bin", default=os.environ.get("MODELSPEC_BIN") or DEFAULT_BIN,
                    help="modelspec binary (default: $MODELSPEC_BIN or target/release/modelspec)")
    ap.add_argument("--reference", default=DEFAULT_REFERENCE,
                    help="published standard directory (default: ../shared/reference/modelspec-v0.1)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    ap.add_argument("--keep", metavar="DIR", help="write the corpus to DIR/corpus (+ DIR/manifest.json) and keep it")
    ap.add_argument("--oracle-only", action="store_true",
                    help="only generate and judge the corpus (self-check; no binary needed)")
    ap.add_argument("--list", action="store_true", help="list every variant with its oracle verdict")
    ap.add_argument("--vllm-rule", action="store_true",
                    help="also apply the standard's vllm rule in the oracle (off: schema only)")
    ap.add_argument("--json-loader", choices=["json", "yaml"], default="json",
                    help="how the oracle loads *.json files: json.loads, as the standard's validate.py does "
                         "(default), or yaml.safe_load like every other file")
    ap.add_argument("--pointers", action="store_true",
                    help="also list files where no error pointer of ours relates to the oracle's (informational)")
    ap.add_argument("--max-text-lines", type=int, default=400,
                    help="longest YAML text printed for a disagreement (default 400 lines)")
    args = ap.parse_args(argv)

    if _IMPORT_ERROR is not None:
        skip(f"PyYAML and jsonschema are required ({_IMPORT_ERROR})")
    ref = os.path.abspath(args.reference)
    if not (os.path.isfile(os.path.join(ref, "modelspec.v0.1.json")) and os.path.isdir(os.path.join(ref, "examples"))):
        skip(f"reference standard not found at {ref} (use --reference DIR)")

    binary = os.path.abspath(args.bin)
    if not args.oracle_only and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"compat: harness error: modelspec binary not found or not executable: {binary} "
              f"(build it, or pass --bin / set MODELSPEC_BIN; --oracle-only needs no binary)", file=sys.stderr)
        return EXIT_HARNESS

    gen = Generator(ref, args.seed)
    oracle = Oracle(gen.schema, vllm_rule=args.vllm_rule, json_loader=args.json_loader)
    # sanity: the published examples and the kitchen-sink base must be valid under the oracle
    base_problems = []
    for key, (fn, text, _d) in gen.examples.items():
        if oracle.judge(text.encode())["verdict"] != "valid":
            base_problems.append(f"published example {fn} is not valid under the oracle")
    kj = oracle.judge(dump(gen.kitchen).encode())
    if kj["verdict"] != "valid":
        base_problems.append(f"internal kitchen-sink base is invalid: {kj['errors']}")
    if base_problems:
        print("compat: harness error:\n  " + "\n  ".join(base_problems), file=sys.stderr)
        return EXIT_HARNESS

    variants, skipped = build_corpus(gen, oracle, random.Random(args.seed + 1))
    n_invalid = sum(1 for v in variants if v.oracle["verdict"] == "invalid")
    fams = {}
    for v in variants:
        f = fams.setdefault(v.family, [0, 0])
        f[0 if v.oracle["verdict"] == "valid" else 1] += 1
    print(f"compat: generated {len(variants)} variants ({len(variants) - n_invalid} valid, {n_invalid} invalid "
          f"under the oracle; {len(skipped)} skipped), seed {args.seed}")
    print("compat: families: " + ", ".join(f"{k} {a}+{b}" for k, (a, b) in fams.items()) + "  (valid+invalid)")
    vnotes = [v for v in variants if v.oracle.get("note")]
    if vnotes:
        print(f"compat: note: {len(vnotes)} schema-valid variants would be rejected by the standard's vllm rule")
    if args.list:
        for v in variants:
            print(f"  {v.oracle['verdict']:7s} {os.path.join(v.subdir, v.name)}  [{v.family}] {v.desc}")
        for v in skipped:
            print(f"  skip    -  [{v.family}] {v.desc}  ({v.oracle['note']})")

    if args.oracle_only:
        frac = n_invalid / max(1, len(variants))
        ok = len(variants) >= 300 and 0.30 <= frac <= 0.70
        for v in variants:
            if v.expect and v.expect != v.oracle["verdict"]:
                ok = False
                print(f"compat: self-check: {v.name} [{v.family}] {v.desc}: expected {v.expect}, "
                      f"oracle says {v.oracle['verdict']} {v.oracle['errors'][:2]}")
        print(f"compat: oracle-only self-check: {len(variants)} variants (>= 300 required), invalid fraction "
              f"{frac:.2f} (0.30-0.70 required): {'OK' if ok else 'FAIL'}")
        if args.keep:
            _write_keep(args.keep, variants)
        return EXIT_OK if ok else EXIT_DISAGREE

    tmp = None
    if args.keep:
        workdir = os.path.abspath(args.keep)
        if os.path.exists(os.path.join(workdir, "corpus")):
            shutil.rmtree(os.path.join(workdir, "corpus"))
        os.makedirs(workdir, exist_ok=True)
    else:
        tmp = workdir = tempfile.mkdtemp(prefix="modelspec-compat-")
    try:
        corpus = os.path.join(workdir, "corpus")
        write_corpus(corpus, variants)
        if args.keep:
            _write_keep(workdir, variants, corpus_written=True)
        return compare(binary, workdir, variants, args)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _write_keep(workdir, variants, corpus_written=False):
    workdir = os.path.abspath(workdir)
    if not corpus_written:
        write_corpus(os.path.join(workdir, "corpus"), variants)
    manifest = [{"file": os.path.join(v.subdir, v.name).replace("\\", "/"), "family": v.family, "mutation": v.desc,
                 "oracle": v.oracle["verdict"], "oracle_errors": [list(e) for e in v.oracle["errors"]]}
                for v in variants]
    with open(os.path.join(workdir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(f"compat: corpus kept in {os.path.join(workdir, 'corpus')} (manifest: {os.path.join(workdir, 'manifest.json')})")


def per_file_fallback(binary, workdir, variants):
    """Run the CLI once per file; return (merged output, {name: failure}) or (None, {}) if nothing works."""
    files, crashed, odd = [], {}, {}
    for v in variants:
        rel = os.path.join("corpus", v.subdir, v.name)
        try:
            p = subprocess.run([binary, "validate", "--no-lint", "--format", "json", rel], cwd=workdir,
                               capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            crashed[v.name] = f"{type(exc).__name__}: {exc}"
            continue
        try:
            o = json.loads(p.stdout.decode("utf-8"))
            files += o["files"]
            if p.returncode not in (0, 1):
                odd[v.name] = p.returncode
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            err = " ".join(p.stderr.decode("utf-8", "replace").split())[:300]
            crashed[v.name] = f"exit {p.returncode}, no JSON; stderr: {err}"
    if len(crashed) == len(variants):
        print("compat: harness error: the CLI failed on every single file; first failure: "
              + next(iter(crashed.values()), ""), file=sys.stderr)
        return None, {}, {}
    return {"files": files, "summary": {}}, crashed, odd


def compare(binary, workdir, variants, args):
    try:
        cmd, p = run_cli(binary, workdir, "corpus")
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"compat: harness error: could not run {binary}: {exc}", file=sys.stderr)
        return EXIT_HARNESS
    stderr = p.stderr.decode("utf-8", "replace")
    index = {os.path.join(v.subdir, v.name).replace("\\", "/"): v for v in variants}
    base_index = {v.name: v for v in variants}
    crashed = {}  # variant name -> description of a per-file failure (fallback mode only)
    odd = {}  # variant name -> exit status other than 0/1 although JSON was printed (fallback mode only)
    try:
        out = json.loads(p.stdout.decode("utf-8"))
        if not isinstance(out, dict):
            raise ValueError("not a JSON object")
    except (UnicodeDecodeError, ValueError) as exc:
        print(f"compat: `{' '.join(cmd)}` (in {workdir}) exited {p.returncode} without a JSON object on stdout "
              f"({exc}).\n--- stdout (first 2000 chars):\n{p.stdout[:2000].decode('utf-8', 'replace')}\n"
              f"--- stderr (first 4000 chars):\n{stderr[:4000]}\n"
              f"compat: falling back to one process per file to find the culprit(s) ...", file=sys.stderr)
        out, crashed, odd = per_file_fallback(binary, workdir, variants)
        if out is None:
            return EXIT_HARNESS

    by_file = {}
    unknown_paths = []
    for e in out.get("files", []) if isinstance(out, dict) else []:
        rel = norm_rel(str(e.get("path", "")), "corpus", workdir)
        v = index.get(rel) or base_index.get(os.path.basename(rel))
        if v is None:
            unknown_paths.append(rel)
            continue
        by_file.setdefault(v.name, []).append(e)

    if crashed or odd or out.get("summary") == {}:
        contract = [f"the single run over the directory failed (exit {p.returncode}, no JSON); per-file fallback: "
                    f"{len(crashed)} file(s) made the CLI fail without JSON output (listed as disagreements)"]
        if odd:
            contract.append(f"{len(odd)} file(s) gave JSON but exit status not 0/1: "
                            + ", ".join(f"{n} (exit {rc})" for n, rc in list(odd.items())[:20]))
    else:
        contract = check_contract(out, p.returncode, len(variants),
                                  any(v.oracle["verdict"] == "invalid" for v in variants))
    if unknown_paths:
        contract.append(f"{len(unknown_paths)} reported paths are not corpus files (decoys walked?): "
                        + ", ".join(unknown_paths[:10]))
    # A file the oracle could load is one document, so it must be one entry. A file that fails
    # to parse may be reported as the documents before the error plus the error itself.
    def failed_to_load(v):
        return any(str(m).startswith("load: ") for _p, m in v.oracle.get("errors", []))
    loaded = {v.name for v in variants if not failed_to_load(v)}
    multi = [n for n, es in by_file.items() if len(es) != 1 and n in loaded]
    if multi:
        contract.append(f"{len(multi)} single-document files got {'/'.join(str(len(by_file[n])) for n in multi[:5])}"
                        f" entries: {', '.join(multi[:5])}")

    agree, disagree, pointer_gaps = 0, [], []
    for v in variants:
        entries = by_file.get(v.name, [])
        ours = None if not entries else ("valid" if all(e.get("valid") is True for e in entries) else "invalid")
        if v.name in crashed:
            ours = "CLI FAILED: " + crashed[v.name]
        if ours == v.oracle["verdict"]:
            agree += 1
            if ours == "invalid" and args.pointers and v.oracle.get("pointers"):
                ptrs = [err.get("pointer", "") for e in entries for err in e.get("errors", [])]
                if not any(related(a, b) for a in ptrs for b in v.oracle["pointers"]):
                    pointer_gaps.append((v, ptrs))
        else:
            disagree.append((v, ours, entries))

    print(f"compat: ran `{' '.join(cmd)}` in {workdir}: exit {p.returncode}")
    if stderr.strip():
        print("compat: CLI stderr (first 20 lines):\n  " + "\n  ".join(stderr.strip().splitlines()[:20]))
    by_fam = {}
    for v, ours, _ in disagree:
        by_fam[v.family] = by_fam.get(v.family, 0) + 1
    for i, (v, ours, entries) in enumerate(disagree, 1):
        print()
        print(f"=== DISAGREEMENT {i}/{len(disagree)}: {os.path.join(v.subdir, v.name)}")
        print(f"  mutation : [{v.family}] {v.desc}")
        loader = "json.loads" if v.ext == ".json" and args.json_loader == "json" else "yaml.safe_load"
        print(f"  python-reference ({loader} + Draft202012Validator): {v.oracle['verdict'].upper()}")
        for ptr, msg in v.oracle["errors"][:12]:
            print(f"      {ptr or '<root>'}: {msg}")
        if v.oracle.get("note"):
            print(f"      note: {v.oracle['note']}")
        print(f"  modelspec: {ours.upper() if ours in ('valid', 'invalid') else (ours or 'NO ENTRY IN OUTPUT')}")
        for e in entries:
            for err in e.get("errors", [])[:12]:
                print(f"      [{err.get('code')}] {err.get('pointer') or '<root>'} "
                      f"(line {err.get('line')}, col {err.get('column')}): {err.get('message')}")
        print("  text:")
        txt = show_text(v.raw).split("\n")
        if len(txt) > args.max_text_lines:
            txt = txt[:args.max_text_lines] + [f"    ... ({len(txt) - args.max_text_lines} more lines)"]
        print("\n".join(txt))
    if pointer_gaps:
        print(f"\ncompat: info: {len(pointer_gaps)} invalid files where none of our error pointers relates to the "
              f"oracle's (not a failure):")
        for v, ptrs in pointer_gaps:
            print(f"  {v.name}: [{v.family}] {v.desc}\n      ours {ptrs[:5]}  oracle {v.oracle['pointers'][:5]}")
    if contract:
        print("\ncompat: output-contract problems:")
        for c in contract:
            print(f"  - {c}")
    print()
    if by_fam:
        print("compat: disagreements by family: " + ", ".join(f"{k} {n}" for k, n in sorted(by_fam.items())))
    print(f"compat: {len(variants)} variants, {agree} agree, {len(disagree)} disagree"
          + (f", {len(contract)} output-contract problem(s)" if contract else ""))
    return EXIT_DISAGREE if disagree or contract else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
