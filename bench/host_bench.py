#!/usr/bin/env python3
"""Benchmark: host and serving-process probing with 1,000 other processes on the machine.

Starts 1,000 `sleep` processes and one loopback listener, then times
`modelspec facts --json --port PORT` (GPU probe pointed at a missing library, so only the host
probe does real work) against `modelspec facts --json` without a port (no process discovery)
and `/bin/true`, --runs times each, in the same run. Target from issue 4: under 30 ms.
Everything it starts is killed at the end.

    cargo build --release && python3 bench/host_bench.py [--runs 50] [--processes 1000]
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def timed(cmd, runs):
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.mean(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "modelspec"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--processes", type=int, default=1000)
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        print(f"host_bench: {a.bin} is missing; run `cargo build --release`", file=sys.stderr)
        return 2
    crowd = []
    listener = None
    try:
        for _ in range(a.processes):
            crowd.append(subprocess.Popen(["sleep", "120"]))
        listener = subprocess.Popen(
            [sys.executable, "-c", "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();"
             "print(s.getsockname()[1],flush=True);time.sleep(120)"], stdout=subprocess.PIPE, text=True)
        port = listener.stdout.readline().strip()
        base = [a.bin, "facts", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"]
        rows = [
            (f"`facts --port` (find the serving process among {a.processes + 1})", base + ["--port", port]),
            ("`facts` (no process discovery)", base),
            ("`/bin/true`", ["/bin/true"]),
        ]
        print(f"### host probing: {a.runs} runs each, {a.processes} extra processes, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs\n")
        print("| command | mean | p95 |\n|---|---:|---:|")
        for name, cmd in rows:
            mean, p95 = timed(cmd, a.runs)
            print(f"| {name} | {mean:.2f} ms | {p95:.2f} ms |")
    finally:
        for p in crowd + ([listener] if listener else []):
            p.send_signal(signal.SIGKILL)
        for p in crowd + ([listener] if listener else []):
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
