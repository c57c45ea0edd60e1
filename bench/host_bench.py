#!/usr/bin/env python3
"""Benchmark: host and serving-process probing with 1,000 other processes on the machine.

Starts 1,000 `sleep` processes and one loopback listener, then times
`modelspec facts --json --port PORT` (GPU probe pointed at a missing library, so only the host
probe does real work) against `modelspec facts --json` without a port (no process discovery)
and `/bin/true`, --runs times each, in the same run. Target from issue 4: under 30 ms.
Everything it starts is killed at the end.

    cargo build --release && cargo build --release -p modelspec-probe-host --example probe_port
    python3 bench/host_bench.py [--runs 50] [--processes 1000]
"""

import argparse
import json
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
        # A minimal HTTP server: `facts --port` also asks the port's engine endpoints, and a
        # listener that never answers HTTP would hold every run to the --timeout deadline.
        listener = subprocess.Popen(
            [sys.executable, "-c",
             "import http.server as h\n"
             "class H(h.BaseHTTPRequestHandler):\n"
             "    protocol_version='HTTP/1.1'\n"
             "    def do_GET(self):\n"
             "        self.send_response(404); self.send_header('content-length','0'); self.end_headers()\n"
             "    def log_message(self,*a): pass\n"
             "h.ThreadingHTTPServer.request_queue_size=128\n"
             "s=h.ThreadingHTTPServer(('127.0.0.1',0),H)\n"
             "print(s.server_address[1],flush=True)\n"
             "s.serve_forever()\n"], stdout=subprocess.PIPE, text=True)
        port = listener.stdout.readline().strip()
        base = [a.bin, "facts", "--json", "--nvml-lib", "/nonexistent/libnvidia-ml.so.1"]
        example = os.path.join(ROOT, "target", "release", "examples", "probe_port")
        rows = [
            (f"host probe only: `probe_port --port` (among {a.processes + 1})", [example, "--port", port]),
            (f"`facts --port` (host + GPU + the port's HTTP endpoints, among {a.processes + 1})",
             base + ["--port", port]),
            ("`facts` (no process discovery)", base),
            ("`/bin/true`", ["/bin/true"]),
        ]
        print(f"### host probing: {a.runs} runs each, {a.processes} extra processes, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs\n")
        print("| command | mean | p95 |\n|---|---:|---:|")
        for name, cmd in rows:
            mean, p95 = timed(cmd, a.runs)
            print(f"| {name} | {mean:.2f} ms | {p95:.2f} ms |")
        # The host probe's own time, as it records it (the command above also asks HTTP).
        own = []
        for _ in range(a.runs):
            out = subprocess.run(base + ["--port", port], capture_output=True, text=True, check=False)
            own.append(json.loads(out.stdout)["host"]["provenance"]["duration_ms"])
        own.sort()
        print(f"| host probe alone, as recorded (`host.provenance.duration_ms`) | {statistics.mean(own):.2f} ms "
              f"| {own[min(len(own) - 1, int(len(own) * 0.95))]:.2f} ms |")
    finally:
        for p in crowd + ([listener] if listener else []):
            p.send_signal(signal.SIGKILL)
        for p in crowd + ([listener] if listener else []):
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
