#!/usr/bin/env python3
"""Benchmark: `modelspec scan` on an 8-GPU node, replayed and live (fake NVML), with baselines.

Measures in one run, each command --runs times (default 100), mean and p95 wall time:
  * replay:  `modelspec scan SPEC --facts OBS --format json`   (an 8x H100 observation)
  * live:    `modelspec scan SPEC --nvml-lib <fake> --format json` with fixtures/gpus/h100-sxm-x8.json
  * baselines: `modelspec --version` (our start-up) and `/bin/true` (process spawn)
and the peak RSS of one replayed and one live scan (GNU time's %M). Prints Markdown for
BENCHMARKS.md. Targets from issue 3: replay < 20 ms, live < 50 ms, peak RSS < 20 MB.

    cargo build --release -p modelspec -p fake-nvml
    python3 bench/scan_bench.py [--bin target/release/modelspec] [--runs 100]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SPEC = """apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: llama-70b
spec:
  identity:
    model: {id: meta-llama/Llama-3.3-70B-Instruct, family: llama, task: chat-completion, framework: vllm, precision: fp8}
  runtime:
    accelerator: {vendor: nvidia, type: h100, count: 8}
    batch: {maxSequenceLengthTokens: 8192}
"""


def timed(cmd, env, runs):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.mean(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def peak_rss_kb(cmd, env):
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=False)
    return int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "modelspec"))
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libnvidia_ml.so"))
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    for path in (a.bin, a.lib):
        if not os.path.exists(path):
            print(f"scan_bench: {path} is missing; run `cargo build --release -p modelspec -p fake-nvml`", file=sys.stderr)
            return 2
    env = dict(os.environ, FAKE_NVML_PROFILE=os.path.join(ROOT, "fixtures", "gpus", "h100-sxm-x8.json"), NO_COLOR="1")
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "spec.yaml")
        obs = os.path.join(tmp, "obs.json")
        with open(spec, "w") as f:
            f.write(SPEC)
        subprocess.run([a.bin, "facts", "--nvml-lib", a.lib, "-o", obs], env=env, stdout=subprocess.DEVNULL, check=True)
        with open(obs) as f:
            devices = len(json.load(f)["gpu"]["snapshot"]["nvml"]["devices"])
        replay = [a.bin, "scan", spec, "--facts", obs, "--format", "json"]
        live = [a.bin, "scan", spec, "--nvml-lib", a.lib, "--format", "json"]
        rows = [
            ("replayed scan (%d GPUs)" % devices, replay),
            ("live scan, fake NVML (%d GPUs)" % devices, live),
            ("`modelspec --version`", [a.bin, "--version"]),
            ("`/bin/true`", ["/bin/true"]),
        ]
        print(f"### `modelspec scan`: {a.runs} runs each, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} CPUs\n")
        print("| command | mean | p95 |\n|---|---:|---:|")
        for name, cmd in rows:
            mean, p95 = timed(cmd, env, a.runs)
            print(f"| {name} | {mean:.2f} ms | {p95:.2f} ms |")
        print("\n| command | peak RSS |\n|---|---:|")
        for name, cmd in rows[:2]:
            print(f"| {name} | {peak_rss_kb(cmd, env) / 1024:.1f} MiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
