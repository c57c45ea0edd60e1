#!/usr/bin/env python3
"""Benchmark: the metrics exposition parser (probes/metrics) on a ~20 MB vLLM-shaped scrape.

Generates a deterministic Prometheus-text (0.0.4) exposition shaped like vLLM's `/metrics`
(prometheus_client output: `vllm:` names, `model_name`/`engine` labels for a base model and
many LoRA adapters, full histograms with vLLM's own bucket layouts, `_created` as separate
gauges, counters, gauges, info gauges with long comma-separated label values), then times in
the same run, on the same bytes:

  * ours, full parse        `parse_file full`   (every family and sample kept)
  * ours, visitor           `parse_file visit`  (per-family totals only; duplicate check on)
  * ours, visitor, no dups  `parse_file visit --no-duplicates` (constant parser memory)
  * Python prometheus_client.parser.text_string_to_metric_families, in this process
  * the prometheus-parse crate 0.2.5 on a colon-free copy (it drops names with a colon),
    next to ours on that same copy

and the peak RSS of ours, full vs visitor, each in its own process with one iteration, at the
full size and at a quarter of it, so that what grows with the input shows. `read` (the example
only reading the file) is the floor that the input's own buffer costs.

It is a benchmark, not a test: it never fails because of a timing.

Baseline version used for the published numbers: prometheus_client 0.26.0
(`python3 -m pip install 'prometheus_client==0.26.0'`).

    cargo build --release -p modelspec-probe-metrics --example parse_file
    python3 bench/metrics_bench.py [--mb 20] [--runs 5] [--python-runs 2] [--keep DIR]
"""

import argparse
import io
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_BIN = os.path.join(ROOT, "target", "release", "examples", "parse_file")

# vLLM's bucket layouts (vllm/v1/metrics/loggers.py).
REQUEST_LATENCY = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
                   240.0, 480.0, 960.0, 1920.0, 7680.0]
TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
        80.0, 160.0, 640.0, 2560.0]
TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
PREFILL_PER_TOKEN = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
ITERATION_TOKENS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
PARAMS_N = [1, 2, 5, 10, 20]


def one_two_five(max_value):
    """vLLM's build_1_2_5_buckets."""
    out, exponent = [], 0
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10 ** exponent
            if value > max_value:
                return out
            out.append(value)
        exponent += 1


TOKENS = one_two_five(32768)

HISTOGRAMS = [
    ("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", REQUEST_LATENCY),
    ("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", REQUEST_LATENCY),
    ("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", REQUEST_LATENCY),
    ("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", REQUEST_LATENCY),
    ("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", REQUEST_LATENCY),
    ("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TTFT),
    ("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", TPOT),
    ("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", TPOT),
    ("vllm:time_per_prefill_token_request_seconds", "Time spent per token during prefill phase in seconds",
     PREFILL_PER_TOKEN),
    ("vllm:request_prompt_tokens", "Number of prefill tokens processed.", TOKENS),
    ("vllm:request_generation_tokens", "Number of generation tokens processed.", TOKENS),
    ("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.", TOKENS),
    ("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", TOKENS),
    ("vllm:request_params_n", "Histogram of the n request parameter.", PARAMS_N),
    ("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", ITERATION_TOKENS),
]
COUNTERS = [
    ("vllm:num_preemptions", "Cumulative number of preemption from the engine."),
    ("vllm:prompt_tokens", "Number of prefill tokens processed."),
    ("vllm:generation_tokens", "Number of generation tokens processed."),
    ("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens."),
    ("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens."),
]
GAUGES = [
    ("vllm:num_requests_running", "Number of requests in model execution batches."),
    ("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
    ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
]
FINISH_REASONS = ["stop", "length", "abort"]


def go_float(value):
    """prometheus_client's floatToGoString, which is what vLLM's bytes look like."""
    if value == float("inf"):
        return "+Inf"
    if value == float("-inf"):
        return "-Inf"
    if value != value:
        return "NaN"
    text = repr(float(value))
    mantissa, _, exponent = text.partition("e")
    if exponent:
        digits = int(exponent)
        return f"{mantissa}e{'+' if digits >= 0 else '-'}{abs(digits):02d}"
    return text


def label_sets(n):
    """(model_name, engine) pairs: the base model on every engine, then LoRA adapters."""
    base = "meta-llama/Llama-3.1-8B-Instruct"
    for i in range(n):
        if i < 4:
            yield base, str(i)
        else:
            yield f"org-{i % 17}/lora-adapter-{i:05d}-sql-v{i % 3}", str(i % 4)


def labels(model, engine, extra=""):
    # prometheus_client's multiprocess collector writes labels sorted by name.
    parts = [f'engine="{engine}"']
    if extra:
        parts.append(extra)
    parts.append(f'model_name="{model}"')
    return "{" + ",".join(parts) + "}"


def generate(target_bytes, seed):
    """The exposition text for at least `target_bytes`, grown by adding label sets."""
    # Bytes per label set from two small renders, then all sets written family by family, as
    # vLLM does.
    small, large = len(render(random.Random(seed), 8)), len(render(random.Random(seed), 16))
    per_set = max(1, (large - small) // 8)
    count = max(1, (target_bytes - small) // per_set + 8)
    text = render(random.Random(seed), count)
    while len(text) < target_bytes:
        count = int(count * 1.05) + 1
        rng = random.Random(seed)
        text = render(rng, count)
    return text, count


def render(rng, count):
    sets = list(label_sets(count))
    out = io.StringIO()
    w = out.write
    created = 1764326400.0
    w("# HELP python_gc_objects_collected_total Objects collected during gc\n")
    w("# TYPE python_gc_objects_collected_total counter\n")
    for generation in range(3):
        w(f'python_gc_objects_collected_total{{generation="{generation}"}} {go_float(rng.randint(0, 90000) * 1.0)}\n')
    w("# HELP process_resident_memory_bytes Resident memory size in bytes.\n")
    w("# TYPE process_resident_memory_bytes gauge\n")
    w(f"process_resident_memory_bytes {go_float(3.2e9 + rng.random())}\n")
    adapters = ",".join(model for model, _ in sets[4:36])
    w("# HELP vllm:lora_requests_info Running stats on lora requests.\n")
    w("# TYPE vllm:lora_requests_info gauge\n")
    w(f'vllm:lora_requests_info{{max_lora="32",running_lora_adapters="{adapters}",waiting_lora_adapters=""}} '
      f"{go_float(created + 12.5)}\n")
    w("# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig\n")
    w("# TYPE vllm:cache_config_info gauge\n")
    for engine in range(4):
        w(f'vllm:cache_config_info{{block_size="16",cache_dtype="auto",calculate_kv_scales="False",'
          f'enable_prefix_caching="True",engine="{engine}",gpu_memory_utilization="0.9",num_cpu_blocks="None",'
          f'num_gpu_blocks="27545",prefix_caching_hash_algo="builtin",swap_space="4"}} 1.0\n')
    for name, doc in GAUGES:
        w(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
        for model, engine in sets:
            w(f"{name}{labels(model, engine)} {go_float(float(rng.randint(0, 64)))}\n")
    for name, doc in COUNTERS:
        w(f"# HELP {name}_total {doc}\n# TYPE {name}_total counter\n")
        for model, engine in sets:
            w(f"{name}_total{labels(model, engine)} {go_float(float(rng.randint(0, 10 ** 7)))}\n")
        w(f"# HELP {name}_created {doc}\n# TYPE {name}_created gauge\n")
        for model, engine in sets:
            w(f"{name}_created{labels(model, engine)} {go_float(created + rng.random() * 100)}\n")
    name = "vllm:request_success"
    w(f"# HELP {name}_total Count of successfully processed requests.\n# TYPE {name}_total counter\n")
    for model, engine in sets:
        for reason in FINISH_REASONS:
            reason_label = 'finished_reason="%s"' % reason
            w(f"{name}_total{labels(model, engine, reason_label)} {go_float(float(rng.randint(0, 10 ** 5)))}\n")
    for name, doc, bounds in HISTOGRAMS:
        w(f"# HELP {name} {doc}\n# TYPE {name} histogram\n")
        for model, engine in sets:
            total = rng.randint(0, 5000)
            cumulative = 0
            scale = bounds[-1]
            for bound in bounds:
                cumulative = min(total, cumulative + rng.randint(0, max(1, total // len(bounds) * 2)))
                le_label = 'le="%s"' % go_float(float(bound))
                w(f"{name}_bucket{labels(model, engine, le_label)} {go_float(float(cumulative))}\n")
            inf_label = 'le="+Inf"'
            w(f"{name}_bucket{labels(model, engine, inf_label)} {go_float(float(total))}\n")
            w(f"{name}_count{labels(model, engine)} {go_float(float(total))}\n")
            w(f"{name}_sum{labels(model, engine)} {go_float(total * rng.random() * scale / 50)}\n")
        w(f"# HELP {name}_created {doc}\n# TYPE {name}_created gauge\n")
        for model, engine in sets:
            w(f"{name}_created{labels(model, engine)} {go_float(created + rng.random() * 100)}\n")
    return out.getvalue()


NAME = re.compile(r"^(# (?:HELP|TYPE) )?([a-zA-Z_:][a-zA-Z0-9_:]*)", re.M)


def colon_free(text):
    """The same exposition with `:` in metric names replaced by `_` (label values untouched)."""
    return NAME.sub(lambda m: (m.group(1) or "") + m.group(2).replace(":", "_"), text)


def run_example(binary, mode, path, iterations, extra=()):
    """Runs the example in its own process; returns the JSON it prints."""
    cmd = [binary, mode, path, "--iterations", str(iterations), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def peak_rss(binary, mode, path, extra=()):
    """Peak RSS (KiB) of one process that parses the file once: the example's own `VmHWM`.

    Not `ru_maxrss` from wait4: Linux carries the pre-exec peak across exec, so a child forked
    from this Python process would report at least this process's size."""
    return run_example(binary, mode, path, 1, extra)["peak_rss_kib"]


def python_parse(text, runs):
    from prometheus_client.parser import text_string_to_metric_families

    seconds, samples = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        samples = 0
        for family in text_string_to_metric_families(text):
            samples += len(family.samples)
        seconds.append(time.perf_counter() - started)
    return seconds, samples


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def rustc_version():
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return "rustc ?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.environ.get("PARSE_FILE_BIN") or DEFAULT_BIN)
    ap.add_argument("--mb", type=float, default=20.0, help="exposition size in MB (default 20)")
    ap.add_argument("--runs", type=int, default=7, help="iterations of each Rust mode (default 7)")
    ap.add_argument("--python-runs", type=int, default=2, help="runs of the Python parser (default 2; 0 skips)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="write the expositions into this directory and keep them")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        print(f"metrics_bench: {a.bin} is missing; run "
              "`cargo build --release -p modelspec-probe-metrics --example parse_file`", file=sys.stderr)
        return 2
    try:
        import prometheus_client
        from importlib.metadata import version
        client_version = version("prometheus_client")
    except ImportError:
        print("metrics_bench: prometheus_client is not importable "
              "(python3 -m pip install 'prometheus_client==0.26.0')", file=sys.stderr)
        return 77
    del prometheus_client

    text, sets = generate(int(a.mb * 1e6), a.seed)
    quarter, quarter_sets = generate(int(a.mb * 1e6 / 4), a.seed)
    free = colon_free(text)
    workdir = a.keep or tempfile.mkdtemp(prefix="metrics-bench-")
    os.makedirs(workdir, exist_ok=True)
    paths = {}
    for key, body in (("full", text), ("quarter", quarter), ("colon_free", free)):
        paths[key] = os.path.join(workdir, f"vllm-{key}.prom")
        with open(paths[key], "w") as f:
            f.write(body)
    lines = text.count("\n")
    mb = len(text) / 1e6

    try:
        rows = []
        ours_full = run_example(a.bin, "full", paths["full"], a.runs)
        ours_visit = run_example(a.bin, "visit", paths["full"], a.runs)
        ours_nodup = run_example(a.bin, "visit", paths["full"], a.runs, ["--no-duplicates"])
        ours_free = run_example(a.bin, "full", paths["colon_free"], a.runs)
        crate = run_example(a.bin, "prometheus-parse", paths["colon_free"], max(1, a.runs // 2))
        if ours_full["errors"] or ours_visit["errors"]:
            print(f"warning: ours reported errors on the generated exposition: {ours_full['errors']}", file=sys.stderr)
        py_seconds, py_samples = python_parse(text, a.python_runs) if a.python_runs else ([], 0)

        def mbps(seconds, size=len(text)):
            return size / 1e6 / seconds

        base_median = ours_full["median_s"]
        print(f"### metrics parser: {mb:.1f} MB, {lines:,} lines, {ours_full['samples']:,} samples, "
              f"{sets} label sets; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{os.cpu_count()} vCPUs ({cpu_model()}), {rustc_version()}, "
              f"Python {platform.python_version()} with prometheus_client {client_version}\n")
        print("| parser | input | runs | best | median | MB/s (median) | time / ours full (median) |")
        print("|---|---|---:|---:|---:|---:|---:|")

        def row(name, data, input_name, reference):
            ratio = data["median_s"] / reference
            print(f"| {name} | {input_name} | {data['iterations']} | {data['best_s'] * 1000:.1f} ms | "
                  f"{data['median_s'] * 1000:.1f} ms | {data['median_mb_per_s']:.0f} | {ratio:.2f}x |")

        row("ours, full parse", ours_full, "vLLM", base_median)
        row("ours, visitor (aggregates)", ours_visit, "vLLM", base_median)
        row("ours, visitor, duplicate check off", ours_nodup, "vLLM", base_median)
        if py_seconds:
            median = statistics.median(py_seconds)
            print(f"| Python prometheus_client {client_version} | vLLM | {len(py_seconds)} | "
                  f"{min(py_seconds) * 1000:.0f} ms | {median * 1000:.0f} ms | {mbps(median):.1f} | "
                  f"**{median / base_median:.1f}x** |")
        row("ours, full parse", ours_free, "colon-free copy", ours_free["median_s"])
        crate_ratio = crate["median_s"] / ours_free["median_s"]
        print(f"| prometheus-parse 0.2.5 | colon-free copy | {crate['iterations']} | {crate['best_s'] * 1000:.1f} ms | "
              f"{crate['median_s'] * 1000:.1f} ms | {crate['median_mb_per_s']:.0f} | **{crate_ratio:.1f}x** |")
        print()
        print(f"Samples seen: ours {ours_full['samples']:,} (visitor {ours_visit['samples']:,}), "
              f"Python {py_samples:,}, prometheus-parse {crate['samples']:,} (colon-free copy; ours there: "
              f"{ours_free['samples']:,}).")
        print()

        print("Peak RSS, one process parsing the file once (`read` = the example only reading it):\n")
        print("| mode | " + f"{len(quarter) / 1e6:.1f} MB ({quarter_sets} label sets) | "
              f"{mb:.1f} MB ({sets} label sets) | growth |")
        print("|---|---:|---:|---:|")
        for name, mode, extra in (
            ("read (floor)", "read", ()),
            ("ours, full parse", "full", ()),
            ("ours, visitor", "visit", ()),
            ("ours, visitor, duplicate check off", "visit", ("--no-duplicates",)),
        ):
            small = peak_rss(a.bin, mode, paths["quarter"], extra)
            big = peak_rss(a.bin, mode, paths["full"], extra)
            print(f"| {name} | {small / 1024:.1f} MiB | {big / 1024:.1f} MiB | {(big - small) / 1024:+.1f} MiB |")
    finally:
        if not a.keep:
            for path in paths.values():
                os.unlink(path)
            os.rmdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
