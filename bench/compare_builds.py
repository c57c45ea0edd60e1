#!/usr/bin/env python3
"""Two builds of modelspec on the same cases, interleaved in one run: the way to show that a
refactor costs nothing (or what it costs), which the summary's comparison with the last run
cannot do on a VM whose speed moves between runs.

    python3 bench/compare_builds.py OLD_BINARY [NEW_BINARY] [--runs 15]

NEW_BINARY defaults to target/release/modelspec. Cases: `validate` over 1,000 generated specs,
and `scan` of 4 specs on the 8-GPU fake node, live and replayed (bench/run.py's scan case).
Each case runs old, new, old, new, ... so drift in the machine's speed falls on both alike.
Prints the medians and new/old for each case.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))

import fixture_server  # noqa: E402
import run  # noqa: E402  (the scan case's spec, the fake library's path)
import validate_bench  # noqa: E402


def once(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.decode(errors='replace')[:300]}")
    return time.perf_counter() - t


def interleaved(old, new, runs, env=None):
    once(old, env), once(new, env)
    a, b = [], []
    for _ in range(runs):
        a.append(once(old, env))
        b.append(once(new, env))
    return statistics.median(a), statistics.median(b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new", nargs="?", default=run.BIN)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "specs")
        validate_bench.generate(corpus, 1000, validate_bench.DEFAULT_REFERENCE, 7)
        rows.append(("validate 1,000 specs", *interleaved(
            [a.old, "validate", "--format", "json", corpus], [a.new, "validate", "--format", "json", corpus], a.runs)))
        env = dict(os.environ, FAKE_NVML_PROFILE=os.path.join(run.ROOT, "fixtures", "gpus", "h100-sxm-x8.json"),
                   NO_COLOR="1")
        env.pop("MODELSPEC_NVML_LIB", None)
        answers = fixture_server.answers(
            os.path.join(run.ROOT, "fixtures", "engines", "vllm-0.32", "default", "endpoints"))
        servers = [fixture_server.serve(answers) for _ in range(4)]
        try:
            specs = []
            for i, port in enumerate(s.server_address[1] for s in servers):
                path = os.path.join(tmp, f"spec-{i}.yaml")
                with open(path, "w") as f:
                    f.write(run.SPEC.format(name=f"service-{i}", model=f"org/model-{i}", port=port))
                specs.append(path)
            obs = os.path.join(tmp, "node.json")
            ports = [x for s in servers for x in ("--port", str(s.server_address[1]))]
            subprocess.run([a.new, "facts", "--nvml-lib", run.LIB, "-o", obs, *ports], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            live = ["scan", *specs, "--nvml-lib", run.LIB, "--format", "json", "--timeout", "5s"]
            replay = ["scan", *specs, "--facts", obs, "--format", "json"]
            rows.append(("scan 4 specs, 8 GPUs, live", *interleaved([a.old, *live], [a.new, *live], a.runs, env)))
            rows.append(("scan 4 specs, 8 GPUs, replay", *interleaved([a.old, *replay], [a.new, *replay], a.runs, env)))
        finally:
            for s in servers:
                s.shutdown()
    print("| case | old | new | new / old |")
    print("|---|---:|---:|---:|")
    for name, old_s, new_s in rows:
        print(f"| {name} | {old_s * 1000:.1f} ms | {new_s * 1000:.1f} ms | {new_s / old_s:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
