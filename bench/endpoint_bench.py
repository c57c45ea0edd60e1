#!/usr/bin/env python3
"""Benchmark: a full `modelspec scan` of a loopback vLLM node (issue 5 target: under 100 ms).

Serves the real vLLM 0.32 captures (fixtures/engines/vllm-0.32/default/endpoints) from a
threaded loopback HTTP server in this process, points the fake NVML at an 8-GPU H100 profile,
and times in the same run:
- the full scan (GPU probe, host probe with port discovery, every engine endpoint, all checks);
- the same spec without a serving port (no endpoint or process discovery): the baseline;
- `modelspec --version` and `/bin/true`.

    cargo build --release -p modelspec -p fake-nvml && python3 bench/endpoint_bench.py [--runs 50]
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
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixture_server  # noqa: E402
FIXTURE = os.path.join(ROOT, "fixtures", "engines", "vllm-0.32", "default", "endpoints")

SPEC = """apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata: {{name: bench}}
spec:
  identity:
    model: {{id: tiny-llama, family: llama, task: text-generation, framework: vllm, precision: bf16}}
  runtime:
    accelerator: {{vendor: nvidia, type: h100-sxm, count: 8}}
    batch: {{maxBatchSize: 256, maxSequenceLengthTokens: 1024}}
{serving}"""

SERVING = """  operations:
    serving:
      protocol: http
      port: {port}
      readinessProbe: {{path: /health}}
      livenessProbe: {{path: /ping}}
"""


def timed(cmd, env, runs):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.mean(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "modelspec"))
    ap.add_argument("--lib", default=os.path.join(ROOT, "target", "release", "libnvidia_ml.so"))
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    for path in (a.bin, a.lib):
        if not os.path.exists(path):
            print(f"endpoint_bench: {path} is missing; run `cargo build --release -p modelspec -p fake-nvml`",
                  file=sys.stderr)
            return 2
    server = fixture_server.serve(fixture_server.answers(FIXTURE))
    port = server.server_address[1]
    env = dict(os.environ, FAKE_NVML_PROFILE=os.path.join(ROOT, "fixtures", "gpus", "h100-sxm-x8.json"), NO_COLOR="1")
    env.pop("MODELSPEC_NVML_LIB", None)
    with tempfile.TemporaryDirectory() as tmp:
        full = os.path.join(tmp, "full.yaml")
        bare = os.path.join(tmp, "bare.yaml")
        with open(full, "w") as f:
            f.write(SPEC.format(serving=SERVING.format(port=port)))
        with open(bare, "w") as f:
            f.write(SPEC.format(serving=""))
        check = subprocess.run([a.bin, "scan", full, "--nvml-lib", a.lib, "--format", "json"], env=env,
                               capture_output=True, text=True)
        report = json.loads(check.stdout)
        passed = [f["code"] for f in report["specs"][0]["findings"] if f["status"] == "pass"]
        assert "model-id" in passed and "readiness-probe" in passed, passed
        rows = [
            ("full scan: 8 GPUs + host + vLLM endpoint", [a.bin, "scan", full, "--nvml-lib", a.lib, "--format", "json"]),
            ("baseline: same spec, no serving port", [a.bin, "scan", bare, "--nvml-lib", a.lib, "--format", "json"]),
            ("`modelspec --version`", [a.bin, "--version"]),
            ("`/bin/true`", ["/bin/true"]),
        ]
        print(f"### full scan of a loopback vLLM node: {a.runs} runs each, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs\n")
        print("| command | mean | p95 |\n|---|---:|---:|")
        results = []
        for name, cmd in rows:
            mean, p95 = timed(cmd, env, a.runs)
            results.append(mean)
            print(f"| {name} | {mean:.2f} ms | {p95:.2f} ms |")
        print(f"\nfull / baseline: {results[0] / results[1]:.2f}x; full / `/bin/true`: {results[0] / results[3]:.1f}x")
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
