#!/usr/bin/env python3
"""Regenerates the summary at the top of BENCHMARKS.md: every figure beside its baseline, measured
in the same run on the same machine, and compared with the last recorded run.

    cargo build --release -p modelspec -p fake-nvml
    cargo build --release -p modelspec-probe-metrics --example parse_file
    python3 bench/run.py            # about 4 minutes on 2 cores; rewrites BENCHMARKS.md
    python3 bench/run.py --dry-run  # prints the block instead

What it measures (each a whole process, as users run it):
  * validate: a folder of 1,000 generated specs, ours against the standard's Python validator;
  * metrics: a 10 MB vLLM-shaped /metrics page, our parser against Python prometheus_client and
    the prometheus-parse crate (on a colon-free copy: it drops names with `:`);
  * scan: a node with 8 GPUs (fake NVML, the H100 SXM x8 profile) and 4 specs, live against the
    replay of the same node's saved observation;
  * fleet: 2,000 node reports of those 4 specs (replayed scans under 2,000 node names), every
    one verified, against Python reading the same files as JSON and `verify` run per report;
  * peak RSS of each (from /usr/bin/time, so the Python parent's size does not leak in), and the
    release binary's size.
A figure more than 10% worse than the last recorded one is flagged in the table (wall-clock
figures only when the same-run baseline ran within 25% of its last time: same machine speed;
ratios, memory and size always). Timings from a busy machine are noise: the load average is recorded, and the script warns above 1.0.

Exit: 0 written, 2 something missing (binary, reference standard, Python packages).
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import fixture_server  # noqa: E402  (serves recorded vLLM answers on loopback)
import fleet_bench  # noqa: E402  (a fleet of node reports)
import metrics_bench  # noqa: E402  (the /metrics generator and the parse_file runner)
import validate_bench  # noqa: E402  (the spec corpus generator)

BIN = os.path.join(ROOT, "target", "release", "modelspec")
LIB = os.path.join(ROOT, "target", "release", "libnvidia_ml.so")
PARSE_FILE = os.path.join(ROOT, "target", "release", "examples", "parse_file")
BENCHMARKS = os.path.join(ROOT, "BENCHMARKS.md")
BEGIN, END = "<!-- bench/run.py: begin -->", "<!-- bench/run.py: end -->"
DATA = re.compile(r"<!-- bench/run.py data: (\{.*?\}) -->", re.S)
REGRESSION = 0.10

# Four services sharing an 8-GPU node, two GPUs each, on distinct ports.
SPEC = """apiVersion: piqc.ai/v1alpha1
kind: ModelSpec
metadata:
  name: {name}
spec:
  identity:
    model: {{id: {model}, family: llama, task: chat-completion, framework: vllm, precision: bf16}}
  runtime:
    accelerator: {{vendor: nvidia, type: h100, count: 2}}
    batch: {{maxBatchSize: 64, maxSequenceLengthTokens: 8192}}
  operations:
    serving: {{port: {port}}}
"""


def peak_rss_kib(cmd, env=None):
    """Peak RSS of `cmd`, from /usr/bin/time (GNU time's %M, KiB)."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=False)
    return int(p.stderr.strip().splitlines()[-1])


def times(cmd, runs, env=None, warmup=1, ok=(0, 1)):
    for _ in range(warmup):
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        out.append(time.perf_counter() - t)
        if p.returncode not in ok:
            raise RuntimeError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.decode(errors='replace')[:500]}")
    return out


def machine():
    load = os.getloadavg()[0]
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return {
        "cpu": metrics_bench.cpu_model(),
        "cpus": os.cpu_count(),
        "kernel": f"{platform.system()} {platform.release()}",
        "rustc": rustc,
        "python": platform.python_version(),
        "load": round(load, 2),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def bench_validate(tmp, files, runs):
    corpus = os.path.join(tmp, "specs")
    validate_bench.generate(corpus, files, validate_bench.DEFAULT_REFERENCE, 7)
    schema = os.path.join(validate_bench.DEFAULT_REFERENCE, "modelspec.v0.1.json")
    ours = [BIN, "validate", "--format", "json", corpus]
    base = [sys.executable, os.path.join(HERE, "baseline_validate.py"), "--schema", schema, corpus]
    ours_s = statistics.median(times(ours, runs))
    base_s = statistics.median(times(base, 3, warmup=0))
    return {
        "validate_files": files,
        "validate_ours_s": ours_s,
        "validate_python_s": base_s,
        "validate_ratio": base_s / ours_s,
        "validate_ours_rss_kib": peak_rss_kib(ours),
        "validate_python_rss_kib": peak_rss_kib(base),
    }


def bench_metrics(tmp, mb, runs):
    text, _ = metrics_bench.generate(int(mb * 1e6), 7)
    full = os.path.join(tmp, "vllm.prom")
    free = os.path.join(tmp, "vllm-colon-free.prom")
    with open(full, "w") as f:
        f.write(text)
    with open(free, "w") as f:
        f.write(metrics_bench.colon_free(text))
    ours = metrics_bench.run_example(PARSE_FILE, "full", full, runs)
    ours_free = metrics_bench.run_example(PARSE_FILE, "full", free, runs)
    crate = metrics_bench.run_example(PARSE_FILE, "prometheus-parse", free, max(1, runs // 2))
    py_seconds, _ = metrics_bench.python_parse(text, 1)
    return {
        "metrics_mb": round(len(text) / 1e6, 1),
        "metrics_ours_mb_s": ours["median_mb_per_s"],
        "metrics_python_ratio": statistics.median(py_seconds) / ours["median_s"],
        "metrics_crate_ratio": crate["median_s"] / ours_free["median_s"],
        "metrics_ours_rss_kib": metrics_bench.peak_rss(PARSE_FILE, "full", full),
        "metrics_read_rss_kib": metrics_bench.peak_rss(PARSE_FILE, "read", full),
    }


# What bench_scan leaves for bench_fleet: its four specs and the node's saved observation.
SCANNED = {}


def bench_scan(tmp, runs):
    env = dict(os.environ, FAKE_NVML_PROFILE=os.path.join(ROOT, "fixtures", "gpus", "h100-sxm-x8.json"),
               NO_COLOR="1")
    env.pop("MODELSPEC_NVML_LIB", None)
    # Four loopback "engines" answering as the recorded vLLM 0.32 does.
    answers = fixture_server.answers(os.path.join(ROOT, "fixtures", "engines", "vllm-0.32", "default", "endpoints"))
    servers = [fixture_server.serve(answers) for _ in range(4)]
    ports = [s.server_address[1] for s in servers]
    specs = []
    for i, model in enumerate(["meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-Instruct-v0.3",
                               "Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it"]):
        path = os.path.join(tmp, f"spec-{i}.yaml")
        with open(path, "w") as f:
            f.write(SPEC.format(name=f"service-{i}", model=model, port=ports[i]))
        specs.append(path)
    obs = os.path.join(tmp, "node.json")
    subprocess.run([BIN, "facts", "--nvml-lib", LIB, "-o", obs, *[x for p in ports for x in ("--port", str(p))]],
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    live = [BIN, "scan", *specs, "--nvml-lib", LIB, "--format", "json", "--timeout", "5s"]
    replay = [BIN, "scan", *specs, "--facts", obs, "--format", "json"]
    try:
        live_s = statistics.median(times(live, runs, env))
        replay_s = statistics.median(times(replay, runs, env))
        live_rss = peak_rss_kib(live, env)
    finally:
        for s in servers:
            s.shutdown()
    SCANNED.update(specs=specs, facts=obs, env=env)
    return {
        "scan_live_ms": live_s * 1000,
        "scan_replay_ms": replay_s * 1000,
        "scan_ratio": live_s / replay_s,
        "scan_live_rss_kib": live_rss,
        "scan_replay_rss_kib": peak_rss_kib(replay, env),
    }


def bench_fleet(tmp, nodes, runs):
    """`fleet` over NODES reports of 4 specs each (every report verified), against reading the
    same files as JSON in Python, and against `modelspec verify` run on each report in turn
    (what a reviewer could do before `fleet`)."""
    specs, facts, env = SCANNED["specs"], SCANNED["facts"], SCANNED["env"]
    out = os.path.join(tmp, "fleet")
    paths = fleet_bench.generate(BIN, out, nodes, facts, specs, env)
    size = sum(os.path.getsize(p) for p in paths)
    ours = [BIN, "fleet", out, "--format", "json", "--now", "2026-12-07T00:00:00Z"]
    reader = os.path.join(tmp, "read_all.py")
    with open(reader, "w") as f:
        f.write("import json, sys, os\n"
                "d = sys.argv[1]\n"
                "n = sum(1 for name in sorted(os.listdir(d)) if json.load(open(os.path.join(d, name))))\n")
    python = [sys.executable, reader, out]
    ours_s = statistics.median(times(ours, runs, env))
    python_s = statistics.median(times(python, 3, env, warmup=0))
    # The verify loop is slow (a process per report): a sample of 200, scaled.
    sample = paths[:200]
    t = time.perf_counter()
    for p in sample:
        subprocess.run([BIN, "verify", p], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    verify_s = (time.perf_counter() - t) * len(paths) / len(sample)
    return {
        "fleet_nodes": nodes,
        "fleet_mb": round(size / 1e6, 1),
        "fleet_ours_s": ours_s,
        "fleet_python_read_s": python_s,
        "fleet_python_ratio": python_s / ours_s,
        "fleet_verify_loop_s": verify_s,
        "fleet_verify_ratio": verify_s / ours_s,
        "fleet_ours_rss_kib": peak_rss_kib(ours, env),
        "fleet_python_rss_kib": peak_rss_kib(python, env),
    }


def binary_size(tmp):
    stripped = os.path.join(tmp, "modelspec.stripped")
    shutil.copy(BIN, stripped)
    subprocess.run(["strip", stripped], check=False)
    return {"binary_bytes": os.path.getsize(BIN), "binary_stripped_bytes": os.path.getsize(stripped)}


# Which way is better for each figure, for the regression check.
LOWER_IS_BETTER = {"validate_ours_s", "validate_ours_rss_kib", "metrics_ours_rss_kib", "scan_live_ms",
                   "scan_replay_ms", "scan_live_rss_kib", "scan_replay_rss_kib", "binary_bytes",
                   "binary_stripped_bytes", "scan_ratio", "fleet_ours_s", "fleet_ours_rss_kib"}
HIGHER_IS_BETTER = {"validate_ratio", "metrics_ours_mb_s", "metrics_python_ratio", "metrics_crate_ratio",
                    "fleet_python_ratio", "fleet_verify_ratio"}
# Wall-clock figures: compared with the last run only on a machine of the same speed, judged by
# the same-run Python validator (a VM moved to slower hardware slows everything alike; the
# ratios, which carry their own baseline, are compared whatever the machine).
ABSOLUTE_TIMES = {"validate_ours_s", "metrics_ours_mb_s", "scan_live_ms", "scan_replay_ms", "fleet_ours_s"}
SAME_MACHINE = 0.25


def machine_speed_change(now, before):
    """How much slower (positive) the same-run baseline ran than last time."""
    if not before.get("validate_python_s") or "validate_python_s" not in now:
        return 0.0
    return now["validate_python_s"] / before["validate_python_s"] - 1.0


def regressions(now, before):
    out = {}
    keys = LOWER_IS_BETTER | HIGHER_IS_BETTER
    if abs(machine_speed_change(now, before)) > SAME_MACHINE:
        keys -= ABSOLUTE_TIMES
    for key in keys:
        if key not in now or key not in before or not before[key]:
            continue
        change = (now[key] - before[key]) / before[key]
        worse = change > REGRESSION if key in LOWER_IS_BETTER else change < -REGRESSION
        if worse:
            out[key] = change
    return out


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def render(m, d, before, worse):
    def flag(key):
        if key in worse:
            return f" ⚠ {worse[key]:+.0%} vs last run"
        return ""

    lines = [
        BEGIN,
        "## Summary (regenerated by `python3 bench/run.py`)",
        "",
        f"Run of {m['date']} on {m['cpus']} CPUs ({m['cpu']}), {m['kernel']}, {m['rustc']}, release build,"
        f" Python {m['python']}; load average {m['load']} at the start. Each figure is beside its"
        " baseline from the same run; medians of whole processes.",
        "",
        "| what | ours | baseline (same run) | ratio | peak RSS ours / baseline |",
        "|---|---:|---:|---:|---:|",
        f"| validate {d['validate_files']:,} specs | {d['validate_ours_s'] * 1000:.0f} ms{flag('validate_ours_s')}"
        f" | Python reference validator {d['validate_python_s']:.2f} s | **{d['validate_ratio']:.1f}x** faster"
        f"{flag('validate_ratio')} | {mib(d['validate_ours_rss_kib'])}{flag('validate_ours_rss_kib')}"
        f" / {mib(d['validate_python_rss_kib'])} |",
        f"| parse a {d['metrics_mb']} MB vLLM /metrics page | {d['metrics_ours_mb_s']:.0f} MB/s"
        f"{flag('metrics_ours_mb_s')} | Python prometheus_client | **{d['metrics_python_ratio']:.1f}x** faster"
        f"{flag('metrics_python_ratio')} | {mib(d['metrics_ours_rss_kib'])}{flag('metrics_ours_rss_kib')}"
        f" (reading the file alone: {mib(d['metrics_read_rss_kib'])}) |",
        f"| the same, colon-free copy | | prometheus-parse crate | **{d['metrics_crate_ratio']:.1f}x** faster"
        f"{flag('metrics_crate_ratio')} | |",
        f"| scan 4 specs on an 8-GPU node, live (fake NVML, host probe, endpoints) |"
        f" {d['scan_live_ms']:.1f} ms{flag('scan_live_ms')} | replay of its saved observation"
        f" {d['scan_replay_ms']:.1f} ms{flag('scan_replay_ms')} | live costs {d['scan_ratio']:.1f}x |"
        f" {mib(d['scan_live_rss_kib'])}{flag('scan_live_rss_kib')} / {mib(d['scan_replay_rss_kib'])}"
        f"{flag('scan_replay_rss_kib')} |",
        f"| fleet of {d['fleet_nodes']:,} node reports, 4 specs each ({d['fleet_mb']} MB), every report verified |"
        f" {d['fleet_ours_s']:.2f} s{flag('fleet_ours_s')} | Python reading the same files as JSON"
        f" {d['fleet_python_read_s']:.2f} s; `verify` per report {d['fleet_verify_loop_s']:.1f} s |"
        f" **{d['fleet_python_ratio']:.1f}x** the Python read{flag('fleet_python_ratio')},"
        f" **{d['fleet_verify_ratio']:.0f}x** the verify loop |"
        f" {mib(d['fleet_ours_rss_kib'])}{flag('fleet_ours_rss_kib')} / {mib(d['fleet_python_rss_kib'])} |",
        f"| release binary | {d['binary_bytes'] / 1e6:.1f} MB{flag('binary_bytes')} | stripped"
        f" {d['binary_stripped_bytes'] / 1e6:.1f} MB{flag('binary_stripped_bytes')} | | |",
        "",
    ]
    speed = machine_speed_change(d, before or {})
    if before is not None and abs(speed) > SAME_MACHINE:
        lines.append(f"The same-run baseline (the Python validator) ran {speed:+.0%} against the last recorded"
                     " run: another machine speed, so wall-clock figures are not compared with it, only"
                     " ratios, memory and size.")
        lines.append("")
    if before is None:
        lines.append("No earlier run recorded: nothing to compare against.")
    elif worse:
        lines.append(f"⚠ {len(worse)} figure(s) more than {REGRESSION:.0%} worse than the last recorded run"
                     f" ({before.get('_date', '?')}): {', '.join(sorted(worse))}. Check the load average"
                     " before believing it.")
    else:
        lines.append(f"No figure is more than {REGRESSION:.0%} worse than the last recorded run"
                     f" ({before.get('_date', '?')}).")
    data = dict(d, _date=m["date"])
    lines += ["", f"<!-- bench/run.py data: {json.dumps(data, sort_keys=True)} -->", END, ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print the block, do not rewrite BENCHMARKS.md")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scan-runs", type=int, default=30)
    ap.add_argument("--nodes", type=int, default=2000, help="node reports in the fleet benchmark")
    a = ap.parse_args()
    for path, how in ((BIN, "cargo build --release -p modelspec -p fake-nvml"), (LIB, "cargo build --release -p fake-nvml"),
                      (PARSE_FILE, "cargo build --release -p modelspec-probe-metrics --example parse_file")):
        if not os.path.exists(path):
            print(f"bench/run.py: {path} is missing; run `{how}`", file=sys.stderr)
            return 2
    if not os.path.isdir(validate_bench.DEFAULT_REFERENCE):
        print(f"bench/run.py: the reference standard is missing at {validate_bench.DEFAULT_REFERENCE}", file=sys.stderr)
        return 2
    m = machine()
    if m["load"] > 1.0:
        print(f"bench/run.py: warning: load average {m['load']}; timings will be noisy", file=sys.stderr)
    with open(BENCHMARKS, encoding="utf-8") as f:
        page = f.read()
    found = DATA.search(page)
    before = json.loads(found.group(1)) if found else None
    d = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("bench/run.py: validate ...", file=sys.stderr)
        d.update(bench_validate(tmp, a.files, a.runs))
        print("bench/run.py: metrics ...", file=sys.stderr)
        d.update(bench_metrics(tmp, a.mb, a.runs))
        print("bench/run.py: scan ...", file=sys.stderr)
        d.update(bench_scan(tmp, a.scan_runs))
        print(f"bench/run.py: fleet of {a.nodes:,} nodes ...", file=sys.stderr)
        d.update(bench_fleet(tmp, a.nodes, a.runs))
        d.update(binary_size(tmp))
    block = render(m, d, before, regressions(d, before or {}))
    if a.dry_run:
        print(block)
        return 0
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        page = head + block + tail.lstrip("\n")
    else:
        # First run: after the page's introduction (its first paragraph break after the title).
        title_end = page.find("\n\n", page.find("\n\n") + 2)
        page = page[: title_end + 2] + block + "\n" + page[title_end + 2:]
    tmp_path = BENCHMARKS + ".tmp"
    with open(tmp_path, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp_path, BENCHMARKS)
    print(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
