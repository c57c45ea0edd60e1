#!/usr/bin/env python3
"""Benchmark: `modelspec validate` over a directory of ModelSpec files versus the Python reference.

This is a benchmark, not a test: it never fails on timings. See bench/README.md.

1. Generates N (default 10,000) ModelSpec files into a temporary directory (or --dir DIR, reused when
   it already holds spec files; --regen forces regeneration): variants of the nine published examples
   (../shared/reference/modelspec-v0.1/examples), mostly valid, about 5% invalid. Deterministic (--seed).
2. Measures, in the same run, on the same files:
   * ours:              `modelspec validate --format json DIR > /dev/null`, one process over the directory;
                        best and median of --runs (default 5), after one untimed warm-up run;
   * python-reference:  `python3 bench/baseline_validate.py DIR > /dev/null`, i.e. what the standard's
                        validator does per file (yaml.safe_load + Draft202012Validator.iter_errors
                        collected into a list + the vllm rule), one process, validator compiled once;
                        best and median of --baseline-runs (default 3);
   * python-reference (CSafeLoader): the same with libyaml's CSafeLoader -- an extra row, not what the
                        standard does (--no-csafe drops it);
   * process spawn:     `modelspec --version`, `python3 -c pass`, `/bin/true`, each --spawn-runs times
                        (default 200): mean and p95 in ms.
3. Prints a Markdown block (machine info + tables, ratio = python-reference / ours) to paste into
   BENCHMARKS.md.

    python3 bench/validate_bench.py [--bin PATH] [--files N] [--dir DIR] [--runs 5] [--baseline-runs 3]

The binary is --bin, else $MODELSPEC_BIN, else target/release/modelspec.
Exit: 0 done, 2 harness error (binary missing, a command failed), 77 skipped (PyYAML / jsonschema not
importable, or the reference standard is absent; --reference DIR overrides its location).
"""

import argparse
import copy
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, ".."))
DEFAULT_REFERENCE = os.path.join(REPO_ROOT, "..", "shared", "reference", "modelspec-v0.1")
DEFAULT_BIN = os.path.join(REPO_ROOT, "target", "release", "modelspec")
BASELINE = os.path.join(HERE, "baseline_validate.py")

try:
    import yaml
    import jsonschema  # noqa: F401 - the baseline needs it
except ImportError as exc:  # pragma: no cover
    print(f"validate_bench: SKIP: PyYAML and jsonschema are required ({exc})", file=sys.stderr)
    sys.exit(77)


# ----------------------------------------------------------------------------------------- corpus

def load_examples(reference):
    exdir = os.path.join(reference, "examples")
    out = []
    for fn in sorted(os.listdir(exdir)):
        if fn.endswith((".yaml", ".yml")):
            with open(os.path.join(exdir, fn), encoding="utf-8") as f:
                text = f.read()
            out.append((fn, text, yaml.safe_load(text)))
    return out


GPU_TYPES = ["a10", "a100-80gb", "h100", "l40s", "h200", "l4", "a100-40gb"]


def valid_variant(rng, i, fn, text, data):
    """A valid variant: either the original text with a new name, or mutated data dumped."""
    name = f"{data['metadata']['name']}-{i:05d}"
    if rng.random() < 0.5:
        old = f"name: {data['metadata']['name']}"
        return text.replace(old, f"name: {name}", 1)
    d = copy.deepcopy(data)
    d["metadata"]["name"] = name
    acc = d["spec"]["runtime"]["accelerator"]
    acc["count"] = rng.choice([1, 1, 2, 4, 8])
    acc["type"] = rng.choice(GPU_TYPES)
    labels = d["metadata"].setdefault("labels", {})
    labels["shard"] = str(i % 97)
    labels["team"] = rng.choice(["search", "ads", "ml-platform", "support"])
    if "operations" in d and "serving" in d["spec"].get("operations", {}):
        d["spec"]["operations"]["serving"]["port"] = rng.choice([8000, 8080, 9000])
    if rng.random() < 0.3:
        d["spec"]["runtime"]["resources"] = {"cpuCores": rng.choice([4, 8, 16]), "memoryGb": rng.choice([32, 64.5, 128])}
    if rng.random() < 0.2:
        d["metadata"]["description"] = "Generated variant %d of %s for benchmarking" % (i, fn)
    return yaml.safe_dump(d, sort_keys=False)


def invalid_variant(rng, i, fn, text, data):
    d = copy.deepcopy(data)
    d["metadata"]["name"] = f"{data['metadata']['name']}-bad-{i:05d}"
    kind = rng.randrange(6)
    if kind == 0:
        del d["spec"]["runtime"]["accelerator"]["count"]
    elif kind == 1:
        d["spec"]["runtime"]["accelerator"]["count"] = "four"
    elif kind == 2:
        d["spec"]["identity"]["model"]["unknownField"] = True
    elif kind == 3:
        d["apiVersion"] = "piqc.ai/v1alpha2"
    elif kind == 4:
        d["spec"]["operations"] = {"serving": {"protocol": "HTTP", "port": 70000}}
    else:
        d["spec"]["identity"]["model"]["framework"] = "vllm"  # vllm rule: needs batch.maxSequenceLengthTokens
        d["spec"]["runtime"].pop("batch", None)
    return yaml.safe_dump(d, sort_keys=False)


def generate(dirpath, n, reference, seed, invalid_rate=0.05):
    rng = random.Random(seed)
    examples = load_examples(reference)
    os.makedirs(dirpath, exist_ok=True)
    n_invalid = 0
    for i in range(n):
        fn, text, data = examples[i % len(examples)]
        sub = os.path.join(dirpath, f"team-{i % 20:02d}")
        os.makedirs(sub, exist_ok=True)
        if rng.random() < invalid_rate:
            body, n_invalid = invalid_variant(rng, i, fn, text, data), n_invalid + 1
        else:
            body = valid_variant(rng, i, fn, text, data)
        ext = ".yml" if i % 10 == 9 else ".yaml"
        with open(os.path.join(sub, f"spec-{i:05d}{ext}"), "w", encoding="utf-8") as f:
            f.write(body)
    return n_invalid


def count_specs(dirpath):
    n, size = 0, 0
    for root, dirs, files in os.walk(dirpath):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f.endswith((".yaml", ".yml", ".json")):
                n += 1
                size += os.path.getsize(os.path.join(root, f))
    return n, size


# ----------------------------------------------------------------------------------------- timing

def timed(cmd, expect_rc=(0, 1), cwd=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    dt = time.perf_counter() - t0
    if p.returncode not in expect_rc:
        raise RuntimeError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.decode('utf-8', 'replace')[:2000]}")
    return dt


def repeat(cmd, runs, warmup=1, expect_rc=(0, 1)):
    for _ in range(warmup):
        timed(cmd, expect_rc)
    return [timed(cmd, expect_rc) for _ in range(runs)]


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs))) - 1))]


def summary_of(cmd):
    p = subprocess.run(cmd, capture_output=True)
    try:
        return json.loads(p.stdout)["summary"]
    except (ValueError, KeyError, TypeError):
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def fmt_s(x):
    return f"{x:.3f} s" if x < 10 else f"{x:.2f} s"


def main(argv=None):
    ap = argparse.ArgumentParser(description="modelspec validate vs python-reference benchmark",
                                 epilog="Exit: 0 done, 2 harness error, 77 skipped.")
    ap.add_argument("--bin", default=os.environ.get("MODELSPEC_BIN") or DEFAULT_BIN)
    ap.add_argument("--reference", default=DEFAULT_REFERENCE)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--dir", help="corpus directory (created, or reused if it already holds spec files)")
    ap.add_argument("--regen", action="store_true", help="regenerate --dir even if it holds spec files")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=5, help="timed runs of ours (default 5)")
    ap.add_argument("--baseline-runs", type=int, default=3, help="timed runs of python-reference (default 3; 0 skips)")
    ap.add_argument("--no-csafe", action="store_true", help="skip the extra CSafeLoader row")
    ap.add_argument("--spawn-runs", type=int, default=200, help="runs of each spawn-cost command (default 200)")
    args = ap.parse_args(argv)

    ref = os.path.abspath(args.reference)
    if not os.path.isdir(os.path.join(ref, "examples")):
        print(f"validate_bench: SKIP: reference standard not found at {ref} (use --reference DIR)", file=sys.stderr)
        return 77
    binary = os.path.abspath(args.bin)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"validate_bench: modelspec binary not found: {binary} (build it, or --bin / MODELSPEC_BIN)",
              file=sys.stderr)
        return 2
    schema = os.path.join(ref, "modelspec.v0.1.json")

    tmp = None
    if args.dir:
        corpus = os.path.abspath(args.dir)
        have, _ = count_specs(corpus) if os.path.isdir(corpus) else (0, 0)
        if args.regen and os.path.isdir(corpus):
            shutil.rmtree(corpus)
            have = 0
        if have == 0:
            print(f"validate_bench: generating {args.files} files into {corpus} ...", file=sys.stderr)
            generate(corpus, args.files, ref, args.seed)
        else:
            print(f"validate_bench: reusing {have} files in {corpus}", file=sys.stderr)
    else:
        tmp = tempfile.mkdtemp(prefix="modelspec-bench-")
        corpus = os.path.join(tmp, "specs")
        print(f"validate_bench: generating {args.files} files into {corpus} ...", file=sys.stderr)
        generate(corpus, args.files, ref, args.seed)
    try:
        return run(args, binary, schema, corpus)
    except RuntimeError as exc:
        print(f"validate_bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, binary, schema, corpus):
    n_files, n_bytes = count_specs(corpus)
    py = sys.executable
    ours_cmd = [binary, "validate", "--format", "json", corpus]
    base_cmd = [py, BASELINE, "--schema", schema, corpus]
    csafe_cmd = [py, BASELINE, "--schema", schema, "--loader", "csafe", corpus]

    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip() or "?"
    ours_sum = summary_of(ours_cmd)
    base_sum = summary_of(base_cmd) if args.baseline_runs > 0 else None

    print(f"validate_bench: timing ours ({args.runs} runs + 1 warm-up) ...", file=sys.stderr)
    ours = repeat(ours_cmd, args.runs)
    rows = [("ours", "`modelspec validate --format json DIR`", ours)]
    if args.baseline_runs > 0:
        print(f"validate_bench: timing python-reference ({args.baseline_runs} runs) ...", file=sys.stderr)
        rows.append(("python-reference", "`python3 bench/baseline_validate.py DIR` (yaml.safe_load)",
                     repeat(base_cmd, args.baseline_runs, warmup=0)))
        if not args.no_csafe:
            print(f"validate_bench: timing python-reference with CSafeLoader ({args.baseline_runs} runs) ...",
                  file=sys.stderr)
            rows.append(("python-reference (CSafeLoader)", "`... baseline_validate.py --loader csafe DIR` (extra)",
                         repeat(csafe_cmd, args.baseline_runs, warmup=0)))

    print(f"validate_bench: timing process spawn ({args.spawn_runs} runs each) ...", file=sys.stderr)
    spawn = []
    for label, cmd in [("`modelspec --version`", [binary, "--version"]),
                       ("`python3 -c pass`", [py, "-c", "pass"]),
                       ("`/bin/true`", ["/bin/true"])]:
        xs = repeat(cmd, args.spawn_runs, warmup=3, expect_rc=(0,))
        spawn.append((label, [x * 1000 for x in xs]))

    ours_best = min(ours)
    out = []
    out.append(f"### `modelspec validate`: {n_files} files ({n_bytes / 1e6:.1f} MB)")
    out.append("")
    out.append(f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}")
    out.append(f"- machine: {nproc()} CPUs available (nproc), {cpu_model()}; {platform.system()} "
               f"{platform.release()}")
    out.append(f"- modelspec: {version} ({binary})")
    out.append(f"- python-reference: Python {platform.python_version()}, PyYAML {yaml.__version__} "
               f"(libyaml {'available' if getattr(yaml, '__with_libyaml__', False) else 'absent'}), "
               f"jsonschema {_version('jsonschema')}")
    if ours_sum:
        out.append(f"- ours reported: {ours_sum.get('valid')} valid / {ours_sum.get('invalid')} invalid documents, "
                   f"{ours_sum.get('errors')} errors, {ours_sum.get('warnings')} warnings")
    if base_sum:
        out.append(f"- python-reference reported: {base_sum.get('valid')} valid / {base_sum.get('invalid')} invalid")
        if ours_sum and (ours_sum.get("valid"), ours_sum.get("invalid")) != (base_sum.get("valid"),
                                                                            base_sum.get("invalid")):
            out.append("- **note: the two validators disagree on the valid/invalid counts**")
    out.append("")
    out.append("| validator | command | runs | best | median | ratio (python-reference / ours, best) |")
    out.append("|---|---|---:|---:|---:|---:|")
    for label, cmd, xs in rows:
        ratio = f"{min(xs) / ours_best:.1f}x" if label != "ours" else "1.0x"
        out.append(f"| {label} | {cmd} | {len(xs)} | {fmt_s(min(xs))} | {fmt_s(statistics.median(xs))} | {ratio} |")
    out.append("")
    out.append("| process spawn | runs | mean | p95 |")
    out.append("|---|---:|---:|---:|")
    for label, xs in spawn:
        out.append(f"| {label} | {len(xs)} | {statistics.fmean(xs):.2f} ms | {p95(xs):.2f} ms |")
    out.append("")
    out.append(f"Per file (best run): ours {ours_best / max(1, n_files) * 1e6:.0f} us"
               + (f", python-reference {min(rows[1][2]) / max(1, n_files) * 1e6:.0f} us" if len(rows) > 1 else "")
               + ". Wall-clock times of whole processes (spawn, directory walk, parse, validate, JSON output to "
                 "/dev/null); ours after one untimed warm-up run, files in the page cache for every run.")
    print("\n".join(out))
    return 0


def _version(mod):
    try:
        from importlib.metadata import version
        return version(mod)
    except Exception:  # noqa: BLE001
        return "?"


if __name__ == "__main__":
    sys.exit(main())
